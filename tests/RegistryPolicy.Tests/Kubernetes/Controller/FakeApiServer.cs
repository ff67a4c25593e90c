using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace RegistryPolicy.Tests.Kubernetes.Controller;

/// <summary>
/// An in-process Kubernetes API server for tests (Kestrel on loopback), speaking the parts of the API the controller and
/// the live read use, as the real server does: discovery (/api, /apis, resource lists), lists with resourceVersion and
/// limit/continue, items without kind (the client fills it in), chunked watches with BOOKMARK, ERROR 410 for a
/// compacted resourceVersion, create/update/delete/patch (JSON patch, merge patch; strategic merge is taken as merge,
/// which is the same for the fields used here), resourceVersion preconditions (409), finalizers and deletionTimestamp,
/// namespace existence and termination on create, Leases. Faults can be injected per request; every write is logged.
/// Real kubectl is pointed at it in <see cref="FakeApiServerKubectlTests"/> to keep it honest.
/// </summary>
internal sealed class FakeApiServer : IAsyncDisposable
{
    private static readonly Dictionary<string, Resource> Resources = new Resource[]
    {
        new("namespaces", "Namespace", "", "v1", false),
        new("secrets", "Secret", "", "v1", true),
        new("serviceaccounts", "ServiceAccount", "", "v1", true),
        new("configmaps", "ConfigMap", "", "v1", true),
        new("pods", "Pod", "", "v1", true),
        new("deployments", "Deployment", "apps", "v1", true),
        new("statefulsets", "StatefulSet", "apps", "v1", true),
        new("daemonsets", "DaemonSet", "apps", "v1", true),
        new("replicasets", "ReplicaSet", "apps", "v1", true),
        new("jobs", "Job", "batch", "v1", true),
        new("cronjobs", "CronJob", "batch", "v1", true),
        new("leases", "Lease", "coordination.k8s.io", "v1", true),
    }.ToDictionary(r => r.Plural);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, SortedDictionary<string, JsonObject>> _store = Resources.Keys.ToDictionary(k => k, _ => new SortedDictionary<string, JsonObject>(StringComparer.Ordinal));
    private readonly List<Event> _events = [];
    private readonly ConcurrentDictionary<HttpContext, byte> _watches = new();

    // Held while a watch leaves _watches and while CutWatches aborts: a context is never aborted after its request ended
    // (Kestrel recycles it for the next request).
    private readonly Lock _watchLock = new();
    private TaskCompletionSource _changed = NewPulse();
    private long _resourceVersion = 1000;
    private long _compactedBelow;
    private WebApplication? _app;

    private sealed record Resource(string Plural, string Kind, string Group, string Version, bool Namespaced)
    {
        public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";
    }

    private sealed record Event(long ResourceVersion, string Resource, string Type, string Namespace, string Name, string Json);

    private sealed class EventOrder : IComparer<Event>
    {
        public static EventOrder Instance { get; } = new();

        public int Compare(Event? x, Event? y) => x!.ResourceVersion.CompareTo(y!.ResourceVersion);
    }

    /// <summary>A write the server accepted.</summary>
    public sealed record Write(string Verb, string Resource, string? Namespace, string Name, string? ContentType);

    /// <summary>What a fault hook sees.</summary>
    public sealed record Request(string Method, string Resource, string? Namespace, string? Name, bool IsWatch, bool IsWrite);

    /// <summary>An injected failure: the status, and Retry-After in seconds for 429.</summary>
    public sealed record Fault(int Status, int? RetryAfterSeconds = null);

    public Uri Url { get; private set; } = null!;

    /// <summary>Called for every request before it is served; a fault answers it instead.</summary>
    public Func<Request, Fault?>? Faults { get; set; }

    /// <summary>How often an idle watch gets a BOOKMARK (when it asked for them).</summary>
    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Every accepted write, in order.</summary>
    public ConcurrentQueue<Write> Writes { get; } = new();

