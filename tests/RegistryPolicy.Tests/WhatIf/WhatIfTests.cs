using System.Collections.Immutable;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Swap;
using RegistryPolicy.Testing;
using RegistryPolicy.Tests.Policies;
using RegistryPolicy.Tests.Support;
using RegistryPolicy.WhatIf;
using static RegistryPolicy.Tests.Support.Objects;

namespace RegistryPolicy.Tests.WhatIf;

public sealed class WhatIfTests
{
    private static readonly CompiledPolicy Kyma = PolicyPresets.Default;
    private static readonly Arbitrary<ImmutableArray<KubeObject>> Snapshots = SnapshotGenerators.ObjectsArbitrary(SnapshotShape.KymaServerless);

    private static OutcomeDiff Compare(ClusterSnapshot a, ClusterSnapshot b, CompiledPolicy? pa = null, CompiledPolicy? pb = null) =>
        RegistryPolicy.WhatIf.WhatIfEngine.Compare(new WhatIfSide(pa ?? Kyma, a), new WhatIfSide(pb ?? Kyma, b));

    [Fact]
    public void Moving_to_the_serverless_module_lists_the_namespaces_that_lose_their_override()
    {
        Assert.True(PolicyPresets.TryGet("kyma-serverless-module", out CompiledPolicy? module));
        var snapshot = ClusterSnapshot.Create(Namespace("team-a"), Namespace("team-b"), InternalDefault(), NamespaceOverride("team-a", shielded: true));

        OutcomeDiff diff = Compare(snapshot, snapshot, Kyma, module);

        NamespaceChange change = Assert.Single(diff.Namespaces);
        Assert.Equal("team-a", change.Namespace);
        Assert.Equal(ResolutionSource.UserManaged, change.Before.Source);
        Assert.Equal(ResolutionSource.Default, change.After.Source);
        Assert.Contains("pushAddress", change.Changed);
        Assert.True(change.Rebuild);
    }

    [Fact]
    public void Adopting_the_ibm_preset_lists_the_new_links_and_the_containers_that_gain_a_credential()
    {
        Assert.True(PolicyPresets.TryGet("ibm-iks", out CompiledPolicy? ibm));
        string file = Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "ibm-iks-cluster.yaml");
        var snapshot = ClusterSnapshot.Create(SnapshotReader.Read(File.ReadAllText(file), file));

        OutcomeDiff diff = Compare(snapshot, snapshot, Kyma, ibm);

