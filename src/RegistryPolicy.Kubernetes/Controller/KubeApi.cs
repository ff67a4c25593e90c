using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Kubernetes.Controller;

/// <summary>A resource the controller lists, watches or writes.</summary>
internal sealed record ResourceType(string Kind, string Group, string Version, string Plural, bool Namespaced)
{
    public static ResourceType Namespaces { get; } = new("Namespace", "", "v1", "namespaces", false);

    public static ResourceType Secrets { get; } = new("Secret", "", "v1", "secrets", true);

    public static ResourceType ServiceAccounts { get; } = new("ServiceAccount", "", "v1", "serviceaccounts", true);

    public static ResourceType Leases { get; } = new("Lease", "coordination.k8s.io", "v1", "leases", true);

    /// <summary>
    /// The collection or object path: every name is escaped, and an empty name, <c>.</c> or <c>..</c> (which a URI collapses
    /// into another path) is refused, so a name cannot change the path.
    /// </summary>
    public string PathOf(string? @namespace, string? name = null)
    {
        foreach (string? part in new[] { @namespace, name })
        {
            if (part is "" or "." or "..")
            {
                throw new KubeApiException(400, "InvalidName", $"'{part}' is not a valid {Kind} name or namespace");
            }
        }

        var path = new StringBuilder(Group.Length == 0 ? "/api/" + Version : $"/apis/{Group}/{Version}");
        if (Namespaced && @namespace is not null)
        {
            path.Append("/namespaces/").Append(Uri.EscapeDataString(@namespace));
        }

        path.Append('/').Append(Plural);
        if (name is not null)
        {
            path.Append('/').Append(Uri.EscapeDataString(name));
        }

        return path.ToString();
    }
}

/// <summary>An object as the API server returned it: what the snapshot needs, plus the fields for optimistic concurrency.</summary>
internal sealed record ApiObject(string? Namespace, string Name, string ResourceVersion, string Uid, KubeObject? Decoded)
{
    public (string? Namespace, string Name) Key => (Namespace, Name);
}

internal enum WatchEventType
{
    Added,
    Modified,
    Deleted,
    Bookmark,
}

internal readonly record struct WatchEvent(WatchEventType Type, ApiObject? Object, string ResourceVersion);

internal sealed record ListPage(IReadOnlyList<ApiObject> Items, string ResourceVersion, string? Continue);

/// <summary>A failed API call: the HTTP status, the Status reason, and Retry-After when the server sent one. Never carries a request body.</summary>
internal sealed class KubeApiException(int statusCode, string reason, string message, TimeSpan? retryAfter = null)
    : Exception($"{statusCode} {reason}: {message}")
{
    public int StatusCode { get; } = statusCode;

    public string Reason { get; } = reason;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    public bool IsGone => StatusCode == 410;

    public bool IsConflict => StatusCode == 409;

    public bool IsNotFound => StatusCode == 404;

    /// <summary>Whether it came as a watch's ERROR event (after which only a relist is safe).</summary>
    public bool FromWatchError { get; init; }
}

/// <summary>
/// The parts of the Kubernetes REST API the controller uses, over a plain <see cref="HttpClient"/>: paged lists, watches
/// (one JSON event per line), create, JSON and merge patches, deletes with preconditions, reads. JSON is read with
/// <see cref="JsonDocument"/> and the snapshot reader, and written with <see cref="Utf8JsonWriter"/>: no reflection, so
/// trimming and NativeAOT are safe. Thread-safe (HttpClient is).
/// </summary>
internal sealed class KubeApi(HttpClient http, Uri server, Func<HttpRequestMessage, CancellationToken, ValueTask>? authorize = null)
{
    /// <summary>The longest single object or event line accepted (the API server's own limit on a request is 3 MiB; a list page is larger).</summary>
    internal const int MaxEventBytes = 16 * 1024 * 1024;

    public Uri Server { get; } = server;

