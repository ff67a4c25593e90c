using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Credentials;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Tests.Resolution;

public sealed class ServiceAccountLinksTests
{
    private static ServiceAccountObject Account(string ns, params string[] secrets) =>
        new(new ObjectMetadata("default", ns), new ValueArray<string>(secrets));

    [Fact]
    public void A_service_account_without_pull_secrets_gets_the_whole_array()
    {
        var snapshot = ClusterSnapshot.Create(Account("team"));

        var patch = Assert.Single(ServiceAccountLinks.Plan(snapshot, [new("team", "default", "regcred")], out _));

        var op = Assert.Single(patch.Patch);
        Assert.Equal(("add", "/imagePullSecrets", "[{\"name\":\"regcred\"}]"), (op.Op, op.Path, op.ValueJson));
    }

    [Fact]
    public void A_service_account_with_pull_secrets_gets_an_append_and_a_listed_one_nothing()
    {
        var snapshot = ClusterSnapshot.Create(Account("team", "other"), Account("done", "regcred"));

        var patches = ServiceAccountLinks.Plan(snapshot, [new("team", "default", "regcred"), new("done", "default", "regcred")], out _);

        var op = Assert.Single(Assert.Single(patches).Patch);
        Assert.Equal(("add", "/imagePullSecrets/-", "{\"name\":\"regcred\"}"), (op.Op, op.Path, op.ValueJson));
    }

    [Fact]
    public void Two_links_to_an_empty_account_add_the_array_then_append()
    {
        var patch = Assert.Single(ServiceAccountLinks.Plan(ClusterSnapshot.Create(Account("team")), [new("team", "default", "a"), new("team", "default", "b")], out _));

        Assert.Equal(["add /imagePullSecrets", "add /imagePullSecrets/-"], patch.Patch.Select(p => p.ToString()));
    }

    [Fact]
    public void A_missing_service_account_is_reported_not_patched()
    {
        var patches = ServiceAccountLinks.Plan(ClusterSnapshot.Empty, [new("team", "default", "regcred")], out var diagnostics);

        Assert.Empty(patches);
        Assert.Equal("service-account-missing", Assert.Single(diagnostics).Code);
    }

    [Property(MaxTest = 300)]
    public Property Linking_is_idempotent() =>
        Prop.ForAll(
            Gen.SubListOf(new[] { "a", "b", "c" }).ToArbitrary(),
            Gen.NonEmptyListOf(Gen.Elements("a", "b", "c", "d")).ToArbitrary(),
            (existing, wanted) =>
            {
                var snapshot = ClusterSnapshot.Create(Account("team", [.. existing]));
                ServiceAccountLink[] links = [.. wanted.Select(w => new ServiceAccountLink("team", "default", w))];
                var patches = ServiceAccountLinks.Plan(snapshot, links, out _);
                ClusterSnapshot applied = ServiceAccountLinks.Apply(snapshot, patches);
                bool allLinked = wanted.All(w => applied.GetServiceAccount("team", "default")!.ImagePullSecrets.Contains(w));
                return allLinked && ServiceAccountLinks.Plan(applied, links, out _).IsEmpty;
            });
}
