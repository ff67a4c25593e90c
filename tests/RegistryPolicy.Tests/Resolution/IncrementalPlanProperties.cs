using System.Collections.Immutable;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Testing;

namespace RegistryPolicy.Tests.Resolution;

/// <summary>
/// Per-event reconciliation: for any sequence of events (objects added, replaced or removed), re-planning only the
/// namespaces each event affects keeps a plan equal to the full re-plan, action for action and patch for patch.
/// </summary>
public sealed class IncrementalPlanProperties
{
    private static readonly ImmutableArray<(CompiledPolicy Policy, SnapshotShape Shape)> Presets =
        [.. PolicyPresets.Names.Select(n => { PolicyPresets.TryGet(n, out CompiledPolicy? p); return (p!, SnapshotShape.ForPolicy(p!)); })];

    /// <summary>A policy, a start, and events: each an object to upsert, or (null) a removal of the start's i-th object.</summary>
    private static readonly Arbitrary<(CompiledPolicy Policy, ImmutableArray<KubeObject> Start, ImmutableArray<(KubeObject? Upsert, int Remove)> Events)> Cases = Arb.From(
        from preset in Gen.Elements(Presets.ToArray())
        from start in SnapshotGenerators.Objects(preset.Shape)
        from later in SnapshotGenerators.Objects(preset.Shape)
        from removals in Gen.Choose(0, Math.Max(0, start.Length - 1)).ListOf()
        from order in SnapshotGenerators.Shuffle([.. later.Select(o => ((KubeObject?)o, -1)).Concat(removals.Take(start.IsEmpty ? 0 : 8).Select(r => ((KubeObject?)null, r)))])
        select (preset.Policy, start, order));

    private static string Key(PlanAction a) => $"{a.Operation} {a.Secret} {a.Rule} {a.Desired?.ToManifest(new ManifestOptions { RevealSecrets = true }).ToJsonString()}";

    private static string Key(ServiceAccountPatch p) => $"{p.ServiceAccount} {p.ToJson()}";

    private static IEnumerable<string> Keys(PropagationPlan plan, Func<string, bool> inScope) =>
        plan.Actions.Where(a => inScope(a.Secret.Namespace)).Select(Key).Concat(plan.ServiceAccountPatches.Where(p => inScope(p.ServiceAccount.Namespace!)).Select(Key));

    [Property(MaxTest = 300)]
    public Property Re_planning_the_affected_namespaces_after_each_event_equals_the_full_re_plan() =>
        Prop.ForAll(Cases, c =>
        {
            ClusterSnapshot snapshot = ClusterSnapshot.Create(c.Start);
            // The incremental plan, kept per namespace.
            var byNamespace = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            void Replace(IEnumerable<string>? namespaces)
            {
                PropagationPlan plan = namespaces is null ? PolicyEngine.Plan(c.Policy, snapshot) : PolicyEngine.Plan(c.Policy, snapshot, namespaces);
                HashSet<string>? scope = namespaces?.ToHashSet(StringComparer.Ordinal);
                foreach (string ns in scope ?? [.. byNamespace.Keys])
                {
                    byNamespace.Remove(ns);
                }

                foreach (PlanAction a in plan.Actions)
                {
                    (CollectionsMarshalGet(byNamespace, a.Secret.Namespace)).Add(Key(a));
                }

                foreach (ServiceAccountPatch p in plan.ServiceAccountPatches)
                {
                    (CollectionsMarshalGet(byNamespace, p.ServiceAccount.Namespace!)).Add(Key(p));
                }
            }

            Replace(null);
            int step = 0;
            foreach (var (upsert, remove) in c.Events)
            {
                step++;
                ObjectReference changed;
                if (upsert is not null)
                {
                    changed = upsert.Reference;
                    snapshot = snapshot.With([upsert]);
                }
                else
                {
                    changed = c.Start[remove].Reference;
                    snapshot = snapshot.With([], [changed]);
                }

                IReadOnlySet<string>? affected = PolicyEngine.AffectedNamespaces(c.Policy, changed);
                Replace(affected);
                string[] incremental = [.. byNamespace.Values.SelectMany(v => v).Order(StringComparer.Ordinal)];
                string[] full = [.. Keys(PolicyEngine.Plan(c.Policy, snapshot), _ => true).Order(StringComparer.Ordinal)];
                if (!incremental.SequenceEqual(full))
                {
                    return false.Label($"policy {c.Policy.Name}, after event {step} ({(upsert is null ? "remove" : "upsert")} {changed}):\n" +
                        $"incremental only: {string.Join("\n  ", incremental.Except(full))}\nfull only: {string.Join("\n  ", full.Except(incremental))}");
                }
            }

            return true.Label("equal");
        });

    [Fact]
    public void A_scoped_plan_is_the_full_plan_restricted_to_its_namespaces_for_the_kyma_sample()
    {
        ClusterSnapshot snapshot = ClusterSnapshot.Create(SnapshotReader.Read(File.ReadAllText(Path.Combine(Policies.PolicySchemaTests.RepositoryRoot(), "samples", "kyma-cluster.yaml")), "kyma-cluster.yaml"));
        PropagationPlan full = PolicyEngine.Plan(PolicyPresets.Default, snapshot);
        foreach (string[] scope in new[] { new[] { "team-b" }, ["team-a", "team-c"], ["kyma-system"], ["nope"] })
        {
            PropagationPlan scoped = PolicyEngine.Plan(PolicyPresets.Default, snapshot, scope);
            Assert.Equal(Keys(full, ns => scope.Contains(ns)).Order(StringComparer.Ordinal), Keys(scoped, _ => true).Order(StringComparer.Ordinal));
        }

        Assert.NotEmpty(PolicyEngine.Plan(PolicyPresets.Default, snapshot, ["team-b"]).Actions);
        Assert.Null(PolicyEngine.AffectedNamespaces(PolicyPresets.Default, new ObjectReference("Secret", "kyma-system", "x")));
        Assert.Equal(["team-b"], PolicyEngine.AffectedNamespaces(PolicyPresets.Default, new ObjectReference("Secret", "team-b", "x"))!);
        Assert.Equal(["team-b"], PolicyEngine.AffectedNamespaces(PolicyPresets.Default, new ObjectReference("Namespace", null, "team-b"))!);
    }

    private static List<string> CollectionsMarshalGet(Dictionary<string, List<string>> map, string key)
    {
        if (!map.TryGetValue(key, out List<string>? list))
        {
            map[key] = list = [];
        }

        return list;
    }
}
