using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Testing;

namespace RegistryPolicy.Tests.Resolution;

/// <summary>The user-side property shown in docs/testing.md, run here so that the example stays true.</summary>
public sealed class UserSidePropertyExample
{
    // A platform team's change: the Kyma preset, plus a 'sandbox' namespace that must never receive copies.
    private static readonly CompiledPolicy Mine = PolicyLoader.Parse(
        PolicyPresets.Default.Text!.Replace("excludeNamespaces: [istio-system,", "excludeNamespaces: [sandbox, istio-system,", StringComparison.Ordinal)
            .Replace("name: kyma-serverless\n", "name: mine\n", StringComparison.Ordinal), "mine.yaml");

    [Property(MaxTest = 300)]
    public Property Mine_differs_from_the_kyma_preset_only_in_the_sandbox_namespace() =>
        Prop.ForAll(SnapshotGenerators.ObjectsArbitrary(SnapshotShape.ForPolicy(Mine)), objects =>
        {
            var snapshot = ClusterSnapshot.Create(objects);
            Evaluation kyma = PolicyEngine.Evaluate(PolicyPresets.Default, snapshot);
            Evaluation mine = PolicyEngine.Evaluate(Mine, snapshot);
            return kyma.Namespaces.Zip(mine.Namespaces).All(p => p.First.Namespace == "sandbox" || p.First.SameOutcome(p.Second));
        });

    [Fact]
    public void The_generators_do_produce_the_sandbox_namespace_so_the_property_is_not_vacuous() =>
        Assert.Contains("sandbox", SnapshotShape.ForPolicy(Mine).Namespaces);
}
