namespace RegistryPolicy.Kubernetes.Controller;

/// <summary>
/// How the propagation controller runs: dry-run, resync, the write limits and the runaway guard, watch timeouts, the
/// health bound and leader election. The defaults follow controller-runtime and Kyma's chart (resync 5 minutes).
/// Immutable and thread-safe.
/// </summary>
public sealed record PropagationControllerOptions
{
    /// <summary>The defaults.</summary>
    public static PropagationControllerOptions Default { get; } = new();

    /// <summary>Log the actions it would take and take none (the caches and plans run as usual).</summary>
    public bool DryRun { get; init; }

    /// <summary>How often the whole plan is computed again without any event (Kyma's chart: 5 minutes).</summary>
    public TimeSpan Resync { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Writes per second over all objects (a token bucket; controller-runtime's default is 10).</summary>
    public double WritesPerSecond { get; init; } = 10;

    /// <summary>The bucket's size: how many writes may go at once after a quiet spell (controller-runtime: 100).</summary>
    public int WriteBurst { get; init; } = 100;

    /// <summary>The shortest time between two writes to the same object: a hot loop on one object cannot form.</summary>
    public TimeSpan PerObjectInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest per-object backoff after failed writes (it doubles from 100 ms).</summary>
    public TimeSpan MaxObjectBackoff { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The runaway guard: at most this many creates in any minute. When a plan wants more, the rest wait, the guard is
    /// reported (a warning, a metric, <see cref="ControllerStatus.RunawayGuardEngaged"/>), and creation resumes as the minute rolls.
    /// </summary>
    public int MaxCreatesPerMinute { get; init; } = 1000;

    /// <summary>Objects per list page.</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>The server-side watch timeout (each watch takes this plus a random part of it); the client drops a watch 30 seconds after.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest wait before reconnecting a failed watch (the backoff doubles from 200 ms, with jitter).</summary>
    public TimeSpan MaxWatchBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The controller reports itself unhealthy when a watch has been down, or the first list has not finished, for longer than this.</summary>
    public TimeSpan UnhealthyAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long events are gathered before a plan is computed: a burst of events costs one plan. Each event costs
    /// microseconds (the snapshot is updated in place and only the namespaces it affects are planned), so the wait is short.
    /// </summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>The longest time one write may take before it is abandoned and retried.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Leader election; <see langword="null"/> runs without (only one replica may run then).</summary>
    public LeaderElectionOptions? LeaderElection { get; init; }

    /// <summary>The clock (tests pass a fake one).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Every option that is out of range, with its fix; empty when all are usable.</summary>
    /// <returns>The problems.</returns>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!(WritesPerSecond > 0))
        {
            problems.Add("WritesPerSecond must be above 0 (the default is 10)");
        }

        if (WriteBurst < 1)
        {
            problems.Add("WriteBurst must be at least 1 (the default is 100)");
        }

        if (MaxCreatesPerMinute < 1)
        {
            problems.Add("MaxCreatesPerMinute must be at least 1 (the default is 1000)");
        }

        if (PageSize is < 1 or > 10000)
        {
            problems.Add("PageSize must be 1 to 10000 (the default is 500)");
        }

        if (Resync < TimeSpan.FromSeconds(1))
        {
            problems.Add("Resync must be at least 1s (Kyma's chart uses 5m)");
        }

        if (UnhealthyAfter <= TimeSpan.Zero)
        {
            problems.Add("UnhealthyAfter must be above 0 (--unhealthy-after; the default is 2m)");
        }

        if (WatchTimeout < TimeSpan.FromSeconds(1))
        {
            problems.Add("WatchTimeout must be at least 1s (the default is 5m)");
        }

        if (LeaderElection is { } election)
        {
            if (string.IsNullOrEmpty(election.Namespace))
            {
                problems.Add("LeaderElection.Namespace must name the namespace of the Lease (--lease-namespace)");
            }

            if (election.RenewDeadline >= election.LeaseDuration)
            {
                problems.Add("LeaderElection.RenewDeadline must be shorter than LeaseDuration, or two leaders could overlap");
            }
        }

        return problems;
    }
}

/// <summary>
/// Leader election on a <c>coordination.k8s.io/v1</c> Lease with KubernetesClient's <c>k8s.LeaderElection.LeaderElector</c>:
/// only the holder writes. Immutable and thread-safe.
/// </summary>
/// <param name="Namespace">The Lease's namespace.</param>
public sealed record LeaderElectionOptions(string Namespace)
{
    /// <summary>The Lease's name.</summary>
    public string LeaseName { get; init; } = "registry-policy-controller";

    /// <summary>This replica's identity (default: host name and process id).</summary>
    public string Identity { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>How long a lease lasts without renewal.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the leader keeps trying to renew before it stops writing; shorter than <see cref="LeaseDuration"/>.</summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often candidates try.</summary>
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>What the controller is doing, at one moment. Immutable and thread-safe.</summary>
/// <param name="IsSynced">Every cache has listed once.</param>
/// <param name="IsLeader">This replica may write (always true without leader election).</param>
/// <param name="WatchesDownSince">Since when some watch has had no connection, or <see langword="null"/>.</param>
/// <param name="LastSuccessfulSync">The last time a plan found nothing to do, or <see langword="null"/>.</param>
/// <param name="Reconciles">Plans computed.</param>
/// <param name="Writes">Writes that succeeded.</param>
/// <param name="Conflicts">409 answers (re-read and re-planned).</param>
/// <param name="RunawayGuardEngaged">Creates are being held back by the runaway guard.</param>
/// <param name="LastError">The last failure, without any request body, or <see langword="null"/>.</param>
public sealed record ControllerStatus(bool IsSynced, bool IsLeader, DateTimeOffset? WatchesDownSince, DateTimeOffset? LastSuccessfulSync,
    long Reconciles, long Writes, long Conflicts, bool RunawayGuardEngaged, string? LastError)
{
    /// <summary>The number of writes held back or failed so far, by reason.</summary>
    public long Throttled { get; init; }

    /// <summary>Whether a liveness probe should pass.</summary>
    /// <param name="now">The time now.</param>
    /// <param name="startedAt">When the controller started.</param>
    /// <param name="bound">The longest acceptable outage (<see cref="PropagationControllerOptions.UnhealthyAfter"/>).</param>
    /// <returns>False when a watch has been down, or the first list unfinished, longer than the bound.</returns>
    public bool IsHealthy(DateTimeOffset now, DateTimeOffset startedAt, TimeSpan bound) =>
        (WatchesDownSince is not { } down || now - down <= bound) && (IsSynced || now - startedAt <= bound);
}
