using System.Text;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.References;

namespace RegistryPolicy.Credentials;

/// <summary>
/// The kubelet's keyring for a pod's pull secrets (<c>BasicDockerKeyring</c>): which credentials it tries for an image, and in
/// which order. Built once from pull secrets in order; immutable and thread-safe; <see cref="Lookup(ImageReference)"/>
/// allocates only its result.
/// </summary>
/// <remarks>
/// Rules, from the kubelet: a config key gets <c>https://</c> unless it has a scheme, is parsed as a URL (keys that fail are
/// skipped), and loses a leading <c>/v1/</c> or <c>/v2/</c>; the index is those keys in descending byte order; a key matches
/// when ports are equal as strings, hosts have as many labels, each label glob-matches (<c>*</c> within a label), and the key's
/// path is a raw prefix of the image's path. Every matching key contributes its credentials; only when none matches, a Docker
/// Hub image uses the credentials stored under <c>index.docker.io</c>. Where the kubelet's order is unspecified (several keys
/// of one secret with the same index key), document order is used.
/// </remarks>
public sealed class CredentialKeyring
{
    private const string DefaultRegistryHost = "index.docker.io";

    private readonly IndexEntry[] _index;
    private readonly KeyringMatch[] _fallback;

    private CredentialKeyring(IndexEntry[] index, KeyringMatch[] fallback, IReadOnlyList<Diagnostic> diagnostics)
    {
        _index = index;
        _fallback = fallback;
        Diagnostics = diagnostics;
    }

    /// <summary>An empty keyring (anonymous pulls only).</summary>
    public static CredentialKeyring Empty { get; } = new([], [], []);

    /// <summary>The index keys, in the order they are tried.</summary>
    public IReadOnlyList<string> Keys => _index.Select(e => e.Key).ToArray();

    /// <summary>What was found while building: unreadable secrets, skipped keys, keys that can never match.</summary>
    public IReadOnlyList<Diagnostic> Diagnostics { get; }

