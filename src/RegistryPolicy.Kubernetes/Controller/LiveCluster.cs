using System.Text;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Kubernetes.Controller;

/// <summary>What a live read covers: one namespace, or all of them. Immutable and thread-safe.</summary>
/// <param name="Namespace">The namespace, or <see langword="null"/> for all (<c>-A</c>).</param>
public sealed record LiveReadScope(string? Namespace)
{
    // Declared before AllNamespaces: static initializers run in order, and AllNamespaces needs it.
    internal static readonly string[] DefaultResources =
        ["namespaces", "secrets", "serviceaccounts", "configmaps", "pods", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs"];

    /// <summary>Every namespace.</summary>
    public static LiveReadScope AllNamespaces { get; } = new((string?)null);

    /// <summary>The kinds to list, as API resources (default: namespaces, secrets, serviceaccounts, pods, and the workload kinds).</summary>
    public IReadOnlyList<string> Resources { get; init; } = DefaultResources;

    /// <summary>Objects per page (<c>limit</c>; kubectl's default is 500).</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>
    /// The longest one request (one page) may take, from sending it to the last byte of the answer; a server that accepts
    /// the connection and never answers fails the read after this (kubectl's <c>--request-timeout</c>). Default 30 seconds.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Reads a cluster straight from the API server, read-only, in pages (<c>limit</c>/<c>continue</c>), into the same
/// <see cref="SnapshotSource"/> that <c>kubectl get ... -o json</c> piped to <c>-f -</c> gives: each page is decoded by
/// the snapshot reader itself. Namespaces are listed even for one namespace (only that one is kept), so that its
/// labels and phase are known. Stateless and thread-safe.
/// </summary>
public static class LiveCluster
{
    private static readonly Dictionary<string, (string Prefix, string Kind)> Paths = new(StringComparer.Ordinal)
    {
        ["namespaces"] = ("/api/v1", "Namespace"),
        ["secrets"] = ("/api/v1", "Secret"),
        ["serviceaccounts"] = ("/api/v1", "ServiceAccount"),
        ["configmaps"] = ("/api/v1", "ConfigMap"),
        ["pods"] = ("/api/v1", "Pod"),
        ["deployments"] = ("/apis/apps/v1", "Deployment"),
        ["statefulsets"] = ("/apis/apps/v1", "StatefulSet"),
        ["daemonsets"] = ("/apis/apps/v1", "DaemonSet"),
        ["replicasets"] = ("/apis/apps/v1", "ReplicaSet"),
        ["jobs"] = ("/apis/batch/v1", "Job"),
        ["cronjobs"] = ("/apis/batch/v1", "CronJob"),
        ["functions"] = ("/apis/serverless.kyma-project.io/v1alpha2", "Function"),
    };

    /// <summary>The resources <see cref="ReadAsync"/> knows.</summary>
    public static IReadOnlyCollection<string> KnownResources => Paths.Keys;

    /// <summary>Lists the scope's objects, page by page, and decodes them.</summary>
    /// <param name="connection">The API server.</param>
    /// <param name="scope">What to read.</param>
    /// <param name="keep">Which Secrets to keep (a policy's <c>SecretFilter</c>), or <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>One source per resource, named <c>api:RESOURCE</c>; a resource the server does not serve (404) gives an info diagnostic, not a failure.</returns>
    /// <exception cref="HttpRequestException">The server cannot be reached, or refused a list (the message has the status and reason, never a credential).</exception>
    public static async Task<IReadOnlyList<SnapshotSource>> ReadAsync(KubernetesConnection connection, LiveReadScope scope, SecretFilter? keep = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(scope);
        using HttpClient http = connection.CreateHttpClient();
        KubeApi api = connection.CreateApi(http);
        var sources = new List<SnapshotSource>();
        foreach (string resource in scope.Resources)
        {
            if (!Paths.TryGetValue(resource, out var path))
            {
                throw new ArgumentException($"unknown resource '{resource}' (known: {string.Join(", ", Paths.Keys)})", nameof(scope));
            }

            string group = path.Prefix == "/api/v1" ? "" : path.Prefix["/apis/".Length..path.Prefix.LastIndexOf('/')];
            string version = path.Prefix[(path.Prefix.LastIndexOf('/') + 1)..];
            bool clusterScoped = resource == "namespaces";
            var type = new ResourceType(path.Kind, group, version, resource, !clusterScoped);
            string? fieldSelector = clusterScoped && scope.Namespace is not null ? "metadata.name=" + scope.Namespace : null;
            string? ns = clusterScoped ? null : scope.Namespace;
            try
            {
                sources.Add(await ReadResourceAsync(api, type, ns, fieldSelector, scope, keep, cancellationToken).ConfigureAwait(false));
            }
            catch (KubeApiException e) when (e.IsNotFound && resource is "functions")
            {
                // Kyma's CRD is not installed: there are no Functions.
            }
            catch (KubeApiException e)
            {
                throw new HttpRequestException($"listing {resource} on {KubernetesConnection.Display(connection.Server)} failed: {e.Message}", e, (System.Net.HttpStatusCode)e.StatusCode);
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new HttpRequestException($"listing {resource} on {KubernetesConnection.Display(connection.Server)} failed: the answer is not JSON (line {e.LineNumber})", e);
            }
            catch (IOException e)
            {
                throw new HttpRequestException($"listing {resource} on {KubernetesConnection.Display(connection.Server)} failed: {e.Message}", e);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new HttpRequestException($"listing {resource} on {KubernetesConnection.Display(connection.Server)} failed: no answer within {scope.RequestTimeout.TotalSeconds:0.#} s (the request timeout)", e);
            }
        }

        return sources;
    }

    private static async Task<SnapshotSource> ReadResourceAsync(KubeApi api, ResourceType type, string? @namespace, string? fieldSelector, LiveReadScope scope, SecretFilter? keep, CancellationToken cancellationToken)
    {
        // Each page is a List document: the reader takes it as kubectl's output, so both paths share one decoder.
        var pages = new StringBuilder();
        var sources = new List<SnapshotSource>();
        string? next = null;
        do
        {
            byte[] body;
            string? @continue;
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                deadline.CancelAfter(scope.RequestTimeout);
                (body, @continue) = await api.ListRawAsync(type, @namespace, next, scope.PageSize, fieldSelector, deadline.Token).ConfigureAwait(false);
            }

            using var stream = new MemoryStream(body, writable: false);
            sources.Add(SnapshotReader.Read(stream, "api:" + type.Plural, new SnapshotReadOptions { Keep = keep }));
            next = @continue;
        }
        while (next is not null);

        return sources.Count == 1 ? sources[0] : new SnapshotSource("api:" + type.Plural, [.. sources.SelectMany(s => s.Objects)], [.. sources.SelectMany(s => s.Diagnostics)])
        {
            Refused = [.. sources.SelectMany(s => s.Refused)],
            OtherNamespaces = [.. sources.SelectMany(s => s.OtherNamespaces)],
        };
    }
}