        Assert.Equal(["link all-icr-io to ServiceAccount team-a/default", "link all-icr-io to ServiceAccount team-b/default"],
            diff.Links.Where(l => l.Appears).Select(l => l.ToString()));
        ImageChange web = Assert.Single(diff.Images, i => i.Workload.Name == "web");
        Assert.Null(web.CredentialBefore);
        Assert.StartsWith("us.icr.io (sha256:", web.CredentialAfter, StringComparison.Ordinal);
        Assert.True(Compare(snapshot, snapshot, ibm, ibm).IsEmpty);
    }

    [Fact]
    public void A_credentials_only_change_does_not_rebuild()
    {
        SecretObject before = NamespaceOverride("team");
        SecretObject after = before with { Data = before.Data.With("password", "rotated"u8) };

        NamespaceChange change = Assert.Single(Compare(ClusterSnapshot.Create(before), ClusterSnapshot.Create(after)).Namespaces);

        Assert.Equal(new[] { "credentialFingerprint" }, change.Changed.ToArray());
        Assert.False(change.Rebuild);
    }

    [Fact]
    public void Rewritten_images_that_change_are_listed()
    {
        var pod = new WorkloadObject("Pod", new ObjectMetadata("p", "team"),
            new PodTemplate("/spec", null, default, new ValueArray<ContainerSpec>([new ContainerSpec(ContainerRole.Container, 0, "app", "nginx", null)])));
        var snapshot = ClusterSnapshot.Create(pod);
        var side = new WhatIfSide(Kyma, snapshot) { Swap = new ImageSwapper(ImageSwapMap.LoadMirrorRegistries("docker.io::old.example.com/d")) };

        OutcomeDiff diff = RegistryPolicy.WhatIf.WhatIfEngine.Compare(side, side with { Swap = new ImageSwapper(ImageSwapMap.LoadMirrorRegistries("docker.io::new.example.com/d")) });

        ImageChange change = Assert.Single(diff.Images);
        Assert.Equal(("old.example.com/d/nginx", "new.example.com/d/nginx"), (change.Before, change.After));
    }

    [Property(MaxTest = 200)]
    public Property Comparing_a_snapshot_with_itself_finds_nothing() =>
        Prop.ForAll(Snapshots, objects =>
        {
            var snapshot = ClusterSnapshot.Create(objects);
            return Compare(snapshot, snapshot).IsEmpty;
        });

    [Property(MaxTest = 200)]
    public Property Comparing_the_other_way_round_gives_the_mirror_image() =>
        Prop.ForAll(Snapshots, Snapshots, (x, y) =>
        {
            OutcomeDiff ab = Compare(ClusterSnapshot.Create(x), ClusterSnapshot.Create(y));
            OutcomeDiff ba = Compare(ClusterSnapshot.Create(y), ClusterSnapshot.Create(x));
            bool namespaces = ab.Namespaces.Select(n => (n.Namespace, string.Join(",", n.Changed))).SequenceEqual(ba.Namespaces.Select(n => (n.Namespace, string.Join(",", n.Changed)))) &&
                ab.Namespaces.Zip(ba.Namespaces).All(p => p.First.Before.SameOutcome(p.Second.After) && p.First.After.SameOutcome(p.Second.Before));
            bool plan = ab.Plan.Count(p => p.Appears) == ba.Plan.Count(p => !p.Appears) && ab.Plan.Count(p => !p.Appears) == ba.Plan.Count(p => p.Appears);
            return namespaces && plan;
        });

    [Property(MaxTest = 200)]
    public Property Every_reported_difference_is_real() =>
        Prop.ForAll(Snapshots, Snapshots, (x, y) =>
        {
            var a = ClusterSnapshot.Create(x);
            var b = ClusterSnapshot.Create(y);
            foreach (NamespaceChange n in Compare(a, b).Namespaces)
            {
                var options = new EvaluationOptions { Namespaces = [n.Namespace] };
                NamespaceResolution before = PolicyEngine.Evaluate(Kyma, a, options).Namespaces.Single();
                NamespaceResolution after = PolicyEngine.Evaluate(Kyma, b, options).Namespaces.Single();
                if (before.SameOutcome(after))
                {
                    return false.Label($"{n.Namespace} reported but equal");
                }
            }

            return true.ToProperty();
        });

    [Fact]
    public void The_cli_answers_the_upgrade_question_and_fails_on_change_when_asked()
    {
        string cluster = Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "kyma-cluster.yaml");

        CliResult json = CliRunner.Run("whatif", "--before", cluster, "--preset", "kyma-serverless", "--preset-after", "kyma-serverless-module", "-o", "json");
        CliResult fail = CliRunner.Run("whatif", "--before", cluster, "--preset-after", "kyma-serverless-module", "--fail-on-change", "-o", "markdown");
        CliResult same = CliRunner.Run("whatif", "--before", cluster, "--fail-on-change");

        Assert.Equal(0, json.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(json.Output);
        var lost = doc.RootElement.GetProperty("namespaces").EnumerateArray()
            .Where(n => n.GetProperty("before").GetProperty("source").GetString() is "user-managed" or "namespace")
            .Select(n => n.GetProperty("namespace").GetString());
        Assert.Equal(["team-a", "team-b"], lost);
        Assert.Equal(3, fail.ExitCode);
        Assert.Contains("| `team-a` |", fail.Output, StringComparison.Ordinal);
        Assert.Equal(0, same.ExitCode);
        Assert.DoesNotContain("example-team-a-token", json.Output + fail.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pull_secret_change_shows_as_a_credential_change_of_the_containers_that_use_it()
    {
        var pod = new WorkloadObject("Pod", new ObjectMetadata("p", "team"),
            new PodTemplate("/spec", null, new ValueArray<string>(["regcred"]), new ValueArray<ContainerSpec>([new ContainerSpec(ContainerRole.Container, 0, "app", "registry.example.com/app:1", null)])));
        SecretObject Pull(string password) => new(new ObjectMetadata("regcred", "team"), "kubernetes.io/dockerconfigjson",
            SecretData.Create([new(".dockerconfigjson", RegistryPolicy.Credentials.DockerConfigJson.Encode("registry.example.com", "robot", password))]));

        OutcomeDiff diff = Compare(ClusterSnapshot.Create(pod, Pull("old-secret-pass")), ClusterSnapshot.Create(pod, Pull("new-secret-pass")));

        ImageChange change = Assert.Single(diff.Images);
        Assert.StartsWith("registry.example.com (sha256:", change.CredentialBefore, StringComparison.Ordinal);
        Assert.NotEqual(change.CredentialBefore, change.CredentialAfter);
        Assert.DoesNotContain("secret-pass", change.ToString(), StringComparison.Ordinal);
    }
}