    public async Task<ListPage> ListAsync(ResourceType type, string? @namespace, string? @continue, int limit, CancellationToken cancellationToken, string? fieldSelector = null)
    {
        string query = $"?limit={limit.ToString(CultureInfo.InvariantCulture)}" + (@continue is null ? "" : "&continue=" + Uri.EscapeDataString(@continue)) +
            (fieldSelector is null ? "" : "&fieldSelector=" + Uri.EscapeDataString(fieldSelector));
        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, type.PathOf(@namespace) + query, null, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return Guarded(() => PageOf(body, type));
    }

    private static ListPage PageOf(byte[] body, ResourceType type)
    {
        using JsonDocument document = JsonDocument.Parse(body);
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new KubeApiException(500, "InvalidResponse", $"the API server answered a {type.Kind} list with something that is not a JSON object");
        }

        string resourceVersion = String(root, "metadata", "resourceVersion") ?? "";
        string? next = String(root, "metadata", "continue") is { Length: > 0 } c ? c : null;
        var items = new List<ApiObject>();
        if (root.TryGetProperty("items", out JsonElement array) && array.ValueKind == JsonValueKind.Array)
        {
            // Decode the page once with the snapshot reader (kubectl's List shape), then pair each object with its version.
            Dictionary<(string?, string), KubeObject> decoded = Decode(body, type);
            foreach (JsonElement item in array.EnumerateArray())
            {
                if (Identity(item) is { } id)
                {
                    items.Add(id with { Decoded = decoded.GetValueOrDefault((id.Namespace, id.Name)) });
                }
            }
        }

