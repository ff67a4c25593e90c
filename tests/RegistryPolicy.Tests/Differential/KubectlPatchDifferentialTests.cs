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

    [SkippableTheory]
    [InlineData("ibm-iks", "ibm-iks-cluster.yaml")]
    [InlineData("openfaas", "openfaas-cluster.yaml")]
    public void Kubectl_applies_each_presets_planned_patch_to_the_sample_as_the_plan_predicts(string preset, string sample)
    {
        string kubectl = RealTools.Require("kubectl", "kubectl is expected on every machine");
        string text = File.ReadAllText(Path.Combine(Policies.PolicySchemaTests.RepositoryRoot(), "samples", sample));
        ClusterSnapshot snapshot = ClusterSnapshot.Create(SnapshotReader.Read(text, sample));
        RegistryPolicy.Policies.PolicyPresets.TryGet(preset, out RegistryPolicy.Policies.CompiledPolicy? policy);
        RegistryPolicy.Resolution.PropagationPlan plan = RegistryPolicy.Resolution.PolicyEngine.Plan(policy!, snapshot);
        ClusterSnapshot predicted = plan.ApplyTo(snapshot);
        string dir = Directory.CreateTempSubdirectory().FullName;

        Assert.NotEmpty(plan.ServiceAccountPatches);
        foreach (ServiceAccountPatch patch in plan.ServiceAccountPatches)
        {
            ServiceAccountObject account = snapshot.GetServiceAccount(patch.ServiceAccount.Namespace!, patch.ServiceAccount.Name)!;
            string list = account.ImagePullSecrets.Count == 0 ? string.Empty : "imagePullSecrets:\n" + string.Concat(account.ImagePullSecrets.Select(e => $"- name: {e}\n"));
            string file = Path.Combine(dir, $"{account.Namespace}-{account.Name}.yaml");
            File.WriteAllText(file, $"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {account.Name}\n  namespace: {account.Namespace}\n{list}");

            ProcessResult run = RealTools.Run(kubectl, ["patch", "--local", "-f", file, "--type=json", "-p", patch.ToJson(), "-o", "yaml"]);

            Assert.True(run.ExitCode == 0, run.Error);
            ServiceAccountObject byKubectl = ClusterSnapshot.Create(SnapshotReader.Read(run.Output, "kubectl.yaml")).ServiceAccounts.Single();
            Assert.Equal(predicted.GetServiceAccount(account.Namespace!, account.Name)!.ImagePullSecrets.ToArray(), byKubectl.ImagePullSecrets.ToArray());
        }
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
