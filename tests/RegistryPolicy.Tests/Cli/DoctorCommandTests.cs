using System.Text.Json;
using RegistryPolicy.Tests.Policies;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Cli;

public sealed class DoctorCommandTests
{
    private static readonly string Samples = Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples");

    [Fact]
    public void Ibm_steps_nobody_automates_are_marked_manual_and_not_assumed_done()
    {
        CliResult result = CliRunner.Run("doctor", "-f", Path.Combine(Samples, "ibm-iks-cluster.yaml"), "--preset", "ibm-iks", "-o", "json");

        Assert.Equal(0, result.ExitCode);
        using JsonDocument json = JsonDocument.Parse(result.Output);
        JsonElement root = json.RootElement;
        Assert.All(root.GetProperty("pending").EnumerateArray(), p => Assert.False(p.GetProperty("automated").GetBoolean()));
        // Had the copies and links been assumed, team-a/web would pull with all-icr-io.
        JsonElement web = root.GetProperty("pulls").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "web");
        Assert.Equal(JsonValueKind.Null, web.GetProperty("credentialSecret").ValueKind);
        JsonElement[] findings = [.. root.GetProperty("findings").EnumerateArray()];
        Assert.Equal("error", findings[0].GetProperty("severity").GetString());
        Assert.Contains(findings, f => f.GetProperty("code").GetString() == "manual-step" &&
            f.GetProperty("message").GetString()!.StartsWith("manual: nothing will do this for you: create secret team-a/all-icr-io", StringComparison.Ordinal));
        Assert.StartsWith("kubectl get namespaces,secrets,serviceaccounts,pods,deployments", root.GetProperty("capture").GetString(), StringComparison.Ordinal);
        JsonElement create = root.GetProperty("pending").EnumerateArray().First(p => p.GetProperty("action").GetString()!.StartsWith("create secret team-a/all-icr-io", StringComparison.Ordinal));
        Assert.Equal($"registry-policy plan -f {Path.Combine(Samples, "ibm-iks-cluster.yaml")} --preset ibm-iks -o manifests --show-secrets | kubectl apply -f -", create.GetProperty("command").GetString());
        Assert.Contains(findings, f => f.GetProperty("code").GetString() == "no-credential" && f.GetProperty("message").GetString()!.Contains("Fix: create a pull secret for 'us.icr.io'", StringComparison.Ordinal));
    }

    [Fact]
    public void Kyma_propagation_is_done_by_the_controller_and_the_report_names_each_namespaces_registry()
    {
        CliResult result = CliRunner.Run("doctor", "-f", Path.Combine(Samples, "kyma-cluster.yaml"));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("capture a snapshot with: kubectl get namespaces,secrets,serviceaccounts,pods,deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs,functions.serverless.kyma-project.io -A -o yaml > cluster.yaml", result.Output, StringComparison.Ordinal);
        Assert.Contains("Build registry per namespace:", result.Output, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^team-b +namespace +serverless-registry-config +ghcr.io/team-b", result.Output);
        Assert.Contains("  controller: create secret team-b/serverless-registry-config-default", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("manual:", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("example-", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Fail_on_finding_exits_3_when_a_finding_is_an_error()
    {
        CliResult result = CliRunner.Run("doctor", "-f", Path.Combine(Samples, "openfaas-cluster.yaml"), "--preset", "openfaas", "--fail-on-finding");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("credential-not-linked", result.Output, StringComparison.Ordinal);
        Assert.Contains("manual: nothing will do this for you: patch serviceaccount openfaas-fn/default", result.Output, StringComparison.Ordinal);
    }
}