    /// <summary>Whether a pull secret could not be read; the kubelet then fails every pull of the pod.</summary>
    public bool HasErrors => Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);

    /// <summary>Builds the keyring from pull secrets, in the order the pod lists them.</summary>
    /// <param name="secrets">The pull secrets, in order.</param>
    /// <returns>The keyring.</returns>
    public static CredentialKeyring Create(IEnumerable<PullSecret> secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        var configs = new List<(DockerConfig, ObjectReference?)>();
        var diagnostics = new List<Diagnostic>();
        foreach (PullSecret secret in secrets)
        {
            DockerConfigReadResult read = secret.ReadDockerConfig();
            diagnostics.AddRange(read.Diagnostics);
            configs.Add((read.Config, secret.Reference));
        }

        return Build(configs, diagnostics);
    }

    /// <summary>Builds the keyring from configs already decoded, each with the Secret it came from, in order.</summary>
    internal static CredentialKeyring Create(List<(DockerConfig Config, ObjectReference? Source)> configs) => Build(configs, []);

    /// <summary>Builds the keyring from decoded configs (for example <c>.dockerconfigjson</c> files), in order.</summary>
    /// <param name="configs">The configs, in order.</param>
    /// <returns>The keyring.</returns>
    public static CredentialKeyring Create(IEnumerable<DockerConfig> configs)
    {
        ArgumentNullException.ThrowIfNull(configs);
        return Build(configs.Select(c => (c, (ObjectReference?)null)).ToList(), []);
    }

    private static CredentialKeyring Build(List<(DockerConfig Config, ObjectReference? Source)> configs, List<Diagnostic> diagnostics)
    {
        var byKey = new Dictionary<string, List<KeyringMatch>>(StringComparer.Ordinal);
        foreach ((DockerConfig config, ObjectReference? source) in configs)
        {
            foreach (DockerConfigEntry entry in config.Entries)
            {
                string value = entry.Server.StartsWith("https://", StringComparison.Ordinal) || entry.Server.StartsWith("http://", StringComparison.Ordinal)
                    ? entry.Server
                    : "https://" + entry.Server;
                if (!GoUrl.TryParse(value, out string host, out string path))
                {
                    diagnostics.Add(new Diagnostic("key-unparsable", DiagnosticSeverity.Warning,
                        "the registry key is not a valid URL, so the kubelet skips it (logging only). Use host[:port][/path].")
                    { Subject = source, Field = $"auths[{DisplayText.Escape(ConfigKeys.Redact(entry.Server))}]" });
                    continue;
                }

                if (path.StartsWith("/v2/", StringComparison.Ordinal) || path.StartsWith("/v1/", StringComparison.Ordinal))
                {
                    path = path[3..];
                }

                string key = path.Length > 0 && path != "/" ? host + path : host;
                if (!byKey.TryGetValue(key, out List<KeyringMatch>? list))
                {
                    byKey[key] = list = [];
                }

                list.Add(new KeyringMatch(key, entry.Server, entry.Credential, source, ViaDockerHubFallback: false));
                Lint(entry.Server, key, source, diagnostics);
            }
        }

        IndexEntry[] index = byKey
            .Select(kv => IndexEntry.Create(kv.Key, kv.Value.ToArray()))
            .OrderByDescending(e => e.Utf8, ByteOrder.Instance)
            .ToArray();
        KeyringMatch[] fallback = byKey.TryGetValue(DefaultRegistryHost, out List<KeyringMatch>? hub)
            ? hub.Select(m => m with { ViaDockerHubFallback = true }).ToArray()
            : [];
        return new CredentialKeyring(index, fallback, diagnostics);
    }

    private static void Lint(string server, string key, ObjectReference? source, List<Diagnostic> diagnostics)
    {
        string? problem = null;
        int slash = key.IndexOf('/', StringComparison.Ordinal);
        string host = slash < 0 ? key : key[..slash];
        if (host.StartsWith("*.docker.io", StringComparison.Ordinal))
        {
            problem = "'*.docker.io' never matches Docker Hub images, which the kubelet looks up as docker.io/... (3 labels against 2). Use 'docker.io' or 'https://index.docker.io/v1/'.";
        }
        else if (slash >= 0 && key.AsSpan(slash).IndexOf(':') >= 0)
        {
            problem = "the key has a tag or ':' in its path, but lookups never carry a tag, so it can never match. Drop the tag.";
        }

        if (problem is not null)
        {
            diagnostics.Add(new Diagnostic("key-never-matches", DiagnosticSeverity.Warning, problem) { Subject = source, Field = $"auths[{DisplayText.Escape(ConfigKeys.Redact(server))}]" });
        }
    }

    /// <summary>
    /// The credentials the kubelet would try for <paramref name="image"/>, in order. The image is normalised first
    /// (<c>nginx</c> is looked up as <c>docker.io/library/nginx</c>, without tag or digest); an image that does not parse is
    /// not looked up (the kubelet fails the pull).
    /// </summary>
    /// <param name="image">The image as written in a pod spec.</param>
    /// <returns>The matches, or an error.</returns>
    public KeyringLookup Lookup(string image)
    {
        if (!ImageReference.TryParseNormalized(image, out ImageReference reference, out ReferenceError error))
        {
            return new KeyringLookup(default, image ?? string.Empty, [], error.ToString());
        }

        return Lookup(reference);
    }

    /// <summary>The credentials the kubelet would try for a parsed image (its name, without tag or digest, is looked up).</summary>
    /// <param name="image">A normalised reference.</param>
    /// <returns>The matches.</returns>
    public KeyringLookup Lookup(ImageReference image)
    {
        return new KeyringLookup(image, null, Match(image.NameSpan), null);
    }

    /// <summary>
    /// Looks up <paramref name="target"/> exactly as given, as the kubelet's unit tests call the keyring: no normalisation
    /// (so <c>nginx</c> stays <c>nginx</c>).
    /// </summary>
    /// <param name="target">The string to match.</param>
    /// <returns>The matches.</returns>
    public KeyringLookup LookupRaw(string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!GoUrl.TryParse("https://" + target, out string host, out string path))
        {
            return new KeyringLookup(default, target, FallbackFor(target), null);
        }

        return new KeyringLookup(default, target, MatchParsed(host, path, target), null);
    }

    private KeyringMatch[] Match(ReadOnlySpan<char> name)
    {
        // A normalised name is host[/path] with no '%', '?', '#' or '@', so URL parsing is a split at the first '/'.
        int slash = name.IndexOf('/');
        ReadOnlySpan<char> host = slash < 0 ? name : name[..slash];
        ReadOnlySpan<char> path = slash < 0 ? default : name[slash..];
        return MatchParsed(host, path, name);
    }

    private KeyringMatch[] MatchParsed(ReadOnlySpan<char> host, ReadOnlySpan<char> path, ReadOnlySpan<char> original)
    {
        GoUrl.SplitHostPort(host, out Range hostRange, out Range portRange);
        ReadOnlySpan<char> hostName = host[hostRange];
        ReadOnlySpan<char> port = host[portRange];
        int labels = hostName.Count('.') + 1;

        // Remember which entries match, then allocate the result once (the only allocation of a lookup).
        int[]? rented = _index.Length > 256 ? System.Buffers.ArrayPool<int>.Shared.Rent(_index.Length) : null;
        Span<int> matched = rented ?? stackalloc int[_index.Length];
        int count = 0, total = 0;
        for (int i = 0; i < _index.Length; i++)
        {
            if (_index[i].Matches(hostName, labels, port, path))
            {
                matched[count++] = i;
                total += _index[i].Credentials.Length;
            }
        }

        try
        {
            if (count == 1)
            {
                return _index[matched[0]].Credentials;
            }

            if (count > 1)
            {
                var result = new KeyringMatch[total];
                int at = 0;
                foreach (int i in matched[..count])
                {
                    _index[i].Credentials.CopyTo(result, at);
                    at += _index[i].Credentials.Length;
                }

                return result;
            }
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<int>.Shared.Return(rented);
            }
        }

        return FallbackFor(original);
    }

    private KeyringMatch[] FallbackFor(ReadOnlySpan<char> target) =>
        _fallback.Length > 0 && IsDefaultRegistryMatch(target) ? _fallback : [];

    /// <summary>The kubelet's <c>isDefaultRegistryMatch</c>.</summary>
    internal static bool IsDefaultRegistryMatch(ReadOnlySpan<char> image)
    {
        int slash = image.IndexOf('/');
        ReadOnlySpan<char> first = slash < 0 ? image : image[..slash];
        if (first.IsEmpty)
        {
            return false;
        }

        if (slash < 0 || first.SequenceEqual("docker.io") || first.SequenceEqual(DefaultRegistryHost))
        {
            return true;
        }

        return first.IndexOfAny('.', ':') < 0;
    }

    /// <summary>One index key, pre-parsed as a glob (the kubelet re-parses it as a URL on every lookup).</summary>
    private sealed class IndexEntry
    {
        private string[] _labels = [];
        private string _port = string.Empty;
        private string _path = string.Empty;
        private bool _valid;

        public required string Key { get; init; }

        public required byte[] Utf8 { get; init; }

        public required KeyringMatch[] Credentials { get; init; }

        public static IndexEntry Create(string key, KeyringMatch[] credentials)
        {
            var entry = new IndexEntry { Key = key, Utf8 = Encoding.UTF8.GetBytes(key), Credentials = credentials };
            if (GoUrl.TryParse("https://" + key, out string host, out string path))
            {
                GoUrl.SplitHostPort(host, out Range hostRange, out Range portRange);
                entry._labels = host[hostRange].Split('.');
                entry._port = host[portRange];
                entry._path = path;
                entry._valid = entry._labels.All(l => GoGlob.IsValid(l));
            }

            return entry;
        }

        public bool Matches(ReadOnlySpan<char> host, int labelCount, ReadOnlySpan<char> port, ReadOnlySpan<char> path)
        {
            if (!_valid || !port.SequenceEqual(_port) || labelCount != _labels.Length || !path.StartsWith(_path, StringComparison.Ordinal))
            {
                return false;
            }

            int start = 0;
            foreach (string label in _labels)
            {
                int dot = host[start..].IndexOf('.');
                ReadOnlySpan<char> targetLabel = dot < 0 ? host[start..] : host.Slice(start, dot);
                if (!GoGlob.Match(label, targetLabel))
                {
                    return false;
                }

                start += targetLabel.Length + 1;
            }

            return true;
        }
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
