using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using k8s.LeaderElection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Primitives;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Kubernetes.Controller;

/// <summary>
/// The propagation controller: caches Namespaces, Secrets and ServiceAccounts by list and watch, keeps a
/// <see cref="ClusterSnapshot"/> current with each burst of events (<see cref="ClusterSnapshot.With"/>), plans the
/// namespaces those events affect (every namespace after a relist, at every resync, and when a base changes), and applies
/// the policy's <see cref="PropagationPlan"/>:
/// creates, merge-patch updates that carry the resourceVersion read, deletes with uid and resourceVersion preconditions,
/// ServiceAccount JSON patches guarded by a <c>test</c> of the resourceVersion. A 409 re-reads the object and plans
/// again; it never overwrites blindly. Writes go through a global token bucket, a per-object interval and backoff, a
/// 429 pause that honours Retry-After, and a runaway guard on creates per minute. It never writes a shielded Secret, a
/// base namespace's Secrets (other than the base's finalizer), a terminating namespace, or anything of a rule marked
/// <c>manual</c>. Logs name objects and actions, never data.
/// Thread-safe: <see cref="RunAsync"/> once; <see cref="Status"/> from any thread.
/// </summary>
public sealed class PropagationController : IDisposable
{
    private readonly CompiledPolicy _policy;
    private readonly KubernetesConnection _connection;
    private readonly PropagationControllerOptions _options;
    private readonly ILogger _logger;
    private readonly ControllerMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly Dictionary<string, ObjectState> _objects = new(StringComparer.Ordinal);
    private readonly Queue<DateTimeOffset> _creates = new();
    private readonly HashSet<string> _manualRules;
    private readonly HashSet<string> _baseNamespaces;
    // The cluster as the last plan saw it: the snapshot (kept current per event by ClusterSnapshot.With) and, beside it,
    // the version of every object it was made from, which each write is conditional on.
    private readonly Dictionary<(string Kind, string? Namespace, string Name), ApiObject> _planned = [];
    private ClusterSnapshot? _snapshot;

    // Namespaces whose last plan left work not known to be done (deferred, failed, re-read): planned again next time.
    private readonly HashSet<string> _pending = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _dryRunLogged = new(StringComparer.Ordinal);
    private CancellationTokenSource _leadership = new();
    private readonly Dictionary<string, PropagationRule> _rules;
    private ObjectCache? _namespaces, _secrets, _accounts;
    private LeaderElector? _elector;
    private volatile bool _leading;
    private double _tokens;
    private DateTimeOffset _tokensAt;
    private DateTimeOffset _pausedUntil;
    private DateTimeOffset? _lastSync;
    private DateTimeOffset _startedAt;
    private DateTimeOffset? _nextWake;
    private DateTimeOffset _guardLoggedAt;
    // Up to this many changes a round updates its snapshot in place (ClusterSnapshot.With's overlay path); beyond it With
    // would rebuild anyway, and a rebuild from the caches needs no old snapshot alongside.
    private const int MaxChangesPerUpdate = 64;

    private long _reconciles, _writes, _conflicts, _throttled, _fullPlans;
    private int _lastPlanned = -1;
    private volatile bool _runaway;
    private volatile string? _lastError;

    /// <summary>Creates a controller; nothing runs until <see cref="RunAsync"/>.</summary>
    /// <param name="policy">The policy whose <c>propagation</c> and <c>serviceAccountLinks</c> rules it applies.</param>
    /// <param name="connection">The API server.</param>
    /// <param name="options">Options; <see langword="null"/> for the defaults.</param>
    /// <param name="logger">Where actions and failures are logged; never with Secret data.</param>
    /// <param name="meterFactory">Where the instruments are created (meter <c>RegistryPolicy.Controller</c>); <see langword="null"/> for a shared meter.</param>
    /// <exception cref="ArgumentException">An option is out of range (the message lists every problem).</exception>
    public PropagationController(CompiledPolicy policy, KubernetesConnection connection, PropagationControllerOptions? options = null, ILogger? logger = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(connection);
        _policy = policy;
        _connection = connection;
        _options = options ?? PropagationControllerOptions.Default;
        if (_options.Validate() is { Count: > 0 } problems)
        {
            throw new ArgumentException(string.Join("; ", problems), nameof(options));
        }

        _logger = logger ?? NullLogger.Instance;
        _metrics = new ControllerMetrics(meterFactory);
        _time = _options.Time;
        _tokens = _options.WriteBurst;
        _manualRules = new HashSet<string>(policy.Document.Spec.Propagation.Where(r => r.Manual).Select(r => r.Name)
            .Concat(policy.Document.Spec.ServiceAccountLinks.Where(r => r.Manual).Select(r => r.Name)), StringComparer.Ordinal);
        _rules = policy.Document.Spec.Propagation.ToDictionary(r => r.Name, StringComparer.Ordinal);
        _baseNamespaces = new HashSet<string>(policy.Document.Spec.Propagation.Select(r => r.Base.Namespace), StringComparer.Ordinal);
        _leading = _options.LeaderElection is null;
    }

