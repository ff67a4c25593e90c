using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace RegistryPolicy.Kubernetes.Controller;

/// <summary>
/// How to reach an API server: a kubeconfig file (a context of it), the in-cluster ServiceAccount, or a server address
/// with a handler of your own (tests, proxies). Supports bearer tokens (inline or from a file, re-read so that projected
/// tokens can rotate), client certificates, basic auth, a CA bundle or <c>insecure-skip-tls-verify</c>. Exec and
/// auth-provider plugins are refused with a message that says so (they run programs the kubeconfig names).
/// The kubeconfig is read with YamlDotNet's representation model, not reflection, so hosts stay trimming-safe.
/// Immutable and thread-safe; <see cref="CreateHttpClient"/> gives a new client each call.
/// </summary>
public sealed class KubernetesConnection
{
    private const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";
    private readonly Func<HttpMessageHandler> _handler;
    private readonly string? _token;
    private readonly string? _tokenFile;
    private readonly string? _basic;

    private KubernetesConnection(Uri server, Func<HttpMessageHandler> handler, string? token, string? tokenFile, string? basic, string description, string? @namespace)
    {
        Server = server;
        _handler = handler;
        _token = token;
        _tokenFile = tokenFile;
        _basic = basic;
        Description = description;
        Namespace = @namespace;
    }

    /// <summary>The API server's address.</summary>
    public Uri Server { get; }

    /// <summary>Where the connection came from, for messages: the file and context, or "in-cluster". Never a credential.</summary>
    public string Description { get; }

    /// <summary>The context's (or the ServiceAccount's) namespace, when it names one.</summary>
    public string? Namespace { get; }

    /// <summary>A connection to a server through a handler you supply (for tests and proxies); no credentials are added.</summary>
    /// <param name="server">The server, for example <c>http://127.0.0.1:8080</c>.</param>
    /// <param name="handler">Makes the handler for each client; <see langword="null"/> for a default <see cref="SocketsHttpHandler"/>.</param>
    /// <param name="bearerToken">A bearer token to send, or <see langword="null"/>.</param>
    /// <returns>The connection.</returns>
    public static KubernetesConnection ForServer(Uri server, Func<HttpMessageHandler>? handler = null, string? bearerToken = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        return new KubernetesConnection(server, handler ?? (() => new SocketsHttpHandler()), bearerToken, null, null, Display(server), null);
    }

