using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RegistryPolicy.Kubernetes.Controller;

/// <summary>
/// The controller's instruments (System.Diagnostics.Metrics, meter <see cref="MeterName"/>): watch events, reconciles,
/// actions by kind and outcome, conflicts, watch restarts and relists, queue depth, and the time of the last sync that
/// left nothing to do. Tags never carry object names or credentials, so cardinality stays bounded.
/// Thread-safe.
/// </summary>
internal sealed class ControllerMetrics : IDisposable
{
    /// <summary>The meter's name, for OpenTelemetry's <c>AddMeter</c>.</summary>
    public const string MeterName = "RegistryPolicy.Controller";

    private readonly Meter _meter;
    private readonly Counter<long> _events;
    private readonly Counter<long> _reconciles;
    private readonly Counter<long> _actions;
    private readonly Counter<long> _conflicts;
    private readonly Counter<long> _watchRestarts;
    private readonly Counter<long> _relists;
    private readonly Counter<long> _runaway;
    private long _queueDepth;
    private long _lastSync;

    public ControllerMetrics(IMeterFactory? factory = null)
    {
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _events = _meter.CreateCounter<long>("registry_policy.controller.events", "{event}", "Watch events received, by resource and type.");
        _reconciles = _meter.CreateCounter<long>("registry_policy.controller.reconciles", "{reconcile}", "Plans computed from the cache.");
        _actions = _meter.CreateCounter<long>("registry_policy.controller.actions", "{action}", "Writes, by kind (create, update, delete, patch) and outcome (applied, dry-run, conflict, skipped, failed, throttled).");
        _conflicts = _meter.CreateCounter<long>("registry_policy.controller.conflicts", "{conflict}", "409 answers: the object changed since it was read; it is re-read and re-planned.");
        _watchRestarts = _meter.CreateCounter<long>("registry_policy.controller.watch_restarts", "{restart}", "Watches started again after one ended or failed.");
        _relists = _meter.CreateCounter<long>("registry_policy.controller.relists", "{relist}", "Lists made again after 410 Gone.");
        _runaway = _meter.CreateCounter<long>("registry_policy.controller.runaway_guard", "{event}", "Creates held back because the plan wanted more than the allowed creates per minute.");
        _meter.CreateObservableGauge("registry_policy.controller.queue_depth", () => Interlocked.Read(ref _queueDepth), "{action}", "Actions of the current plan not yet applied.");
        _meter.CreateObservableGauge("registry_policy.controller.last_successful_sync", () => Interlocked.Read(ref _lastSync), "s",
            "Unix time of the last reconcile that found nothing left to do.");
    }

    public void EventReceived(string resource, WatchEventType type) =>
        _events.Add(1, new TagList { { "resource", resource }, { "type", type.ToString().ToUpperInvariant() } });

    public void Reconciled() => _reconciles.Add(1);

    public void Action(string kind, string outcome) => _actions.Add(1, new TagList { { "kind", kind }, { "outcome", outcome } });

    public void Conflict(string kind) => _conflicts.Add(1, new TagList { { "kind", kind } });

    public void WatchRestarted(string resource) => _watchRestarts.Add(1, new TagList { { "resource", resource } });

    public void Relisted(string resource) => _relists.Add(1, new TagList { { "resource", resource } });

    public void RunawayGuard() => _runaway.Add(1);

    public void QueueDepth(long depth) => Interlocked.Exchange(ref _queueDepth, depth);

    public void Synced(DateTimeOffset at) => Interlocked.Exchange(ref _lastSync, at.ToUnixTimeSeconds());

    public void Dispose() => _meter.Dispose();
}