    /// <summary>The meter's name, for <c>AddMeter</c> in OpenTelemetry.</summary>
    public const string MeterName = ControllerMetrics.MeterName;

    /// <summary>What the controller is doing now.</summary>
    public ControllerStatus Status
    {
        get
        {
            ObjectCache?[] caches = [_namespaces, _secrets, _accounts];
            bool synced = caches.All(c => c?.IsSynced == true);
            DateTimeOffset? down = caches.Select(c => c?.DownSince).Where(d => d is not null).DefaultIfEmpty(null).Min();
            return new ControllerStatus(synced, _leading, down, _lastSync, Interlocked.Read(ref _reconciles), Interlocked.Read(ref _writes),
                Interlocked.Read(ref _conflicts), _runaway, _lastError) { Throttled = Interlocked.Read(ref _throttled) };
        }
    }

    /// <summary>Whether a liveness probe should pass now (see <see cref="ControllerStatus.IsHealthy"/>).</summary>
    /// <returns>False when a watch has been down, or the first list unfinished, longer than <see cref="PropagationControllerOptions.UnhealthyAfter"/>.</returns>
    public bool IsHealthy() => Status.IsHealthy(_time.GetUtcNow(), _startedAt == default ? _time.GetUtcNow() : _startedAt, _options.UnhealthyAfter);

    /// <summary>The cluster as the caches hold it now (for tests and diagnostics).</summary>
    /// <returns>A snapshot; empty before the first lists.</returns>
    public ClusterSnapshot CurrentSnapshot() => ClusterSnapshot.Create(Cached());

    /// <summary>How many rounds planned every namespace (the first, relists, resyncs, base changes, failed rounds): for tests.</summary>
    internal long FullPlans => Interlocked.Read(ref _fullPlans);

    /// <summary>How many namespaces the last round planned, or -1 when it planned every namespace: for tests.</summary>
    internal int LastPlanned => Volatile.Read(ref _lastPlanned);

    /// <summary>The snapshot the last round planned with (kept current per event): for tests.</summary>
    internal ClusterSnapshot? PlannedSnapshot => Volatile.Read(ref _snapshot);

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled: caches, leader election and reconciliation.</summary>
    /// <param name="cancellationToken">Stops the controller; in-flight writes are abandoned (each is idempotent or guarded).</param>
    /// <returns>A task that ends when the controller has stopped.</returns>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _startedAt = _time.GetUtcNow();
        _tokensAt = _startedAt;
        using HttpClient http = _connection.CreateHttpClient();
        KubeApi api = _connection.CreateApi(http);
        var cacheOptions = new CacheOptions { PageSize = _options.PageSize, WatchTimeout = _options.WatchTimeout, MaxBackoff = _options.MaxWatchBackoff, Time = _time };
        _namespaces = new ObjectCache(api, ResourceType.Namespaces, cacheOptions, _metrics);
        // Only the Secrets the policy can match are kept (see ObjectCache); everything it writes is kept too.
        _secrets = new ObjectCache(api, ResourceType.Secrets, cacheOptions, _metrics, _policy.SecretFilter);
        _accounts = new ObjectCache(api, ResourceType.ServiceAccounts, cacheOptions, _metrics);
        foreach (ObjectCache cache in new[] { _namespaces, _secrets, _accounts })
        {
            cache.Changed += (_, _) => Signal();
            cache.Failed += (type, e) =>
            {
                _lastError = $"{type.Plural}: {e.Message}";
                ControllerLog.WatchFailed(_logger, type.Plural, e.Message);
            };
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = new List<Task> { Run(_namespaces.RunAsync, stop.Token), Run(_secrets.RunAsync, stop.Token), Run(_accounts.RunAsync, stop.Token) };
        if (_options.LeaderElection is { } election)
        {
            var config = new LeaderElectionConfig(new LeaseLock(api, election.Namespace, election.LeaseName, election.Identity, election.RenewDeadline))
            {
                LeaseDuration = election.LeaseDuration,
                RenewDeadline = election.RenewDeadline,
                RetryPeriod = election.RetryPeriod,
            };
            _elector = new LeaderElector(config);
            _elector.OnStartedLeading += () =>
            {
                CancellationTokenSource previous = Interlocked.Exchange(ref _leadership, new CancellationTokenSource());
                previous.Dispose();
                _leading = true;
                ControllerLog.Leading(_logger, $"{election.Namespace}/{election.LeaseName}");
                Signal();
            };
            _elector.OnStoppedLeading += () =>
            {
                _leading = false;
                // Writes in flight are abandoned: none may land after another replica can have taken the lease.
                _leadership.Cancel();
                ControllerLog.StoppedLeading(_logger, $"{election.Namespace}/{election.LeaseName}");
            };
            tasks.Add(Run(token => ElectAsync(_elector, election, token), stop.Token));
        }

        tasks.Add(Run(ReconcileLoopAsync, stop.Token));
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        finally
        {
            stop.Cancel();
            _leading = _options.LeaderElection is null;
            _elector?.Dispose();
        }
    }