    /// <summary>The in-cluster configuration: <c>KUBERNETES_SERVICE_HOST</c>/<c>_PORT</c> and the mounted ServiceAccount token and CA.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="error">Why there is none (not running in a pod).</param>
    /// <returns>Whether it was found.</returns>
    public static bool TryInCluster(out KubernetesConnection? connection, out string? error)
    {
        connection = null;
        string? host = Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST");
        string? port = Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_PORT");
        string tokenFile = Path.Combine(ServiceAccountDirectory, "token");
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port) || !File.Exists(tokenFile))
        {
            error = "not running in a cluster (KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT or the ServiceAccount token is missing): pass --kubeconfig";
            return false;
        }

        string caFile = Path.Combine(ServiceAccountDirectory, "ca.crt");
        X509Certificate2Collection? ca = File.Exists(caFile) ? Certificates(File.ReadAllText(caFile)) : null;
        string? ns = File.Exists(Path.Combine(ServiceAccountDirectory, "namespace")) ? File.ReadAllText(Path.Combine(ServiceAccountDirectory, "namespace")).Trim() : null;
        string authority = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
        connection = new KubernetesConnection(new Uri("https://" + authority), () => Handler(ca, false, null), null, tokenFile, null, "in-cluster", ns);
        error = null;
        return true;
    }

    /// <summary>Reads a kubeconfig file (one file; <c>KUBECONFIG</c> lists are not merged).</summary>
    /// <param name="path">The file.</param>
    /// <param name="context">The context, or <see langword="null"/> for <c>current-context</c>.</param>
    /// <param name="connection">The connection.</param>
    /// <param name="error">What is wrong, naming the file and the entry; never a credential.</param>
    /// <returns>Whether the file gave a usable connection.</returns>
    public static bool TryFromKubeconfig(string path, string? context, out KubernetesConnection? connection, out string? error)
    {
        ArgumentNullException.ThrowIfNull(path);
        connection = null;
        try
        {
            string text = ReadBounded(path);
            return TryFromKubeconfigText(text, path, context, out connection, out error);
        }
        catch (IOException e)
        {
            error = $"{path}: cannot read the kubeconfig: {e.Message}";
        }
        catch (UnauthorizedAccessException e)
        {
            error = $"{path}: cannot read the kubeconfig: {e.Message}";
        }

        return false;
    }

    /// <summary>As <see cref="TryFromKubeconfig"/>, from the file's text (relative file names are taken from <paramref name="path"/>'s folder). Never throws for bad content.</summary>
    internal static bool TryFromKubeconfigText(string text, string path, string? context, out KubernetesConnection? connection, out string? error)
    {
        connection = null;
        if (Shape(text) is { } refusal)
        {
            // Checked before YamlDotNet sees it: its parser recurses per level, so a deep document could overflow the stack.
            error = $"{path}: {refusal}";
            return false;
        }

        try
        {
            return TryParse(text, path, context, out connection, out error);
        }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or InvalidOperationException)
        {
            // YamlDotNet reports some malformed documents with InvalidOperationException rather than YamlException.
            error = $"{path}: not valid YAML";
        }
        catch (FormatException)
        {
            error = $"{path}: a *-data field of the kubeconfig is not base64";
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            error = $"{path}: a certificate or key of the kubeconfig cannot be read (PEM expected)";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = $"{path}: a file the kubeconfig names cannot be read ({e.GetType().Name})";
        }

        connection = null;
        return false;
    }

    /// <summary>Why a text is too large or too deep to be a kubeconfig, or <see langword="null"/>. Linear, and conservative (brackets in strings count).</summary>
    private static string? Shape(string text)
    {
        const int MaxLength = 4 * 1024 * 1024, MaxDepth = 64, MaxIndent = 256;
        if (text.Length > MaxLength)
        {
            return $"a kubeconfig of {text.Length} characters is over the limit of {MaxLength}";
        }

        int depth = 0, indent = 0;
        bool lineStart = true;
        foreach (char c in text)
        {
            if (c == '\n')
            {
                lineStart = true;
                indent = 0;
                continue;
            }

            // Leading spaces, and block entries ('- ', '? ') that open a level on the same line, both nest.
            if (lineStart && c is ' ' or '-' or '?')
            {
                if (++indent > MaxIndent)
                {
                    return $"a line is indented (or nests block entries) more than {MaxIndent} deep, far deeper than a kubeconfig goes";
                }

                continue;
            }

            lineStart = false;
            depth += c is '[' or '{' ? 1 : c is ']' or '}' ? -1 : 0;
            if (depth > MaxDepth)
            {
                return $"brackets nest deeper than {MaxDepth}, far deeper than a kubeconfig goes";
            }
        }

        return null;
    }

    private static bool TryParse(string text, string path, string? context, out KubernetesConnection? connection, out string? error)
    {
        connection = null;
        YamlMappingNode root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode mapping)
            {
                error = $"{path}: not a kubeconfig (expected a mapping with clusters, users and contexts)";
                return false;
            }

            root = mapping;
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            error = $"{path}:{e.Start.Line}:{e.Start.Column}: not valid YAML";
            return false;
        }

        string? contextName = context ?? Scalar(root, "current-context");
        if (string.IsNullOrEmpty(contextName))
        {
            error = $"{path}: no current-context; pass --context NAME";
            return false;
        }

        if (Named(root, "contexts", contextName, "context") is not { } ctx)
        {
            error = $"{path}: no context '{contextName}' (contexts: {string.Join(", ", Names(root, "contexts"))})";
            return false;
        }

        string? clusterName = Scalar(ctx, "cluster");
        string? userName = Scalar(ctx, "user");
        if (clusterName is null || Named(root, "clusters", clusterName, "cluster") is not { } cluster)
        {
            error = $"{path}: context '{contextName}' names cluster '{clusterName}', which the file does not define";
            return false;
        }

        if (Scalar(cluster, "server") is not { } serverText || !Uri.TryCreate(serverText, UriKind.Absolute, out Uri? server) || server.Scheme is not ("https" or "http"))
        {
            error = $"{path}: cluster '{clusterName}' has no server address (https://host:port)";
            return false;
        }

        if (server.UserInfo.Length > 0)
        {
            error = $"{path}: cluster '{clusterName}' has a user name or password in its server address; put credentials in the user entry";
            return false;
        }

        string directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        string Resolve(string file) => Path.IsPathRooted(file) ? file : Path.Combine(directory, file);
        X509Certificate2Collection? ca = null;
        if (Scalar(cluster, "certificate-authority-data") is { } caData)
        {
            ca = Certificates(Encoding.UTF8.GetString(Convert.FromBase64String(caData)));
        }
        else if (Scalar(cluster, "certificate-authority") is { } caFile)
        {
            ca = Certificates(ReadBounded(Resolve(caFile)));
        }

        bool insecure = Scalar(cluster, "insecure-skip-tls-verify") == "true";
        if (insecure && ca is not null)
        {
            // As kubectl: both at once is a mistake, not a choice.
            error = $"{path}: cluster '{clusterName}' gives a certificate authority and insecure-skip-tls-verify; specifying a root certificate with the insecure flag is not allowed";
            return false;
        }

        if (ca is { Count: 0 })
        {
            error = $"{path}: cluster '{clusterName}': the certificate authority holds no PEM certificate";
            return false;
        }
        YamlMappingNode? user = userName is null ? null : Named(root, "users", userName, "user");
        if (userName is not null && user is null)
        {
            error = $"{path}: context '{contextName}' names user '{userName}', which the file does not define";
            return false;
        }

        string? token = null, tokenFile = null, basic = null;
        X509Certificate2? clientCertificate = null;
        if (user is not null)
        {
            if (user.Children.ContainsKey("exec") || user.Children.ContainsKey("auth-provider"))
            {
                error = $"{path}: user '{userName}' authenticates with an exec or auth-provider plugin, which registry-policy does not run; " +
                    "use a ServiceAccount token (kubectl create token NAME) in a kubeconfig of its own, or run the controller in the cluster";
                return false;
            }

            token = Scalar(user, "token");
            tokenFile = Scalar(user, "tokenFile") is { } tf ? Resolve(tf) : null;
            if (Scalar(user, "username") is { } username && Scalar(user, "password") is { } password)
            {
                basic = Convert.ToBase64String(Encoding.UTF8.GetBytes(username + ":" + password));
            }

            string? certPem = Scalar(user, "client-certificate-data") is { } cd ? Encoding.UTF8.GetString(Convert.FromBase64String(cd))
                : Scalar(user, "client-certificate") is { } cf ? ReadBounded(Resolve(cf)) : null;
            string? keyPem = Scalar(user, "client-key-data") is { } kd ? Encoding.UTF8.GetString(Convert.FromBase64String(kd))
                : Scalar(user, "client-key") is { } kf ? ReadBounded(Resolve(kf)) : null;
            if (certPem is not null && keyPem is not null)
            {
                clientCertificate = X509Certificate2.CreateFromPem(certPem, keyPem);
            }
        }

        string? ns = Scalar(ctx, "namespace");
        connection = new KubernetesConnection(server, () => Handler(ca, insecure, clientCertificate), token, tokenFile, basic, $"{path} (context {contextName})", ns);
        error = null;
        return true;
    }

    /// <summary>A new client for this connection; its requests carry the credentials. Dispose it when done.</summary>
    /// <returns>The client (no overall timeout: watches are long; each call is bounded by its own cancellation).</returns>
    public HttpClient CreateHttpClient() => new(_handler(), disposeHandler: true)
    {
        Timeout = Timeout.InfiniteTimeSpan,
        // A list page or an object is far smaller; a hostile or broken server cannot make the process buffer gigabytes.
        MaxResponseContentBufferSize = 256 * 1024 * 1024,
    };

    internal KubeApi CreateApi(HttpClient client) => new(client, Server, Authorize);

    internal async ValueTask Authorize(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (_tokenFile is not null)
        {
            // Projected ServiceAccount tokens rotate: read the file on every request (it is small, and the OS caches it).
            string token = ReadBounded(_tokenFile).Trim();
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else if (_token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        }
        else if (_basic is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", _basic);
        }
    }

    /// <summary>Formats as where the connection points; never a credential.</summary>
    /// <returns>The server and where it came from.</returns>
    public override string ToString() => $"{Display(Server)} ({Description})";

    /// <summary>Scheme, host and port only: never a user name or password written into an address.</summary>
    internal static string Display(Uri server) => $"{server.Scheme}://{server.IdnHost}{(server.IsDefaultPort ? "" : ":" + server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture))}";

    private static SocketsHttpHandler Handler(X509Certificate2Collection? ca, bool insecure, X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), ConnectTimeout = TimeSpan.FromSeconds(10) };
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }

        if (insecure)
        {
            // The kubeconfig says insecure-skip-tls-verify: true, as kubectl honours it.
#pragma warning disable CA5359
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (ca is { Count: > 0 })
        {
            // As kubectl: with a certificate authority given, only it is trusted (not the system's roots), the server's
            // intermediates help build the chain, and a name mismatch is never cured.
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, presented, errors) =>
            {
                if (certificate is null || (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) != 0 ||
                    (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                if (presented is not null)
                {
                    foreach (X509ChainElement element in presented.ChainElements)
                    {
                        chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                    }
                }

                using var leaf = new X509Certificate2(certificate);
                return chain.Build(leaf);
            };
        }

        return handler;
    }

    /// <summary>Reads a file the configuration names, at most 4 MiB (so /dev/zero, say, is refused after a bounded read).</summary>
    private static string ReadBounded(string file)
    {
        const int Limit = 4 * 1024 * 1024;
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 4096, FileOptions.None);
        byte[] buffer = new byte[Limit + 1];
        int length = 0, read;
        while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0)
        {
            length += read;
        }

        return length > Limit
            ? throw new IOException($"{Path.GetFileName(file)} is larger than {Limit} bytes")
            : new System.Text.UTF8Encoding(false, false).GetString(buffer, 0, length);
    }

    private static X509Certificate2Collection Certificates(string pem)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPem(pem);
        return collection;
    }

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out YamlNode? value) && value is YamlScalarNode { Value: { } text } ? text : null;

    private static YamlMappingNode? Named(YamlMappingNode root, string list, string name, string field)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode(list), out YamlNode? items) || items is not YamlSequenceNode sequence)
        {
            return null;
        }

        foreach (YamlNode item in sequence)
        {
            if (item is YamlMappingNode entry && Scalar(entry, "name") == name)
            {
                return entry.Children.TryGetValue(new YamlScalarNode(field), out YamlNode? inner) && inner is YamlMappingNode body ? body : new YamlMappingNode();
            }
        }

        return null;
    }

    private static IEnumerable<string> Names(YamlMappingNode root, string list) =>
        root.Children.TryGetValue(new YamlScalarNode(list), out YamlNode? items) && items is YamlSequenceNode sequence
            ? sequence.OfType<YamlMappingNode>().Select(e => Scalar(e, "name")).OfType<string>()
            : [];
}
