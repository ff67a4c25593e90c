using BenchmarkDotNet.Attributes;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Benchmarks.Controller;

/// <summary>
/// What the parts of a per-event reconcile cost at 10,000 namespaces and 100,000 Secrets: a snapshot built from the
/// cache, one Secret, Namespace or ServiceAccount replaced in a snapshot (the overlay path of ClusterSnapshot.With), the
/// whole plan, the plan of one namespace, and the two whole events (a namespace Secret; the cluster-wide base).
/// </summary>
[MemoryDiagnoser]
public class ControllerBenchmarks
{
    private List<KubeObject> _objects = null!;
    private ClusterSnapshot _converged = null!;
    private SecretObject _changed = null!;
    private SecretObject _changedBase = null!;
    private ClusterSnapshot _baseChangedAfresh = null!;
    private NamespaceObject _relabelled = null!;
    private ServiceAccountObject _account = null!;

    [Params(10_000)]
    public int Namespaces { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _objects = [NamespaceObject.Named("kyma-system")];
        var baseSecret = new SecretObject(new ObjectMetadata("serverless-registry-config-default", "kyma-system")
        {
            Labels = StringMap.Of("serverless.kyma-project.io/config", "credentials"),
            Finalizers = new ValueArray<string>(["serverless.kyma-project.io/finalizer-registry-config"]),
        }, "Opaque", SecretData.FromStrings("username", "robot", "password", "p1", "registryAddress", "registry.example.com"));
        _objects.Add(baseSecret);
        for (int n = 0; n < Namespaces; n++)
        {
            string ns = $"team-{n:D5}";
            _objects.Add(NamespaceObject.Named(ns));
            _objects.Add(new ServiceAccountObject(new ObjectMetadata("default", ns), default));
            _objects.Add(baseSecret with { Metadata = baseSecret.Metadata with { Namespace = ns, Finalizers = default } });
            for (int s = 1; s < 10; s++)
            {
                _objects.Add(new SecretObject(new ObjectMetadata($"app-{s}", ns) { Labels = StringMap.Of("app", "x") }, "Opaque", SecretData.FromStrings("token", $"t-{n}-{s}")));
            }
        }

        _converged = ClusterSnapshot.Create(_objects);
        _changed = new SecretObject(new ObjectMetadata("app-1", "team-05000") { Labels = StringMap.Of("app", "y") }, "Opaque", SecretData.FromStrings("token", "changed"));
        _changedBase = baseSecret with { Data = SecretData.FromStrings("username", "robot", "password", "p2", "registryAddress", "registry.example.com") };
        _baseChangedAfresh = ClusterSnapshot.Create(_objects.Select(o => o == baseSecret ? _changedBase : o));
        _relabelled = NamespaceObject.Named("team-05000", StringMap.Of("team", "b"));
        _account = new ServiceAccountObject(new ObjectMetadata("default", "team-05000"), new ValueArray<string>(["app-1"]));
        if (!PolicyEngine.Plan(PolicyPresets.Default, _converged).IsEmpty)
        {
            throw new InvalidOperationException("the benchmark cluster is not converged");
        }
    }

    [Benchmark(Description = "snapshot from the cache (100k Secrets)")]
    public ClusterSnapshot SnapshotFromCache() => ClusterSnapshot.Create(_objects);

    [Benchmark(Description = "plan of a converged cluster (100k Secrets)")]
    public PropagationPlan PlanConverged() => PolicyEngine.Plan(PolicyPresets.Default, _converged);

    [Benchmark(Description = "plan of one namespace (PolicyEngine.Plan with a scope)")]
    public PropagationPlan PlanOneNamespace() => PolicyEngine.Plan(PolicyPresets.Default, _converged, ["team-05000"]);

    [Benchmark(Description = "one Secret replaced (ClusterSnapshot.With)")]
    public ClusterSnapshot WithOneSecret() => _converged.With([_changed]);

    [Benchmark(Description = "one Namespace relabelled (ClusterSnapshot.With)")]
    public ClusterSnapshot WithOneNamespace() => _converged.With([_relabelled]);

    [Benchmark(Description = "one ServiceAccount replaced (ClusterSnapshot.With)")]
    public ClusterSnapshot WithOneServiceAccount() => _converged.With([_account]);

    [Benchmark(Description = "one namespace Secret event: With, AffectedNamespaces, scoped plan")]
    public PropagationPlan OneSecretEvent()
    {
        ClusterSnapshot next = _converged.With([_changed]);
        return PolicyEngine.AffectedNamespaces(PolicyPresets.Default, _changed.Reference) is { } affected
            ? PolicyEngine.Plan(PolicyPresets.Default, next, affected)
            : PolicyEngine.Plan(PolicyPresets.Default, next);
    }

    [Benchmark(Description = "cluster-wide base changed: the full plan (10,000 updates) of a snapshot built afresh")]
    public PropagationPlan BaseChangedFullPlan() => PolicyEngine.Plan(PolicyPresets.Default, _baseChangedAfresh);

    [Benchmark(Description = "cluster-wide base changed: With, then the plan of every namespace")]
    public PropagationPlan BaseChangedEvent() => PolicyEngine.Plan(PolicyPresets.Default, _converged.With([_changedBase]));
}