    /// <summary>Runs the elector for ever: if it fails (the library lets a network error out of its acquire loop), it starts again.</summary>
    private async Task ElectAsync(LeaderElector elector, LeaderElectionOptions election, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await elector.RunAndTryToHoldLeadershipForeverAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                _leading = false;
                _leadership.Cancel();
                _lastError = "leader election: " + e.Message;
                ControllerLog.ReconcileFailed(_logger, "leader election: " + e.Message);
                await Task.Delay(election.RetryPeriod, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task Run(Func<CancellationToken, Task> body, CancellationToken cancellationToken)
    {
        try
        {
            await body(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private void Signal()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // A signal is pending already: one plan covers every event before it.
        }
    }

    private bool CanWrite => _leading && (_elector is null || _elector.IsLeader());

    private async Task ReconcileLoopAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset nextResync = _time.GetUtcNow() + _options.Resync;
        bool resync = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            DateTimeOffset now = _time.GetUtcNow();
            DateTimeOffset wake = _nextWake is { } w && w < nextResync ? w : nextResync;
            TimeSpan wait = wake > now ? wake - now : TimeSpan.Zero;
            wait = wait > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : wait;
            await _signal.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            if (_time.GetUtcNow() >= nextResync)
            {
                // The periodic resync: the snapshot is built again from the caches and every namespace planned.
                nextResync = _time.GetUtcNow() + _options.Resync;
                resync = true;
            }

            if (!(_namespaces!.IsSynced && _secrets!.IsSynced && _accounts!.IsSynced))
            {
                continue;
            }

            if (_options.Debounce > TimeSpan.Zero)
            {
                await Task.Delay(_options.Debounce, _time, cancellationToken).ConfigureAwait(false);
            }

            _nextWake = null;
            try
            {
                await ReconcileAsync(resync, cancellationToken).ConfigureAwait(false);
                resync = false;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // A plan or a write failed in a way not handled below: log it, retry after a second with a snapshot built
                // again from the caches (the changes drained for this round are in them), keep running.
                _snapshot = null;
                _lastError = e.Message;
                ControllerLog.ReconcileFailed(_logger, e.Message);
                Later(_time.GetUtcNow() + TimeSpan.FromSeconds(1));
            }
        }
    }

    private IEnumerable<KubeObject> Cached() =>
        new[] { _namespaces, _secrets, _accounts }.Where(c => c is not null).SelectMany(c => c!.Items()).Select(o => o.Decoded).OfType<KubeObject>();

    /// <summary>
    /// Brings the snapshot up to date with what the caches changed since the last round, and plans: only the namespaces
    /// those changes affect (<see cref="PolicyEngine.AffectedNamespaces"/>) and those with work left from before, or every
    /// namespace after a relist, a resync or a change to a base. The scoped plan equals the full plan there (a property of
    /// the core), so nothing else can have changed.
    /// </summary>
    internal async Task ReconcileAsync(bool full, CancellationToken cancellationToken)
    {
        (ObjectCache Cache, CacheChanges Changes)[] drained = [(_namespaces!, _namespaces!.Drain()), (_secrets!, _secrets!.Drain()), (_accounts!, _accounts!.Drain())];
        HashSet<string>? scope = new(_pending, StringComparer.Ordinal);
        bool rebuild = full || _snapshot is null || drained.Any(d => d.Changes.Relisted);
        if (!rebuild)
        {
            // The namespaces the changes affect; a base (or what decides one) affects every namespace.
            foreach ((ObjectCache cache, CacheChanges changes) in drained)
            {
                foreach ((var (ns, name), _) in changes.Changed)
                {
                    if (scope is not null && PolicyEngine.AffectedNamespaces(_policy, new ObjectReference(cache.Type.Kind, ns, name)) is { } affected)
                    {
                        scope.UnionWith(affected);
                    }
                    else
                    {
                        scope = null;
                    }
                }
            }
        }
        else
        {
            scope = null;
        }

        if (rebuild || drained.Sum(d => d.Changes.Changed.Count) > MaxChangesPerUpdate)
        {
            // Built again from the caches as they are now (and without the old snapshot alongside); each write is
            // conditional on the version the plan saw, so a change made since is answered with 409 and planned again,
            // never overwritten. A change the caches took after the drain is in this snapshot already and in the next
            // drain, whose namespaces are planned then.
            _snapshot = null;
            _planned.Clear();
            var objects = new List<KubeObject>();
            foreach ((ObjectCache cache, _) in drained)
            {
                foreach (ApiObject item in cache.Items())
                {
                    _planned[(cache.Type.Kind, item.Namespace, item.Name)] = item;
                    if (item.Decoded is { } decoded)
                    {
                        objects.Add(decoded);
                    }
                }
            }

            _snapshot = ClusterSnapshot.Create(objects);
        }
        else
        {
            var upserts = new List<KubeObject>();
            var deletes = new List<ObjectReference>();
            foreach ((ObjectCache cache, CacheChanges changes) in drained)
            {
                foreach (((string? ns, string name), ApiObject? current) in changes.Changed)
                {
                    if (current is null)
                    {
                        _planned.Remove((cache.Type.Kind, ns, name));
                    }
                    else
                    {
                        _planned[(cache.Type.Kind, ns, name)] = current;
                    }

                    if (current?.Decoded is { } decoded)
                    {
                        upserts.Add(decoded);
                    }
                    else
                    {
                        deletes.Add(new ObjectReference(cache.Type.Kind, ns, name)); // gone, or no longer readable: out of the snapshot either way
                    }
                }
            }

            if (upserts.Count + deletes.Count > 0)
            {
                _snapshot = _snapshot!.With(upserts, deletes);
            }
        }

        _pending.Clear();
        ClusterSnapshot snapshot = _snapshot!;
        PropagationPlan plan = scope is null ? PolicyEngine.Plan(_policy, snapshot) : PolicyEngine.Plan(_policy, snapshot, scope);
        Volatile.Write(ref _lastPlanned, scope?.Count ?? -1);
        if (scope is null)
        {
            Interlocked.Increment(ref _fullPlans);
        }

        Interlocked.Increment(ref _reconciles);
        _metrics.Reconciled();
        var work = plan.Actions.Where(a => !_manualRules.Contains(a.Rule)).Select(a => (Action: (PlanAction?)a, Patch: (ServiceAccountPatch?)null))
            .Concat(plan.ServiceAccountPatches.Where(p => p.Rule is null || !p.Rule.Split(',').Any(r => _manualRules.Contains(r.Trim()))).Select(p => ((PlanAction?)null, (ServiceAccountPatch?)p)))
            .ToList();
        _metrics.QueueDepth(work.Count);
        if (_options.DryRun)
        {
            LogDryRun(work, scope);
        }

        if (work.Count == 0)
        {
            _lastSync = _time.GetUtcNow();
            _metrics.Synced(_lastSync.Value);
            _runaway = false;
            return;
        }

        if (_options.DryRun)
        {
            return;
        }

        if (!CanWrite)
        {
            // Not the leader: when it becomes one, it plans these again.
            _pending.UnionWith(work.Select(w => Namespace(w)));
            return;
        }

        bool progressed = false;
        int left = work.Count;
        foreach (var (action, patch) in work)
        {
            // Every namespace whose work is not known to be done is planned again next round (a refusal waits for a change).
            string ns = Namespace((action, patch));
            if (cancellationToken.IsCancellationRequested || !CanWrite)
            {
                _pending.UnionWith(work.Select(w => Namespace(w)));
                cancellationToken.ThrowIfCancellationRequested();
                return;
            }

            _pending.Add(ns);
            Outcome outcome = action is not null
                ? await ApplyAsync(action, cancellationToken).ConfigureAwait(false)
                : await PatchAsync(patch!, cancellationToken).ConfigureAwait(false);
            if (outcome == Outcome.Skipped)
            {
                _pending.Remove(ns);
            }

            _metrics.QueueDepth(--left);
            progressed |= outcome == Outcome.Applied || outcome == Outcome.Reread;
        }

        if (progressed)
        {
            // Plan again against what the writes returned: an empty plan is the fixpoint.
            Signal();
        }
    }

    private static string Namespace((PlanAction? Action, ServiceAccountPatch? Patch) work) => work.Action?.Secret.Namespace ?? work.Patch!.ServiceAccount.Namespace!;

    /// <summary>Logs, per namespace, the actions a dry run would take, when they differ from what it logged last for that namespace.</summary>
    private void LogDryRun(List<(PlanAction? Action, ServiceAccountPatch? Patch)> work, HashSet<string>? scope)
    {
        var byNamespace = work.GroupBy(Namespace, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        foreach (string ns in scope is null ? [.. _dryRunLogged.Keys] : scope)
        {
            if (!byNamespace.ContainsKey(ns))
            {
                _dryRunLogged.Remove(ns);
            }
        }

        foreach (var (ns, items) in byNamespace)
        {
            string text = string.Join("\n", items.Select(w => w.Action?.ToString() ?? w.Patch!.ToString()));
            if (_dryRunLogged.GetValueOrDefault(ns) == text)
            {
                continue;
            }

            _dryRunLogged[ns] = text;
            foreach (var (action, patch) in items)
            {
                _metrics.Action(action is null ? "patch" : Kind(action.Operation), "dry-run");
                ControllerLog.DryRun(_logger, action?.ToString() ?? patch!.ToString());
            }
        }
    }

    private enum Outcome
    {
        Applied,
        Reread,
        Skipped,
        Deferred,
        Failed,
    }

    private static string Kind(PlanOperation operation) => operation.ToString().ToLowerInvariant();

    private async Task<Outcome> ApplyAsync(PlanAction action, CancellationToken cancellationToken)
    {
        string kind = Kind(action.Operation);
        string ns = action.Secret.Namespace;
        string key = $"Secret/{ns}/{action.Secret.Name}";
        ApiObject? planned = _planned.GetValueOrDefault(("Secret", ns, action.Secret.Name));
        ApiObject? current = _secrets!.Get(ns, action.Secret.Name);
        if (current is { Decoded: null })
        {
            Skip(kind, key, "the Secret in the cluster cannot be read as a Secret (the snapshot reader refuses it); fix or delete it by hand");
            return Outcome.Skipped;
        }

        var existing = planned?.Decoded as SecretObject;
        if (Refusal(action, existing, current?.Decoded as SecretObject) is { } refusal)
        {
            Skip(kind, key, refusal);
            return Outcome.Skipped;
        }

        // The cache moved since the plan (the object appeared, went or changed): plan again rather than act on old news.
        bool stale = action.Operation == PlanOperation.Create ? current is not null : planned is null || current is null;
        if (stale)
        {
            return Outcome.Reread;
        }

        if (!await ReadyToWriteAsync(key, action.Operation == PlanOperation.Create, cancellationToken).ConfigureAwait(false))
        {
            _metrics.Action(kind, "throttled");
            Interlocked.Increment(ref _throttled);
            return Outcome.Deferred;
        }

        if (!CanWrite)
        {
            return Outcome.Deferred;
        }

        try
        {
            using var timeout = WriteDeadline(cancellationToken);
            KubeApi api = Api;
            switch (action.Operation)
            {
                case PlanOperation.Create:
                    _creates.Enqueue(_time.GetUtcNow()); // attempts count: a create that keeps failing cannot escape the guard
                    _secrets.Observe(await api.CreateAsync(ResourceType.Secrets, ns, Manifest(action.Desired!), timeout.Token).ConfigureAwait(false));
                    break;
                case PlanOperation.Update:
                    _secrets.Observe(await api.PatchAsync(ResourceType.Secrets, ns, action.Secret.Name, "application/merge-patch+json",
                        MergePatch(existing!, action.Desired!, planned!.ResourceVersion), timeout.Token).ConfigureAwait(false));
                    break;
                case PlanOperation.Delete:
                    await api.DeleteAsync(ResourceType.Secrets, ns, action.Secret.Name, planned!.Uid, planned.ResourceVersion, timeout.Token).ConfigureAwait(false);
                    _secrets.Forget(ns, action.Secret.Name, planned.ResourceVersion);
                    break;
            }

            Succeeded(key, kind);
            ControllerLog.Applied(_logger, action.ToString());
            return Outcome.Applied;
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or System.Text.Json.JsonException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return await FailedAsync(e, key, kind, ResourceType.Secrets, _secrets, ns, action.Secret.Name, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A write's deadline: the request timeout, cancelled too when leadership is lost; with leader election, never longer
    /// than the lease's margin over the renew deadline, so that no write lands after another replica can lead.
    /// </summary>
    private CancellationTokenSource WriteDeadline(CancellationToken cancellationToken)
    {
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _leadership.Token);
        TimeSpan limit = _options.RequestTimeout;
        if (_options.LeaderElection is { } election && election.LeaseDuration - election.RenewDeadline is { } margin && margin > TimeSpan.Zero && margin < limit)
        {
            limit = margin;
        }

        timeout.CancelAfter(limit);
        return timeout;
    }

    private async Task<Outcome> PatchAsync(ServiceAccountPatch patch, CancellationToken cancellationToken)
    {
        string ns = patch.ServiceAccount.Namespace!;
        string name = patch.ServiceAccount.Name;
        string key = $"ServiceAccount/{ns}/{name}";
        ApiObject? planned = _planned.GetValueOrDefault(("ServiceAccount", ns, name));
        ApiObject? current = _accounts!.Get(ns, name);
        if (planned is null || current is null)
        {
            return Outcome.Reread;
        }

        if (_baseNamespaces.Contains(ns))
        {
            Skip("patch", key, $"it is in the base namespace {ns}, whose objects the controller never writes");
            return Outcome.Skipped;
        }

        if (NamespaceRefusal(ns) is { } refusal)
        {
            Skip("patch", key, refusal);
            return Outcome.Skipped;
        }

        if (!await ReadyToWriteAsync(key, false, cancellationToken).ConfigureAwait(false))
        {
            _metrics.Action("patch", "throttled");
            Interlocked.Increment(ref _throttled);
            return Outcome.Deferred;
        }

        if (!CanWrite)
        {
            return Outcome.Deferred;
        }

        try
        {
            using var timeout = WriteDeadline(cancellationToken);
            // The test makes the patch apply only to the ServiceAccount the plan was made from: an edit since fails it (422).
            var operations = new List<JsonPatchOperation> { new("test", "/metadata/resourceVersion", JsonPatch.JsonString(planned.ResourceVersion)) };
            operations.AddRange(patch.Patch);
            _accounts.Observe(await Api.PatchAsync(ResourceType.ServiceAccounts, ns, name, "application/json-patch+json",
                Encoding.UTF8.GetBytes(JsonPatch.ToJson(operations)), timeout.Token).ConfigureAwait(false));
            Succeeded(key, "patch");
            ControllerLog.Applied(_logger, patch.ToString());
            return Outcome.Applied;
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or System.Text.Json.JsonException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return await FailedAsync(e, key, "patch", ResourceType.ServiceAccounts, _accounts, ns, name, cancellationToken).ConfigureAwait(false);
        }
    }

    private KubeApi Api => _api ??= _connection.CreateApi(_writeClient ??= _connection.CreateHttpClient());

    private KubeApi? _api;
    private HttpClient? _writeClient;

    /// <summary>
    /// Why this action must not be taken, checked against the object the plan saw and the cache as it is now;
    /// <see langword="null"/> when it may.
    /// </summary>
    private string? Refusal(PlanAction action, SecretObject? planned, SecretObject? current)
    {
        if (!_rules.TryGetValue(action.Rule, out PropagationRule? rule))
        {
            return $"no rule '{action.Rule}'";
        }

        foreach (SecretObject? seen in new[] { planned, current })
        {
            if (seen is not null && rule.Shield is { } shield && shield.Matches(seen.Metadata.Labels))
            {
                return "the Secret is shielded (" + string.Join(",", shield.MatchLabels.Select(l => $"{l.Key}={l.Value}")) + "): it is the user's";
            }
        }

        // In a base namespace (of any rule) only a base's own finalizer may change: nothing is created, deleted or
        // overwritten there, and that one change is allowed even while the namespace terminates (or it never could).
        string ns = action.Secret.Namespace;
        bool finalizerOnly = action.Operation == PlanOperation.Update && planned is not null && action.Desired is { } desired &&
            desired.Data.Equals(planned.Data) && desired.Type == planned.Type && desired.Metadata.Labels.Equals(planned.Metadata.Labels) &&
            desired.Metadata.Annotations.Equals(planned.Metadata.Annotations);
        if (_baseNamespaces.Contains(ns))
        {
            if (!(finalizerOnly && ns == rule.Base.Namespace))
            {
                return $"it is in the base namespace {ns}, whose Secrets the controller never writes (only a base's finalizer)";
            }

            return _namespaces!.Get(null, ns) is null ? $"the namespace {ns} is not in the cache (deleted, or not yet seen)" : null;
        }

        return NamespaceRefusal(ns);
    }

    private string? NamespaceRefusal(string ns) => _namespaces!.Get(null, ns)?.Decoded switch
    {
        null => $"the namespace {ns} is not in the cache (deleted, or not yet seen)",
        NamespaceObject { IsTerminating: true } => $"the namespace {ns} is terminating",
        _ => null,
    };

    private void Skip(string kind, string key, string why)
    {
        _metrics.Action(kind, "skipped");
        ControllerLog.Skipped(_logger, kind, key, why);
    }

    /// <summary>
    /// Waits for the global bucket and checks the per-object interval, the 429 pause and the runaway guard. False when
    /// the write must wait for a later round (a wake-up is scheduled).
    /// </summary>
    private async Task<bool> ReadyToWriteAsync(string key, bool create, CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        if (now < _pausedUntil)
        {
            Later(_pausedUntil);
            return false;
        }

        if (_objects.TryGetValue(key, out ObjectState? state) && now < state.NotBefore)
        {
            Later(state.NotBefore);
            return false;
        }

        if (create)
        {
            while (_creates.Count > 0 && now - _creates.Peek() >= TimeSpan.FromMinutes(1))
            {
                _creates.Dequeue();
            }

            if (_creates.Count >= _options.MaxCreatesPerMinute)
            {
                _runaway = true;
                _metrics.RunawayGuard();
                if (now - _guardLoggedAt >= TimeSpan.FromMinutes(1))
                {
                    _guardLoggedAt = now;
                    ControllerLog.RunawayGuard(_logger, _options.MaxCreatesPerMinute);
                }

                Later(_creates.Peek() + TimeSpan.FromMinutes(1));
                return false;
            }
        }

        // The global token bucket.
        while (true)
        {
            now = _time.GetUtcNow();
            _tokens = Math.Min(_options.WriteBurst, _tokens + (now - _tokensAt).TotalSeconds * _options.WritesPerSecond);
            _tokensAt = now;
            if (_tokens >= 1)
            {
                _tokens -= 1;
                return true;
            }

            await Task.Delay(TimeSpan.FromSeconds((1 - _tokens) / _options.WritesPerSecond), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Succeeded(string key, string kind)
    {
        Interlocked.Increment(ref _writes);
        _metrics.Action(kind, "applied");
        _objects[key] = new ObjectState(_time.GetUtcNow() + _options.PerObjectInterval, 0);
    }

    private async Task<Outcome> FailedAsync(Exception e, string key, string kind, ResourceType type, ObjectCache cache, string ns, string name, CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        _lastError = $"{kind} {key}: {e.Message}";
        switch (e)
        {
            case KubeApiException { StatusCode: 409 or 422 } when e is KubeApiException { StatusCode: 409 } || type == ResourceType.ServiceAccounts:
                // Changed since it was read (or, for a guarded patch, its test failed): read it again and plan again.
                Interlocked.Increment(ref _conflicts);
                _metrics.Conflict(kind);
                _metrics.Action(kind, "conflict");
                ControllerLog.Conflict(_logger, kind, key);
                Backoff(key, now, minimum: TimeSpan.Zero);
                await RereadAsync(type, cache, ns, name, cancellationToken).ConfigureAwait(false);
                return Outcome.Reread;
            case KubeApiException { StatusCode: 404 }:
                cache.Forget(ns, name);
                await RereadAsync(type, cache, ns, name, cancellationToken).ConfigureAwait(false);
                return Outcome.Reread;
            case KubeApiException { StatusCode: 429 } throttled:
                TimeSpan pause = throttled.RetryAfter is { } after && after > TimeSpan.Zero ? (after > TimeSpan.FromMinutes(5) ? TimeSpan.FromMinutes(5) : after) : TimeSpan.FromSeconds(1);
                _pausedUntil = now + pause;
                Later(_pausedUntil);
                _metrics.Action(kind, "throttled");
                Interlocked.Increment(ref _throttled);
                ControllerLog.Throttled(_logger, pause.TotalSeconds);
                return Outcome.Deferred;
            default:
                TimeSpan delay = Backoff(key, now, minimum: TimeSpan.Zero);
                _metrics.Action(kind, "failed");
                ControllerLog.WriteFailed(_logger, kind, key, e.Message, (long)delay.TotalMilliseconds);
                return Outcome.Failed;
        }
    }

    /// <summary>The object's next write waits 100 ms, doubling with each failure in a row, up to the cap.</summary>
    private TimeSpan Backoff(string key, DateTimeOffset now, TimeSpan minimum)
    {
        int failures = (_objects.TryGetValue(key, out ObjectState? state) ? state.Failures : 0) + 1;
        double ms = Math.Max(minimum.TotalMilliseconds, Math.Min(_options.MaxObjectBackoff.TotalMilliseconds, 100 * Math.Pow(2, Math.Min(failures - 1, 30))));
        DateTimeOffset notBefore = now + TimeSpan.FromMilliseconds(ms);
        _objects[key] = new ObjectState(notBefore, failures);
        Later(notBefore);
        return TimeSpan.FromMilliseconds(ms);
    }

    private async Task RereadAsync(ResourceType type, ObjectCache cache, string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.RequestTimeout);
            cache.Observe(await Api.GetAsync(type, ns, name, timeout.Token).ConfigureAwait(false));
        }
        catch (KubeApiException e) when (e.IsNotFound)
        {
            cache.Forget(ns, name);
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or System.Text.Json.JsonException ||
                                  (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // The watch brings it: plan again when it does.
            Later(_time.GetUtcNow() + TimeSpan.FromSeconds(1));
        }
    }

    private void Later(DateTimeOffset at)
    {
        if (_nextWake is not { } w || at < w)
        {
            _nextWake = at;
        }
    }

    private static byte[] Manifest(SecretObject secret) =>
        Encoding.UTF8.GetBytes(secret.ToManifest(new ManifestOptions { RevealSecrets = true }).ToJsonString());

    /// <summary>
    /// A JSON merge patch (RFC 7386) from <paramref name="existing"/> to <paramref name="desired"/>: changed keys, null for
    /// removed ones, the whole finalizer list when it differs, and the resourceVersion read, which makes the API server
    /// refuse it with 409 if the Secret changed since. Fields the snapshot does not model are left as they are.
    /// </summary>
    internal static byte[] MergePatch(SecretObject existing, SecretObject desired, string resourceVersion)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("metadata");
            writer.WriteString("resourceVersion", resourceVersion);
            Map(writer, "labels", existing.Metadata.Labels, desired.Metadata.Labels);
            Map(writer, "annotations", existing.Metadata.Annotations, desired.Metadata.Annotations);
            if (!existing.Metadata.Finalizers.SequenceEqual(desired.Metadata.Finalizers))
            {
                writer.WriteStartArray("finalizers");
                foreach (string f in desired.Metadata.Finalizers)
                {
                    writer.WriteStringValue(f);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
            if (existing.Type != desired.Type)
            {
                writer.WriteString("type", desired.Type);
            }

            if (!existing.Data.Equals(desired.Data))
            {
                writer.WriteStartObject("data");
                foreach (var (k, value) in desired.Data.RevealEntries())
                {
                    if (!existing.Data.TryGetBytes(k, out ReadOnlyMemory<byte> old) || !old.Span.SequenceEqual(value.Span))
                    {
                        writer.WriteBase64String(k, value.Span);
                    }
                }

                foreach (string k in existing.Data.Keys.Where(k => !desired.Data.ContainsKey(k)))
                {
                    writer.WriteNull(k);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void Map(Utf8JsonWriter writer, string name, StringMap existing, StringMap desired)
    {
        if (existing.Equals(desired))
        {
            return;
        }

        writer.WriteStartObject(name);
        foreach (var (k, v) in desired)
        {
            if (existing.GetValueOrDefault(k) != v)
            {
                writer.WriteString(k, v);
            }
        }

        foreach (string k in existing.Keys.Where(k => !desired.ContainsKey(k)))
        {
            writer.WriteNull(k);
        }

        writer.WriteEndObject();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _metrics.Dispose();
        _signal.Dispose();
        _writeClient?.Dispose();
        _elector?.Dispose();
        _leadership.Dispose();
    }

    private sealed record ObjectState(DateTimeOffset NotBefore, int Failures);
}