    /// <summary>Counts requests by method and whether they watch.</summary>
    public ConcurrentDictionary<string, int> Requests { get; } = new(StringComparer.Ordinal);

    public int ActiveWatches => _watches.Count;

    /// <summary>Every request's path, in order.</summary>
    public ConcurrentQueue<string> Paths { get; } = new();

    public static async Task<FakeApiServer> StartAsync()
    {
        var server = new FakeApiServer();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        WebApplication app = builder.Build();
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server._app = app;
        server.Url = new Uri(app.Urls.First());
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            CutWatches();
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _app.StopAsync(stopping.Token);
            await _app.DisposeAsync();
        }
    }

    private static TaskCompletionSource NewPulse() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    // ---- Direct access, for tests ----

    /// <summary>Stores objects as the API server would on create (no faults, logged as writes by nobody).</summary>
    public void Seed(IEnumerable<JsonObject> objects)
    {
        lock (_lock)
        {
            foreach (JsonObject o in objects)
            {
                Resource r = ResourceOfKind((string)o["kind"]!);
                string? ns = r.Namespaced ? ((string?)o["metadata"]?["namespace"] ?? "default") : null;
                Stamp(o, ns, create: true);
                _store[r.Plural][Key(ns, (string)o["metadata"]!["name"]!)] = o;
                Record(r.Plural, "ADDED", ns, o);
            }
        }

        Pulse();
    }

    /// <summary>Seeds from a kubectl-style YAML or JSON dump, through System.Text.Json after YamlDotNet.</summary>
    public void SeedManifests(string text)
    {
        var objects = new List<JsonObject>();
        if (text.TrimStart().StartsWith('{'))
        {
            JsonObject root = JsonNode.Parse(text)!.AsObject();
            objects.AddRange(root["items"] is JsonArray items ? items.Select(i => i!.AsObject().DeepClone().AsObject()) : [root]);
        }
        else
        {
            var yaml = new YamlDotNet.Serialization.DeserializerBuilder().Build();
            var json = new YamlDotNet.Serialization.SerializerBuilder().JsonCompatible().Build();
            foreach (string doc in text.Split("\n---", StringSplitOptions.RemoveEmptyEntries))
            {
                object? graph = yaml.Deserialize(new StringReader(doc));
                if (graph is null)
                {
                    continue;
                }

                JsonNode node = JsonNode.Parse(json.Serialize(graph))!;
                if (node["items"] is JsonArray items)
                {
                    objects.AddRange(items.Select(i => i!.AsObject().DeepClone().AsObject()));
                }
                else
                {
                    objects.Add(node.AsObject());
                }
            }
        }

        // Namespaces that objects live in exist, as in a real cluster.
        var names = objects.Where(o => (string?)o["kind"] == "Namespace").Select(o => (string)o["metadata"]!["name"]!).ToHashSet(StringComparer.Ordinal);
        foreach (string ns in objects.Select(o => (string?)o["metadata"]?["namespace"]).OfType<string>().Distinct().Where(n => !names.Contains(n)).ToList())
        {
            objects.Insert(0, NamespaceJson(ns));
            names.Add(ns);
        }

        Seed(objects.Where(o => Resources.Values.Any(r => r.Kind == (string?)o["kind"])));
    }

    public static JsonObject NamespaceJson(string name, IReadOnlyDictionary<string, string>? labels = null) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Namespace",
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = Labels(labels) },
        ["status"] = new JsonObject { ["phase"] = "Active" },
    };

    public static JsonObject SecretJson(string ns, string name, IReadOnlyDictionary<string, string>? labels, params (string Key, string Value)[] data) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Secret",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = Labels(labels) },
        ["type"] = "Opaque",
        ["data"] = new JsonObject(data.Select(d => KeyValuePair.Create(d.Key, (JsonNode?)Convert.ToBase64String(Encoding.UTF8.GetBytes(d.Value))))),
    };

    public static JsonObject ServiceAccountJson(string ns, string name) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "ServiceAccount",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
    };

    private static JsonObject Labels(IReadOnlyDictionary<string, string>? labels) =>
        new((labels ?? new Dictionary<string, string>()).Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value)));

    public JsonObject? Get(string resource, string? ns, string name)
    {
        lock (_lock)
        {
            return _store[resource].TryGetValue(Key(ns, name), out JsonObject? o) ? o.DeepClone().AsObject() : null;
        }
    }

    /// <summary>Counts objects without copying them (for large measurements).</summary>
    public int Count(string resource, Func<JsonObject, bool> predicate)
    {
        lock (_lock)
        {
            return _store[resource].Values.Count(predicate);
        }
    }

    public List<JsonObject> All(string resource)
    {
        lock (_lock)
        {
            return [.. _store[resource].Values.Select(o => o.DeepClone().AsObject())];
        }
    }

    /// <summary>Changes an object as another client would (a MODIFIED event, a new resourceVersion).</summary>
    public void Edit(string resource, string? ns, string name, Action<JsonObject> edit)
    {
        lock (_lock)
        {
            JsonObject o = _store[resource][Key(ns, name)];
            edit(o);
            Stamp(o, ns, create: false);
            Record(resource, "MODIFIED", ns, o);
        }

        Pulse();
    }

    /// <summary>Deletes as another client would.</summary>
    public void Remove(string resource, string? ns, string name)
    {
        lock (_lock)
        {
            if (_store[resource].Remove(Key(ns, name), out JsonObject? o))
            {
                Stamp(o, ns, create: false);
                Record(resource, "DELETED", ns, o);
            }
        }

        Pulse();
    }

    /// <summary>Forgets history: watches from an older resourceVersion get ERROR 410, as after etcd compaction.</summary>
    public void Compact()
    {
        lock (_lock)
        {
            _compactedBelow = _resourceVersion + 1;
            _events.Clear();
        }
    }

    /// <summary>Drops every open watch connection mid-stream (no clean end).</summary>
    public void CutWatches()
    {
        lock (_watchLock)
        {
            foreach (HttpContext context in _watches.Keys)
            {
                context.Abort();
            }
        }
    }

    public long ResourceVersion
    {
        get
        {
            lock (_lock)
            {
                return _resourceVersion;
            }
        }
    }

    // ---- HTTP ----

    private async Task HandleAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        string path = request.Path.Value ?? "/";
        Paths.Enqueue(path);
        if (Discovery(path) is { } discovery)
        {
            await Json(context, 200, discovery);
            return;
        }

        if (!TryRoute(path, out Resource? resource, out string? ns, out string? name))
        {
            await Status(context, 404, "NotFound", $"the server could not find the requested resource ({path})");
            return;
        }

        bool watch = request.Query["watch"] is { Count: > 0 } w && (w[0] is "1" or "true");
        bool write = request.Method is "POST" or "PUT" or "PATCH" or "DELETE";
        Requests.AddOrUpdate(request.Method + (watch ? " watch" : ""), 1, (_, n) => n + 1);
        if (Faults?.Invoke(new Request(request.Method, resource!.Plural, ns, name, watch, write)) is { } fault)
        {
            if (fault.RetryAfterSeconds is { } seconds)
            {
                context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            }

            await Status(context, fault.Status, ReasonOf(fault.Status), "injected by the test");
            return;
        }

        try
        {
            switch (request.Method)
            {
                case "GET" when watch:
                    await WatchAsync(context, resource!, ns, request);
                    break;
                case "GET" when name is null:
                    await Json(context, 200, List(resource!, ns, request));
                    break;
                case "GET":
                    await Json(context, 200, Get(resource!.Plural, ns, name!) ?? throw new ApiError(404, "NotFound", $"{resource.Plural} \"{name}\" not found"));
                    break;
                case "POST" when name is null:
                    await Json(context, 201, Create(resource!, ns, await BodyAsync(request)));
                    break;
                case "PUT" when name is not null:
                    await Json(context, 200, Update(resource!, ns, name, await BodyAsync(request)));
                    break;
                case "PATCH" when name is not null:
                    await Json(context, 200, Patch(resource!, ns, name, request.ContentType ?? "", await BodyAsync(request)));
                    break;
                case "DELETE" when name is not null:
                    await Json(context, 200, Delete(resource!, ns, name, request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0 ? await BodyAsync(request) : null));
                    break;
                default:
                    await Status(context, 405, "MethodNotAllowed", $"{request.Method} is not supported here");
                    break;
            }
        }
        catch (ApiError e)
        {
            if (!context.Response.HasStarted)
            {
                await Status(context, e.Code, e.Reason, e.Message);
            }
        }
    }

    private sealed class ApiError(int code, string reason, string message) : Exception(message)
    {
        public int Code { get; } = code;

        public string Reason { get; } = reason;
    }

    private static string ReasonOf(int status) => status switch
    {
        409 => "Conflict",
        410 => "Expired",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        _ => "Unknown",
    };

    private static async Task<JsonObject> BodyAsync(HttpRequest request)
    {
        if (request.ContentType?.StartsWith("application/vnd.kubernetes.protobuf", StringComparison.Ordinal) == true)
        {
            throw new ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml");
        }

        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        string text = await reader.ReadToEndAsync();
        try
        {
            return JsonNode.Parse(text) switch
            {
                JsonObject o => o,
                JsonArray a => new JsonObject { ["__patch"] = a },
                _ => throw new ApiError(400, "BadRequest", "the body is not a JSON object"),
            };
        }
        catch (JsonException e)
        {
            throw new ApiError(400, "BadRequest", "the body is not JSON: " + e.Message);
        }
    }

    private static JsonObject? Discovery(string path)
    {
        switch (path)
        {
            case "/api":
                return new JsonObject { ["kind"] = "APIVersions", ["versions"] = new JsonArray("v1"), ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = "127.0.0.1" }) };
            case "/apis":
                var groups = new JsonArray();
                foreach (var group in Resources.Values.Where(r => r.Group.Length > 0).GroupBy(r => r.Group))
                {
                    string gv = $"{group.Key}/{group.First().Version}";
                    groups.Add(new JsonObject
                    {
                        ["name"] = group.Key,
                        ["versions"] = new JsonArray(new JsonObject { ["groupVersion"] = gv, ["version"] = group.First().Version }),
                        ["preferredVersion"] = new JsonObject { ["groupVersion"] = gv, ["version"] = group.First().Version },
                    });
                }

                return new JsonObject { ["kind"] = "APIGroupList", ["apiVersion"] = "v1", ["groups"] = groups };
            case "/version":
                return new JsonObject { ["major"] = "1", ["minor"] = "32", ["gitVersion"] = "v1.32.0-fake", ["platform"] = "linux/amd64" };
        }

        string? groupVersion = path == "/api/v1" ? "v1" : path.StartsWith("/apis/", StringComparison.Ordinal) && path.Count(c => c == '/') == 3 ? path["/apis/".Length..] : null;
        if (groupVersion is null)
        {
            return null;
        }

        var resources = new JsonArray();
        foreach (Resource r in Resources.Values.Where(r => r.ApiVersion == groupVersion))
        {
            resources.Add(new JsonObject
            {
                ["name"] = r.Plural,
                ["singularName"] = r.Kind.ToLowerInvariant(),
                ["namespaced"] = r.Namespaced,
                ["kind"] = r.Kind,
                ["verbs"] = new JsonArray("create", "delete", "get", "list", "patch", "update", "watch"),
            });
        }

        return resources.Count == 0 ? null : new JsonObject { ["kind"] = "APIResourceList", ["apiVersion"] = "v1", ["groupVersion"] = groupVersion, ["resources"] = resources };
    }

    private static bool TryRoute(string path, out Resource? resource, out string? ns, out string? name)
    {
        resource = null;
        ns = name = null;
        string[] parts = [.. path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString)];
        int i;
        string apiVersion;
        if (parts.Length >= 3 && parts[0] == "api" && parts[1] == "v1")
        {
            apiVersion = "v1";
            i = 2;
        }
        else if (parts.Length >= 4 && parts[0] == "apis")
        {
            apiVersion = $"{parts[1]}/{parts[2]}";
            i = 3;
        }
        else
        {
            return false;
        }

        string[] rest = parts[i..];
        if (rest.Length >= 3 && rest[0] == "namespaces")
        {
            ns = rest[1];
            rest = rest[2..];
        }
        else if (rest.Length == 2 && rest[0] == "namespaces" && apiVersion == "v1")
        {
            resource = Resources["namespaces"];
            name = rest[1];
            return true;
        }

        if (rest.Length is < 1 or > 2 || !Resources.TryGetValue(rest[0], out Resource? r) || r.ApiVersion != apiVersion)
        {
            return false;
        }

        resource = r;
        name = rest.Length == 2 ? rest[1] : null;
        return true;
    }

    private JsonObject List(Resource resource, string? ns, HttpRequest request)
    {
        int limit = int.TryParse(request.Query["limit"], out int l) && l > 0 ? l : int.MaxValue;
        string? nameField = FieldName(request);
        lock (_lock)
        {
            long listVersion = _resourceVersion;
            int start = 0;
            if (request.Query["continue"] is { Count: > 0 } token && token[0] is { Length: > 0 } t)
            {
                string[] decoded = Encoding.UTF8.GetString(Convert.FromBase64String(t)).Split(':', 2);
                listVersion = long.Parse(decoded[0], CultureInfo.InvariantCulture);
                // As in etcd, the revision compacted at (the newest when Compact was called) stays readable.
                if (listVersion < _compactedBelow - 1)
                {
                    throw new ApiError(410, "Expired", "The provided continue parameter is too old to display a consistent list result.");
                }

                start = int.Parse(decoded[1], CultureInfo.InvariantCulture);
            }

            List<JsonObject> matching = [.. _store[resource.Plural].Values.Where(o => InScope(o, ns, nameField))];
            var items = new JsonArray();
            foreach (JsonObject o in matching.Skip(start).Take(limit))
            {
                JsonObject item = o.DeepClone().AsObject();
                // The API server leaves kind and apiVersion out of list items; clients take them from the list.
                item.Remove("kind");
                item.Remove("apiVersion");
                items.Add(item);
            }

            var metadata = new JsonObject { ["resourceVersion"] = listVersion.ToString(CultureInfo.InvariantCulture) };
            int next = start + items.Count;
            if (next < matching.Count)
            {
                metadata["continue"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{listVersion}:{next}"));
                metadata["remainingItemCount"] = matching.Count - next;
            }

            return new JsonObject { ["kind"] = resource.Kind + "List", ["apiVersion"] = resource.ApiVersion, ["metadata"] = metadata, ["items"] = items };
        }
    }

    private static string? FieldName(HttpRequest request) =>
        request.Query["fieldSelector"] is { Count: > 0 } f && f[0] is { } selector && selector.StartsWith("metadata.name=", StringComparison.Ordinal) ? selector["metadata.name=".Length..] : null;

    private static bool InScope(JsonObject o, string? ns, string? name) =>
        (ns is null || (string?)o["metadata"]?["namespace"] == ns) && (name is null || (string?)o["metadata"]?["name"] == name);

    private async Task WatchAsync(HttpContext context, Resource resource, string? ns, HttpRequest request)
    {
        string? nameField = FieldName(request);
        bool bookmarks = request.Query["allowWatchBookmarks"] is { Count: > 0 } b && b[0] == "true";
        int timeoutSeconds = int.TryParse(request.Query["timeoutSeconds"], out int s) ? s : 1800;
        string from = request.Query["resourceVersion"].FirstOrDefault() ?? "";
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        _watches[context] = 0;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            timeout.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
            long position;
            var initial = new List<string>();
            lock (_lock)
            {
                if (from is "" or "0")
                {
                    // "Start at most recent": every current object as ADDED, then changes.
                    foreach (JsonObject o in _store[resource.Plural].Values.Where(o => InScope(o, ns, nameField)))
                    {
                        initial.Add(EventJson("ADDED", o));
                    }

                    position = _resourceVersion;
                }
                else
                {
                    position = long.Parse(from, CultureInfo.InvariantCulture);
                    if (position < _compactedBelow - 1)
                    {
                        initial.Add(new JsonObject
                        {
                            ["type"] = "ERROR",
                            ["object"] = new JsonObject
                            {
                                ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Failure",
                                ["message"] = $"too old resource version: {from} ({_compactedBelow})", ["reason"] = "Expired", ["code"] = 410,
                            },
                        }.ToJsonString());
                        position = long.MaxValue;
                    }
                }
            }

            foreach (string line in initial)
            {
                await WriteLine(context, line, timeout.Token);
            }

            if (position == long.MaxValue)
            {
                return;
            }

            await context.Response.Body.FlushAsync(timeout.Token);
            while (!timeout.IsCancellationRequested)
            {
                Task pulse;
                var pending = new List<Event>();
                lock (_lock)
                {
                    pulse = _changed.Task;
                    // Events are in resourceVersion order: start at the first one after the position.
                    int first = _events.BinarySearch(new Event(position, "", "", "", "", ""), EventOrder.Instance);
                    first = first < 0 ? ~first : first + 1;
                    for (int i = first; i < _events.Count; i++)
                    {
                        Event e = _events[i];
                        if (e.Resource == resource.Plural && (ns is null || e.Namespace == ns) && (nameField is null || e.Name == nameField))
                        {
                            pending.Add(e);
                        }
                    }

                    position = Math.Max(position, _events.Count > 0 ? _events[^1].ResourceVersion : position);
                }

                foreach (Event e in pending)
                {
                    await WriteLine(context, e.Json, timeout.Token);
                }

                Task tick = Task.Delay(BookmarkInterval, timeout.Token);
                if (await Task.WhenAny(pulse, tick) == tick && !timeout.IsCancellationRequested && bookmarks)
                {
                    string rv;
                    lock (_lock)
                    {
                        rv = position.ToString(CultureInfo.InvariantCulture);
                    }

                    await WriteLine(context, new JsonObject
                    {
                        ["type"] = "BOOKMARK",
                        ["object"] = new JsonObject { ["kind"] = resource.Kind, ["apiVersion"] = resource.ApiVersion, ["metadata"] = new JsonObject { ["resourceVersion"] = rv } },
                    }.ToJsonString(), timeout.Token);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The watch timed out or the client went away.
        }
        catch (IOException)
        {
            // Cut.
        }
        finally
        {
            lock (_watchLock)
            {
                _watches.TryRemove(context, out _);
            }
        }
    }

    private static async Task WriteLine(HttpContext context, string line, CancellationToken cancellationToken)
    {
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), cancellationToken);
        await context.Response.Body.FlushAsync(cancellationToken);
    }

    private static string EventJson(string type, JsonObject o) => new JsonObject { ["type"] = type, ["object"] = o.DeepClone() }.ToJsonString();

    private JsonObject Create(Resource resource, string? ns, JsonObject body)
    {
        string name = (string?)body["metadata"]?["name"] ?? throw new ApiError(422, "Invalid", "metadata.name: Required value");
        JsonObject result;
        lock (_lock)
        {
            if (resource.Namespaced)
            {
                if (!_store["namespaces"].TryGetValue(Key(null, ns!), out JsonObject? namespaceObject))
                {
                    throw new ApiError(404, "NotFound", $"namespaces \"{ns}\" not found");
                }

                if ((string?)namespaceObject["status"]?["phase"] == "Terminating")
                {
                    throw new ApiError(403, "Forbidden", $"unable to create new content in namespace {ns} because it is being terminated");
                }
            }

            if (_store[resource.Plural].ContainsKey(Key(ns, name)))
            {
                throw new ApiError(409, "AlreadyExists", $"{resource.Plural} \"{name}\" already exists");
            }

            body["kind"] = resource.Kind;
            body["apiVersion"] = resource.ApiVersion;
            if (resource.Namespaced)
            {
                body["metadata"]!["namespace"] = ns;
            }

            if (resource.Plural == "namespaces")
            {
                body["status"] = new JsonObject { ["phase"] = "Active" };
            }

            Stamp(body, ns, create: true);
            _store[resource.Plural][Key(ns, name)] = body;
            Record(resource.Plural, "ADDED", ns, body);
            result = body.DeepClone().AsObject();
        }

        Writes.Enqueue(new Write("create", resource.Plural, ns, name, null));
        Pulse();
        return result;
    }

    private JsonObject Update(Resource resource, string? ns, string name, JsonObject body)
    {
        lock (_lock)
        {
            JsonObject current = _store[resource.Plural].GetValueOrDefault(Key(ns, name)) ?? throw new ApiError(404, "NotFound", $"{resource.Plural} \"{name}\" not found");
            CheckVersion(resource, name, current, (string?)body["metadata"]?["resourceVersion"]);
            body["kind"] = resource.Kind;
            body["apiVersion"] = resource.ApiVersion;
            body["metadata"]!["uid"] = current["metadata"]!["uid"]!.DeepClone();
            body["metadata"]!["creationTimestamp"] = current["metadata"]!["creationTimestamp"]!.DeepClone();
            if (current["metadata"]!["deletionTimestamp"] is { } deleting)
            {
                body["metadata"]!["deletionTimestamp"] = deleting.DeepClone();
            }

            return Store(resource, ns, name, body, "update", null);
        }
    }

    private JsonObject Patch(Resource resource, string? ns, string name, string contentType, JsonObject body)
    {
        lock (_lock)
        {
            JsonObject current = _store[resource.Plural].GetValueOrDefault(Key(ns, name)) ?? throw new ApiError(404, "NotFound", $"{resource.Plural} \"{name}\" not found");
            JsonObject patched;
            string media = contentType.Split(';')[0].Trim();
            if (media == "application/json-patch+json")
            {
                if (body["__patch"] is not JsonArray operations)
                {
                    throw new ApiError(400, "BadRequest", "a JSON patch must be an array");
                }

                var ops = operations.Select(o => new JsonPatchOperation((string)o!["op"]!, (string)o["path"]!, o["value"]?.ToJsonString() ?? "null")).ToList();
                if (!JsonPatch.TryApply(current.DeepClone(), ops, out JsonNode? result, out string? error))
                {
                    // What the API server answers when a JSON patch cannot be applied (a failed test included).
                    throw new ApiError(422, "Invalid", error);
                }

                patched = result!.AsObject();
            }
            else if (media is "application/merge-patch+json" or "application/strategic-merge-patch+json")
            {
                patched = (JsonObject)Merge(current.DeepClone(), body)!;
                // A resourceVersion in a merge patch is a precondition: it must be the current one.
                CheckVersion(resource, name, current, (string?)body["metadata"]?["resourceVersion"]);
            }
            else
            {
                throw new ApiError(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {media})");
            }

            patched["metadata"]!["resourceVersion"] = current["metadata"]!["resourceVersion"]!.DeepClone();
            return Store(resource, ns, name, patched, "patch", media);
        }
    }

    private JsonObject Delete(Resource resource, string? ns, string name, JsonObject? options)
    {
        JsonObject result;
        lock (_lock)
        {
            JsonObject current = _store[resource.Plural].GetValueOrDefault(Key(ns, name)) ?? throw new ApiError(404, "NotFound", $"{resource.Plural} \"{name}\" not found");
            if (options?["preconditions"] is JsonObject preconditions)
            {
                if (preconditions["uid"] is { } uid && (string?)uid != (string?)current["metadata"]!["uid"])
                {
                    throw new ApiError(409, "Conflict", $"Precondition failed: UID in precondition: {uid}, UID in object meta: {current["metadata"]!["uid"]}");
                }

                CheckVersion(resource, name, current, (string?)preconditions["resourceVersion"]);
            }

            bool finalizers = current["metadata"]!["finalizers"] is JsonArray { Count: > 0 } || resource.Plural == "namespaces";
            if (finalizers)
            {
                current["metadata"]!["deletionTimestamp"] ??= "2026-12-01T00:00:00Z";
                if (resource.Plural == "namespaces")
                {
                    current["status"] = new JsonObject { ["phase"] = "Terminating" };
                }

                Stamp(current, ns, create: false);
                Record(resource.Plural, "MODIFIED", ns, current);
            }
            else
            {
                _store[resource.Plural].Remove(Key(ns, name));
                Stamp(current, ns, create: false);
                Record(resource.Plural, "DELETED", ns, current);
            }

            result = current.DeepClone().AsObject();
        }

        Writes.Enqueue(new Write("delete", resource.Plural, ns, name, null));
        Pulse();
        return result;
    }

    private JsonObject Store(Resource resource, string? ns, string name, JsonObject updated, string verb, string? media)
    {
        Stamp(updated, ns, create: false);
        bool gone = updated["metadata"]!["deletionTimestamp"] is not null && updated["metadata"]!["finalizers"] is not JsonArray { Count: > 0 } && resource.Plural != "namespaces";
        if (gone)
        {
            _store[resource.Plural].Remove(Key(ns, name));
            Record(resource.Plural, "DELETED", ns, updated);
        }
        else
        {
            _store[resource.Plural][Key(ns, name)] = updated;
            Record(resource.Plural, "MODIFIED", ns, updated);
        }

        Writes.Enqueue(new Write(verb, resource.Plural, ns, name, media));
        Pulse();
        return updated.DeepClone().AsObject();
    }

    private static void CheckVersion(Resource resource, string name, JsonObject current, string? expected)
    {
        if (expected is { Length: > 0 } && expected != (string?)current["metadata"]!["resourceVersion"])
        {
            throw new ApiError(409, "Conflict", $"Operation cannot be fulfilled on {resource.Plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
        }
    }

    private static JsonNode? Merge(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        JsonObject result = target as JsonObject ?? new JsonObject();
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                JsonNode? merged = Merge(result[key]?.DeepClone(), value);
                result[key] = merged;
            }
        }

        return result;
    }

    private void Stamp(JsonObject o, string? ns, bool create)
    {
        JsonObject metadata = o["metadata"] as JsonObject ?? throw new ApiError(422, "Invalid", "metadata: Required value");
        _resourceVersion++;
        metadata["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture);
        if (create)
        {
            metadata["uid"] = Guid.NewGuid().ToString();
            metadata["creationTimestamp"] = "2026-12-01T00:00:00Z";
        }

        if (ns is not null)
        {
            metadata["namespace"] = ns;
        }
    }

    private void Record(string resource, string type, string? ns, JsonObject o) =>
        _events.Add(new Event(_resourceVersion, resource, type, ns ?? "", (string)o["metadata"]!["name"]!, EventJson(type, o)));

    private void Pulse()
    {
        TaskCompletionSource previous;
        lock (_lock)
        {
            previous = _changed;
            _changed = NewPulse();
        }

        previous.TrySetResult();
    }

    private static Resource ResourceOfKind(string kind) => Resources.Values.Single(r => r.Kind == kind);

    private static string Key(string? ns, string name) => (ns ?? "") + "\u0000" + name;

    private static async Task Json(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    private static Task Status(HttpContext context, int code, string reason, string message) => Json(context, code, new JsonObject
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    });
}