        return new ListPage(items, resourceVersion, next);
    }

    /// <summary>One page of a list, as the server sent it, and its continue token.</summary>
    public async Task<(byte[] Body, string? Continue)> ListRawAsync(ResourceType type, string? @namespace, string? @continue, int limit, string? fieldSelector, CancellationToken cancellationToken)
    {
        string query = $"?limit={limit.ToString(CultureInfo.InvariantCulture)}" + (@continue is null ? "" : "&continue=" + Uri.EscapeDataString(@continue)) +
            (fieldSelector is null ? "" : "&fieldSelector=" + Uri.EscapeDataString(fieldSelector));
        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, type.PathOf(@namespace) + query, null, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        string? next = null;
        next = Guarded(() =>
        {
            using JsonDocument document = JsonDocument.Parse(body);
            return String(document.RootElement, "metadata", "continue") is { Length: > 0 } c ? c : null;
        });

        return (body, next);
    }

    public async IAsyncEnumerable<WatchEvent> WatchAsync(ResourceType type, string resourceVersion, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string query = "?watch=1&allowWatchBookmarks=true&resourceVersion=" + Uri.EscapeDataString(resourceVersion) +
            "&timeoutSeconds=" + ((long)Math.Max(1, timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, type.PathOf(null) + query, null, null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        using Stream stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await foreach (byte[] line in Lines(stream, cancellationToken).ConfigureAwait(false))
        {
            yield return ParseEvent(line, type);
        }
    }

    public async Task<ApiObject> GetAsync(ResourceType type, string? @namespace, string name, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, type.PathOf(@namespace, name), null, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ObjectOf(response, type, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads an object's raw JSON (for Leases, which the snapshot does not model).</summary>
    public async Task<(JsonDocument Document, string ResourceVersion)> GetRawAsync(ResourceType type, string? @namespace, string name, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Get, type.PathOf(@namespace, name), null, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        return (document, Guarded(() => String(document.RootElement, "metadata", "resourceVersion")) ?? "");
    }

    public async Task<ApiObject> CreateAsync(ResourceType type, string? @namespace, byte[] json, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Post, type.PathOf(@namespace) + "?fieldManager=registry-policy", json, "application/json", HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ObjectOf(response, type, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ApiObject> ReplaceAsync(ResourceType type, string? @namespace, string name, byte[] json, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Put, type.PathOf(@namespace, name) + "?fieldManager=registry-policy", json, "application/json", HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ObjectOf(response, type, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A JSON patch (<c>application/json-patch+json</c>) or a merge patch (<c>application/merge-patch+json</c>).</summary>
    public async Task<ApiObject> PatchAsync(ResourceType type, string? @namespace, string name, string contentType, byte[] json, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await SendAsync(HttpMethod.Patch, type.PathOf(@namespace, name) + "?fieldManager=registry-policy", json, contentType, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await ObjectOf(response, type, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes with preconditions on uid and resourceVersion: the object is deleted only if it is still the one that was read.</summary>
    public async Task DeleteAsync(ResourceType type, string? @namespace, string name, string uid, string resourceVersion, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("apiVersion", "v1");
            writer.WriteString("kind", "DeleteOptions");
            writer.WriteStartObject("preconditions");
            writer.WriteString("uid", uid);
            writer.WriteString("resourceVersion", resourceVersion);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        using HttpResponseMessage response = await SendAsync(HttpMethod.Delete, type.PathOf(@namespace, name), buffer.ToArray(), "application/json", HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string pathAndQuery, byte[]? body, string? contentType, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(Server, Server.AbsolutePath.TrimEnd('/') + pathAndQuery));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("registry-policy", "1"));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType ?? "application/json");
        }

        if (authorize is not null)
        {
            await authorize(request, cancellationToken).ConfigureAwait(false);
        }

        HttpResponseMessage response = await http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw await ErrorOf(response, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<KubeApiException> ErrorOf(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        TimeSpan? retryAfter = response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow,
            _ => null,
        };
        string reason = response.StatusCode.ToString();
        string message = response.ReasonPhrase ?? "";
        try
        {
            byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (body.Length is > 0 and < 64 * 1024)
            {
                using JsonDocument status = JsonDocument.Parse(body);
                reason = String(status.RootElement, "reason") ?? reason;
                message = String(status.RootElement, "message") ?? message;
            }
        }
        catch (Exception e) when (e is JsonException or KubeApiException or InvalidOperationException)
        {
            // Not a Status object (a proxy's HTML page): the HTTP status says enough.
        }

        return new KubeApiException((int)response.StatusCode, reason, Bounded(message), retryAfter);
    }

    private static string Bounded(string message) => message.Length <= 300 ? message : message[..300] + "...";

    private static async Task<ApiObject> ObjectOf(HttpResponseMessage response, ResourceType type, CancellationToken cancellationToken)
    {
        byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return Guarded(() => ObjectOf(body, type));
    }

    private static ApiObject ObjectOf(byte[] body, ResourceType type)
    {
        using JsonDocument document = JsonDocument.Parse(body);
        ApiObject id = Identity(document.RootElement) ?? throw new KubeApiException(500, "InvalidResponse", $"the API server answered a {type.Kind} request with an object without a name");
        return id with { Decoded = DecodeOne(body, type) };
    }

    internal static WatchEvent ParseEvent(byte[] line, ResourceType type) => Guarded(() => ParseEventCore(line, type));

    /// <summary>
    /// Runs a read of the server's JSON, turning System.Text.Json's InvalidOperationException (thrown for escapes that are not
    /// valid UTF-16, when a property name or string is compared or read) into the API error the callers handle.
    /// </summary>
    internal static T Guarded<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InvalidOperationException)
        {
            throw new KubeApiException(500, "InvalidResponse", "the API server's answer holds a string that is not valid Unicode");
        }
    }

    private static WatchEvent ParseEventCore(byte[] line, ResourceType type)
    {
        using JsonDocument document = JsonDocument.Parse(line);
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new KubeApiException(500, "InvalidWatchEvent", $"a {type.Kind} watch event that is not a JSON object");
        }

        string kind = String(root, "type") ?? "";
        if (!root.TryGetProperty("object", out JsonElement item) || item.ValueKind != JsonValueKind.Object)
        {
            throw new KubeApiException(500, "InvalidWatchEvent", $"a {type.Kind} watch event of type '{kind}' without an object");
        }

        if (kind == "ERROR")
        {
            int code = item.TryGetProperty("code", out JsonElement c) && c.TryGetInt32(out int value) ? value : 500;
            throw new KubeApiException(code, String(item, "reason") ?? "WatchError", Bounded(String(item, "message") ?? "the watch ended with an ERROR event")) { FromWatchError = true };
        }

        string resourceVersion = String(item, "metadata", "resourceVersion") ?? "";
        WatchEventType eventType = kind switch
        {
            "ADDED" => WatchEventType.Added,
            "MODIFIED" => WatchEventType.Modified,
            "DELETED" => WatchEventType.Deleted,
            "BOOKMARK" => WatchEventType.Bookmark,
            _ => throw new KubeApiException(500, "InvalidWatchEvent", $"a {type.Kind} watch event of unknown type '{Bounded(kind)}'"),
        };
        if (eventType == WatchEventType.Bookmark)
        {
            return new WatchEvent(eventType, null, resourceVersion);
        }

        ApiObject id = Identity(item) ?? throw new KubeApiException(500, "InvalidWatchEvent", $"a {type.Kind} watch event for an object without a name");
        return new WatchEvent(eventType, id with { Decoded = DecodeOne(System.Text.Encoding.UTF8.GetBytes(item.GetRawText()), type) }, resourceVersion);
    }

    private static ApiObject? Identity(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object || String(item, "metadata", "name") is not { Length: > 0 } name)
        {
            return null;
        }

        return new ApiObject(String(item, "metadata", "namespace"), name, String(item, "metadata", "resourceVersion") ?? "", String(item, "metadata", "uid") ?? "", null);
    }

    private static KubeObject? DecodeOne(byte[] json, ResourceType type) => Decode(json, type).Values.FirstOrDefault();

    /// <summary>Decodes with the same reader as <c>-f</c>, so a live read and a kubectl dump give the same objects.</summary>
    private static Dictionary<(string?, string), KubeObject> Decode(byte[] json, ResourceType type)
    {
        var objects = new Dictionary<(string?, string), KubeObject>();
        if (type == ResourceType.Leases)
        {
            return objects;
        }

        using var stream = new MemoryStream(json, writable: false);
        SnapshotSource source = SnapshotReader.Read(stream, "api:" + type.Plural);
        foreach (LocatedObject located in source.Objects)
        {
            objects[(located.Item.Namespace, located.Item.Name)] = located.Item;
        }

        return objects;
    }

    internal static string? String(JsonElement element, params ReadOnlySpan<string> path)
    {
        foreach (string name in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element))
            {
                return null;
            }
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        try
        {
            return element.GetString();
        }
        catch (InvalidOperationException)
        {
            // An escape that is not a valid UTF-16 sequence (a lone surrogate): no API server writes one.
            throw new KubeApiException(500, "InvalidResponse", "the API server's answer holds a string that is not valid Unicode");
        }
    }

    /// <summary>Splits a watch stream into lines, each at most <see cref="MaxEventBytes"/>.</summary>
    private static async IAsyncEnumerable<byte[]> Lines(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var pending = new MemoryStream();
        byte[] buffer = new byte[64 * 1024];
        while (true)
        {
            int read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            int start = 0;
            for (int i = 0; i < read; i++)
            {
                if (buffer[i] != (byte)'\n')
                {
                    continue;
                }

                pending.Write(buffer, start, i - start);
                start = i + 1;
                if (pending.Length > 0)
                {
                    yield return pending.ToArray();
                }

                pending.SetLength(0);
            }

            pending.Write(buffer, start, read - start);
            if (pending.Length > MaxEventBytes)
            {
                throw new KubeApiException(500, "WatchEventTooLarge", $"a watch event longer than {MaxEventBytes} bytes");
            }
        }

        if (pending.Length > 0 && pending.ToArray().Any(b => b is not ((byte)' ' or (byte)'\r' or (byte)'\t')))
        {
            yield return pending.ToArray();
        }
    }

    /// <summary>The HTTP status a transport failure maps to for the callers' retry logic.</summary>
    internal static bool IsRetryable(Exception e) => e is HttpRequestException or IOException or TimeoutException or OperationCanceledException ||
        e is KubeApiException { StatusCode: 429 or >= 500 };

    internal static HttpStatusCode Status(Exception e) => e is KubeApiException k ? (HttpStatusCode)k.StatusCode : HttpStatusCode.ServiceUnavailable;
}
