using RegistryPolicy.Credentials;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Differential;

/// <summary>Our ServiceAccount patches applied by the real <c>kubectl patch --local --type=json</c>.</summary>
[Trait("Category", "RealComponent")]
public class KubectlPatchDifferentialTests
{
    [SkippableTheory]
    [InlineData(new string[0], new[] { "regcred" })]
    [InlineData(new[] { "other" }, new[] { "regcred", "more" })]
    [InlineData(new[] { "regcred" }, new[] { "regcred" })]
    public void Kubectl_applies_our_patch_and_gives_the_service_account_we_predict(string[] existing, string[] wanted)
    {
        string kubectl = RealTools.Require("kubectl", "kubectl is expected on every machine");
        string list = existing.Length == 0 ? string.Empty : "imagePullSecrets:\n" + string.Concat(existing.Select(e => $"- name: {e}\n"));
        string manifest = $"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: team\n{list}";
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "sa.yaml");
        File.WriteAllText(file, manifest);
        ClusterSnapshot snapshot = ClusterSnapshot.Create(SnapshotReader.Read(manifest, "sa.yaml"));
        var links = wanted.Select(w => new ServiceAccountLink("team", "default", w)).ToArray();

        var patches = ServiceAccountLinks.Plan(snapshot, links, out _);
        if (patches.IsEmpty)
        {
            Assert.All(wanted, w => Assert.Contains(w, existing));
            return;
        }

        string json = "[" + string.Join(",", patches.Single().Patch.Select(p => $"{{\"op\":\"{p.Op}\",\"path\":\"{p.Path}\",\"value\":{p.ValueJson}}}")) + "]";
        ProcessResult run = RealTools.Run(kubectl, ["patch", "--local", "-f", file, "--type=json", "-p", json, "-o", "yaml"]);

        Assert.True(run.ExitCode == 0, run.Error);
        ServiceAccountObject byKubectl = ClusterSnapshot.Create(SnapshotReader.Read(run.Output, "kubectl.yaml")).ServiceAccounts.Single();
        ServiceAccountObject predicted = ServiceAccountLinks.Apply(snapshot, patches).ServiceAccounts.Single();
        Assert.Equal(predicted.ImagePullSecrets.ToArray(), byKubectl.ImagePullSecrets.ToArray());
    }

    [SkippableFact]
    public void Appending_to_a_missing_array_is_the_failure_users_hit()
    {
        string kubectl = RealTools.Require("kubectl", "kubectl is expected on every machine");
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "sa.yaml");
        File.WriteAllText(file, "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: team}\n");

        ProcessResult run = RealTools.Run(kubectl, ["patch", "--local", "-f", file, "--type=json", "-p", "[{\"op\":\"add\",\"path\":\"/imagePullSecrets/-\",\"value\":{\"name\":\"x\"}}]", "-o", "yaml"]);

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("missing path", run.Error, StringComparison.Ordinal);
    }
}
