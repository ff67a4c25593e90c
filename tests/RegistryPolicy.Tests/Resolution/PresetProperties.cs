using System.Collections.Immutable;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Testing;

namespace RegistryPolicy.Tests.Resolution;

/// <summary>Invariants of every preset's plan (Secret copies and ServiceAccount links), on snapshots drawn from what each preset mentions.</summary>
public sealed class PresetProperties
{
    private static readonly ImmutableArray<(CompiledPolicy Policy, SnapshotShape Shape)> Presets =
        [.. PolicyPresets.Names.Select(n => { PolicyPresets.TryGet(n, out CompiledPolicy? p); return (p!, SnapshotShape.ForPolicy(p!)); })];

    private static readonly Arbitrary<(CompiledPolicy Policy, ImmutableArray<KubeObject> Objects)> Cases = Arb.From(
        from preset in Gen.Elements(Presets.ToArray())
        from objects in SnapshotGenerators.Objects(preset.Shape)
        select (preset.Policy, objects),
        c => Enumerable.Range(0, c.objects.Length).Select(i => (c.Policy, c.objects.RemoveAt(i))));

    private static string Describe(CompiledPolicy policy, IEnumerable<KubeObject> objects, PropagationPlan plan) =>
        $"policy {policy.Name}\n" + string.Join("\n", objects.Select(o => o switch
        {
            SecretObject s => $"Secret {s.Reference} type={s.Type} labels={s.Metadata.Labels} deleting={s.Metadata.IsDeleting}",
            ServiceAccountObject a => $"ServiceAccount {a.Namespace}/{a.Name} imagePullSecrets=[{string.Join(",", a.ImagePullSecrets)}]",
            NamespaceObject n => $"Namespace {n.Name} terminating={n.IsTerminating}",
            _ => o.ToString(),
        })) + "\nplan:\n" + string.Join("\n", plan.Actions) + "\n" + string.Join("\n", plan.ServiceAccountPatches) + "\n" + string.Join("\n", plan.Warnings);

    private static string Text(PropagationPlan plan) =>
        string.Join("\n", plan.Actions.Select(a => a + " " + a.Desired?.GetHashCode())) + "\n" +
        string.Join("\n", plan.ServiceAccountPatches.Select(p => p.ToKubectlCommand())) + "\n" +
        string.Join("\n", plan.Warnings.Select(w => $"{w.Code} {w.Subject} {w.Message}"));

    [Property(MaxTest = 400)]
    public Property Every_presets_plan_is_a_fixpoint_including_service_account_patches() =>
        Prop.ForAll(Cases, c =>
        {
            var snapshot = ClusterSnapshot.Create(c.Objects);
            PropagationPlan plan = PolicyEngine.Plan(c.Policy, snapshot);
            PropagationPlan again = PolicyEngine.Plan(c.Policy, plan.ApplyTo(snapshot));
            return again.IsEmpty.Label(Describe(c.Policy, c.Objects, plan) + "\nagain:\n" + Text(again));
        });

    [Property(MaxTest = 400)]
    public Property No_preset_copies_into_the_namespace_its_base_comes_from() =>
        Prop.ForAll(Cases, c =>
        {
            PropagationPlan plan = PolicyEngine.Plan(c.Policy, ClusterSnapshot.Create(c.Objects));
            var baseNamespaces = c.Policy.Document.Spec.Propagation.ToDictionary(r => r.Name, r => r.Base.Namespace);
            return plan.Actions.Where(a => a.Operation != PlanOperation.Update || a.Desired?.Metadata.Labels != null)
                .All(a => a.Secret.Namespace != baseNamespaces[a.Rule] || a.Operation == PlanOperation.Update && a.Reason.Contains("finalizer", StringComparison.Ordinal))
                .Label(Describe(c.Policy, c.Objects, plan));
        });

    [Property(MaxTest = 400)]
    public Property Service_account_patches_stay_in_the_links_scope_and_only_link_existing_secrets() =>
        Prop.ForAll(Cases, c =>
        {
            var snapshot = ClusterSnapshot.Create(c.Objects);
            PropagationPlan plan = PolicyEngine.Plan(c.Policy, snapshot);
            ClusterSnapshot after = plan.ApplyTo(snapshot);
            var links = c.Policy.Document.Spec.ServiceAccountLinks;
            return plan.ServiceAccountPatches.All(p =>
                    links.Any(l => l.ServiceAccount == p.ServiceAccount.Name &&
                        !l.Namespaces.ExcludeNamespaces.Contains(p.ServiceAccount.Namespace!) &&
                        (l.Namespaces.Namespaces.IsEmpty || l.Namespaces.Namespaces.Contains(p.ServiceAccount.Namespace!))) &&
                    p.Secrets.All(s => after.GetSecret(p.ServiceAccount.Namespace!, s) is { Metadata.IsDeleting: false }))
                .Label(Describe(c.Policy, c.Objects, plan));
        });

    [Property(MaxTest = 300)]
    public Property Every_presets_plan_is_independent_of_input_order() =>
        Prop.ForAll(Cases, c =>
        {
            // A duplicate's winner depends on order by design ("later wins"); compare only duplicate-free inputs.
            var unique = c.Objects.GroupBy(o => o.Reference).Select(g => g.Last()).ToImmutableArray();
            return Prop.ForAll(SnapshotGenerators.Shuffle(unique).ToArbitrary(), shuffled =>
            {
                PropagationPlan plan = PolicyEngine.Plan(c.Policy, ClusterSnapshot.Create(unique));
                PropagationPlan other = PolicyEngine.Plan(c.Policy, ClusterSnapshot.Create(shuffled));
                return (Text(plan) == Text(other)).Label(Describe(c.Policy, unique, plan) + "\nshuffled:\n" + Text(other));
            });
        });

    [Fact]
    public void The_generated_cases_do_exercise_links_renames_and_create_only_copies()
    {
        PolicyPresets.TryGet("ibm-iks", out CompiledPolicy? ibm);
        var plans = SnapshotGenerators.Objects(SnapshotShape.ForPolicy(ibm!)).Sample(2000, new Rnd(20261123UL), 20)
            .Select(objects => PolicyEngine.Plan(ibm!, ClusterSnapshot.Create(objects))).ToList();

        Assert.True(plans.Any(p => p.ServiceAccountPatches.Any(s => s.Patch[0].Path == "/imagePullSecrets")),
            $"{plans.Count} plans, {plans.Count(p => !p.ServiceAccountPatches.IsEmpty)} with patches, {plans.Select(p => p.Actions.Length).Distinct().Count()} distinct action counts");
        Assert.True(plans.Any(p => p.ServiceAccountPatches.Any(s => s.Patch[0].Path == "/imagePullSecrets/-")),
            $"{plans.Count(p => !p.ServiceAccountPatches.IsEmpty)} with patches, {plans.Count(p => p.Actions.Any(a => a.Secret.Name == "all-icr-io"))} copying all-icr-io,");
        Assert.Contains(plans, p => p.Actions.Any(a => a.Secret.Name.EndsWith("-us-icr-io", StringComparison.Ordinal) && a.Secret.Name != "default-us-icr-io"));
        Assert.Contains(plans, p => p.Actions.Any(a => a.Secret.Name == "all-icr-io" && a.Operation == PlanOperation.Create));
    }
}
