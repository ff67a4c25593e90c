using System.Globalization;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Kubernetes.Controller;

/// <summary>How a cache lists and watches, and how it backs off.</summary>
internal sealed record CacheOptions
{
    /// <summary>Objects per list page.</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>The server-side watch timeout; each watch asks for this plus up to the same again at random (as client-go does), so that watches do not all end together.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How much longer than the server-side timeout the client waits before it drops a watch that never ended.</summary>
    public TimeSpan WatchGrace { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The longest a list page may take (a peer that vanished without a reset cannot hold a relist for ever).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A watch that ends sooner than this without an event counts as a failure (it backs off instead of spinning).</summary>
    public TimeSpan ShortWatch { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// An object cache fed by list and watch, for one resource type (KubernetesClient 21 has no informer). It lists
/// (paged), then watches from the list's resourceVersion with bookmarks; a watch that ends is resumed from the last
/// resourceVersion seen; <c>410 Gone</c> (as a status or an ERROR event) relists; any other failure reconnects after a
/// capped, jittered exponential backoff; a watch that outlives its timeout plus a grace is dropped by the client, so a
/// silently dead connection cannot stall the cache. Every change raises <see cref="Changed"/>.
/// With a filter (a policy's <see cref="RegistryPolicy.Policies.CompiledPolicy.SecretFilter"/>), Secrets the policy cannot
/// match are not kept, so memory follows what the policy reads (Kyma's own fix, kyma-project/serverless#1250); an object
/// the controller wrote or re-read is kept whatever the filter says (pinned), so that a same-named Secret the filter
/// hid is updated after one 409 instead of being created again and again.
/// Thread-safe: one task runs <see cref="RunAsync"/>; any thread reads.
/// </summary>
internal sealed class ObjectCache(KubeApi api, ResourceType type, CacheOptions options, ControllerMetrics? metrics = null, SecretFilter? keep = null)
{
    private readonly Lock _lock = new();
    private readonly HashSet<(string?, string)> _pinned = [];
    private readonly Dictionary<(string?, string), string> _deleted = [];
    private Dictionary<(string?, string), ApiObject> _objects = [];

    // What changed since the last Drain: the keys of objects added, replaced or removed, or (after a list) everything.
    private HashSet<(string?, string)> _journal = [];
    private bool _relisted = true;
    private string _resourceVersion = "";
    private DateTimeOffset? _downSince;
    private long _version;

    /// <summary>Raised (on the cache's task) after the content changed: a relist or an event.</summary>
    public event Action<ResourceType, ApiObject?>? Changed;

    /// <summary>Raised on every failure, with the exception (for logs: it never carries a request body).</summary>
    public event Action<ResourceType, Exception>? Failed;

    public ResourceType Type => type;

    /// <summary>Whether a list has completed once.</summary>
    public bool IsSynced { get; private set; }

    /// <summary>Counts relists (410, failed lists), for tests and metrics.</summary>
    public int Relists { get; private set; }

    /// <summary>Counts watches started after the first.</summary>
    public int WatchRestarts { get; private set; }

    /// <summary>Bumped on every change: lets a reader tell whether anything changed since it last looked.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Since when the cache has had no working connection, or <see langword="null"/> when it has one.</summary>
    public DateTimeOffset? DownSince
    {
        get
        {
            lock (_lock)
            {
                return _downSince;
            }
        }
    }

    /// <summary>The cached objects (a copy).</summary>
    public List<ApiObject> Items()
    {
        lock (_lock)
        {
            return [.. _objects.Values];
        }
    }

    /// <summary>
    /// What changed since the last call: after a list, every object (<see cref="CacheChanges.Relisted"/>); otherwise each
    /// object added, replaced or removed, once, as the cache holds it now (<see langword="null"/>: gone). Consistent: read
    /// under the lock that every change takes.
    /// </summary>
    public CacheChanges Drain()
    {
        lock (_lock)
        {
            if (_relisted)
            {
                _relisted = false;
                _journal.Clear();
                return new CacheChanges(true, [.. _objects.Select(o => (o.Key, (ApiObject?)o.Value))]);
            }

            if (_journal.Count == 0)
            {
                return CacheChanges.None;
            }

            var changed = new List<((string?, string) Key, ApiObject? Current)>(_journal.Count);
            foreach ((string?, string) key in _journal)
            {
                changed.Add((key, _objects.GetValueOrDefault(key)));
            }

            _journal = [];
            return new CacheChanges(false, changed);
        }
    }

    public ApiObject? Get(string? @namespace, string name)
    {
        lock (_lock)
        {
            return _objects.GetValueOrDefault((@namespace, name));
        }
    }

    /// <summary>
    /// Records what a write returned, so that the next plan sees it before the watch delivers it. An older version
    /// (when both versions are numbers, as etcd's are) never replaces a newer one.
    /// </summary>
    public void Observe(ApiObject written)
    {
        lock (_lock)
        {
            if ((_objects.TryGetValue(written.Key, out ApiObject? current) && IsOlder(written.ResourceVersion, current.ResourceVersion)) ||
                (_deleted.TryGetValue(written.Key, out string? deletedAt) && !IsOlder(deletedAt, written.ResourceVersion)))
            {
                // Older than what the cache holds, or than the delete it has seen: a write's answer that came in late.
                return;
            }

            _pinned.Add(written.Key);
            if (current is not null && written.ResourceVersion.Length > 0 && written.ResourceVersion == current.ResourceVersion)
            {
                return; // the watch brought this very version first: nothing changed
            }

            _objects[written.Key] = written;
            _journal.Add(written.Key);
            Interlocked.Increment(ref _version);
        }
    }

    /// <summary>Records a delete the controller made (or learnt of), at <paramref name="resourceVersion"/> when known.</summary>
    public void Forget(string? @namespace, string name, string? resourceVersion = null)
    {
        lock (_lock)
        {
            _pinned.Remove((@namespace, name));
            if (resourceVersion is { Length: > 0 })
            {
                _deleted[(@namespace, name)] = resourceVersion;
            }

            if (_objects.Remove((@namespace, name)))
            {
                _journal.Add((@namespace, name));
                Interlocked.Increment(ref _version);
            }
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        int failures = 0;
        bool mustList = true;
        bool firstWatch = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            TimeSpan? retryAfter = null;
            DateTimeOffset? watchStarted = null;
            try
            {
                if (mustList)
                {
                    await ListAsync(cancellationToken).ConfigureAwait(false);
                    mustList = false;
                }

                if (!firstWatch)
                {
                    WatchRestarts++;
                    metrics?.WatchRestarted(type.Plural);
                }

                firstWatch = false;
                DateTimeOffset started = options.Time.GetUtcNow();
                watchStarted = started;
                int events = await WatchAsync(cancellationToken).ConfigureAwait(false);
                if (events == 0 && options.Time.GetUtcNow() - started < options.ShortWatch)
                {
                    // A watch that ends at once with nothing (a proxy that closes every stream) would otherwise spin.
                    throw new KubeApiException(500, "ShortWatch", $"the {type.Plural} watch ended at once without an event");
                }

                failures = 0;
                continue;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (KubeApiException e) when (e.IsGone || e.FromWatchError)
            {
                // Too old a resourceVersion (compacted), or any ERROR event: only a new list can say what is there now.
                // A first relist goes at once; one that keeps failing backs off like any failure, and the cache is down meanwhile.
                Failed?.Invoke(type, e);
                mustList = true;
                Relists++;
                metrics?.Relisted(type.Plural);
                failures++;
                if (failures == 1)
                {
                    continue;
                }

                MarkDown();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Whatever the server sent, the cache must not die: anything unexpected is a failure like any other, and
                // the next attempt lists again, so nothing half-applied survives it.
                if (e is not (KubeApiException or HttpRequestException or IOException or OperationCanceledException))
                {
                    mustList = true;
                }

                retryAfter = (e as KubeApiException)?.RetryAfter;
                MarkDown();
                Failed?.Invoke(type, e);
                if (watchStarted is { } since && options.Time.GetUtcNow() - since > TimeSpan.FromSeconds(10))
                {
                    failures = 0; // it worked for a while: this is a new outage, not the next step of the last one
                }

                failures++;
            }

            try
            {
                TimeSpan delay = Backoff(failures);
                if (retryAfter is { } after && after > delay)
                {
                    // 429 on a list or watch: the server's Retry-After, bounded by the backoff's cap.
                    delay = after < options.MaxBackoff ? after : options.MaxBackoff;
                }

                await Task.Delay(delay, options.Time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>Capped exponential backoff with full jitter in its upper half: [d/2, d].</summary>
    internal TimeSpan Backoff(int failures)
    {
        double max = Math.Min(options.MaxBackoff.TotalMilliseconds, options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30)));
        return TimeSpan.FromMilliseconds(max / 2 + Random.Shared.NextDouble() * max / 2);
    }

    private async Task ListAsync(CancellationToken cancellationToken)
    {
        var objects = new Dictionary<(string?, string), ApiObject>();
        string? @continue = null;
        string resourceVersion = "";
        do
        {
            ListPage page;
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                deadline.CancelAfter(options.RequestTimeout);
                page = await api.ListAsync(type, null, @continue, options.PageSize, deadline.Token).ConfigureAwait(false);
            }

            if (@continue is null)
            {
                // Every page of a paged list is served from the first page's snapshot: its version is the list's.
                resourceVersion = page.ResourceVersion;
            }

            lock (_lock)
            {
                foreach (ApiObject item in page.Items)
                {
                    if (Keeps(item))
                    {
                        objects[item.Key] = item;
                    }
                }
            }

            @continue = page.Continue;
        }
        while (@continue is not null);

        lock (_lock)
        {
            _objects = objects;
            _relisted = true;
            _journal.Clear();
            _deleted.Clear();
            _resourceVersion = resourceVersion;
            _downSince = null;
            Interlocked.Increment(ref _version);
        }

        IsSynced = true;
        Changed?.Invoke(type, null);
    }

    /// <summary>One watch, from the last resourceVersion, until it ends; returns how many events it brought.</summary>
    private async Task<int> WatchAsync(CancellationToken cancellationToken)
    {
        int events = 0;
        string from;
        lock (_lock)
        {
            from = _resourceVersion;
        }

        TimeSpan timeout = options.WatchTimeout + TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * options.WatchTimeout.TotalMilliseconds);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout + options.WatchGrace);
        try
        {
            await foreach (WatchEvent e in api.WatchAsync(type, from, timeout, deadline.Token).ConfigureAwait(false))
            {
                events++;
                Apply(e);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The client-side deadline: the server never ended the watch. Resume from the last version, as after a normal end.
        }

        lock (_lock)
        {
            _downSince = null;
        }

        return events;
    }

    internal void Apply(WatchEvent e)
    {
        ApiObject? changed = null;
        lock (_lock)
        {
            _downSince = null;
            if (e.ResourceVersion.Length > 0)
            {
                _resourceVersion = e.ResourceVersion;
            }

            switch (e.Type)
            {
                case WatchEventType.Added or WatchEventType.Modified when e.Object is { } o && !Keeps(o):
                    // It left the policy's view (or never was in it): the plan must not see a stale copy of it.
                    if (_objects.Remove(o.Key))
                    {
                        changed = o;
                    }

                    break;
                case WatchEventType.Added or WatchEventType.Modified when e.Object is { } o:
                    // An older version never replaces a newer one; the same version is the same object (the echo of a
                    // write the cache has observed already): no change, no plan.
                    if (!(_objects.TryGetValue(o.Key, out ApiObject? current) &&
                          (IsOlder(o.ResourceVersion, current.ResourceVersion) || (o.ResourceVersion.Length > 0 && o.ResourceVersion == current.ResourceVersion))))
                    {
                        _objects[o.Key] = o;
                        changed = o;
                    }

                    break;
                case WatchEventType.Deleted when e.Object is { } o:
                    _pinned.Remove(o.Key);
                    _deleted[o.Key] = o.ResourceVersion;
                    if (_objects.Remove(o.Key))
                    {
                        changed = o;
                    }

                    break;
            }

            if (changed is not null)
            {
                _journal.Add(changed.Key);
                Interlocked.Increment(ref _version);
            }
        }

        metrics?.EventReceived(type.Plural, e.Type);
        if (changed is not null)
        {
            Changed?.Invoke(type, changed);
        }
    }

    /// <summary>Whether the filter keeps the object, or the controller pinned it. Called under the lock.</summary>
    private bool Keeps(ApiObject item) =>
        keep is null || item.Decoded is not SecretObject s || _pinned.Contains(item.Key) || keep(s.Namespace!, s.Name, s.Metadata.Labels);

    private void MarkDown()
    {
        lock (_lock)
        {
            _downSince ??= options.Time.GetUtcNow();
        }
    }

    private static bool IsOlder(string candidate, string current) =>
        ulong.TryParse(candidate, NumberStyles.None, CultureInfo.InvariantCulture, out ulong a) &&
        ulong.TryParse(current, NumberStyles.None, CultureInfo.InvariantCulture, out ulong b) && a < b;
}

/// <summary>What changed in a cache since the last <see cref="ObjectCache.Drain"/>.</summary>
/// <param name="Relisted">Whether the cache listed again (or for the first time): <paramref name="Changed"/> is then everything it holds.</param>
/// <param name="Changed">Each key changed, with the object as the cache holds it now (<see langword="null"/>: gone).</param>
internal sealed record CacheChanges(bool Relisted, List<((string? Namespace, string Name) Key, ApiObject? Current)> Changed)
{
    public static readonly CacheChanges None = new(false, []);
}
