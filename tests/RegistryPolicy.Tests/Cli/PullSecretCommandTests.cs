using System.Text.Json;
using RegistryPolicy.Tests.Policies;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Cli;

/// <summary><c>plan</c> and <c>pulls</c> with the openfaas and ibm-iks presets, on the bundled samples.</summary>
public sealed class PullSecretCommandTests
{
    private static readonly string Samples = Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples");
    private static readonly string Ibm = Path.Combine(Samples, "ibm-iks-cluster.yaml");
    private static readonly string OpenFaas = Path.Combine(Samples, "openfaas-cluster.yaml");

    /// <summary>Every made-up password of the two samples, and its base64.</summary>
    private static readonly string[] SampleSecrets =
    [
        "made-up-iam-api-key-0001", "made-up-legacy-token-0002", "made-up-hub-token-0003", "made-up-restricted-key-0004",
        "made-up-hub-token-0005", "made-up-registry-token-0006", "made-up-adhoc-token-0007", "made-up-api-key",
        "bWFkZS11cC1pYW0tYXBpLWtleS0wMDAx", "bWFkZS11cC1hcGkta2V5",
    ];

    [Fact]
    public void Plan_json_lists_the_service_account_patches_with_their_rfc_6902_operations()
    {
        CliResult result = CliRunner.Run("plan", "-f", Ibm, "--preset", "ibm-iks", "-o", "json");

        Assert.Equal(0, result.ExitCode);
        using JsonDocument json = JsonDocument.Parse(result.Output);
        JsonElement[] patches = [.. json.RootElement.GetProperty("serviceAccountPatches").EnumerateArray()];
        Assert.Equal(["team-a/default", "team-b/default"], patches.Select(p => p.GetProperty("serviceAccount").GetString()));
        JsonElement first = patches[0].GetProperty("patch")[0];
        Assert.Equal(("add", "/imagePullSecrets", "all-icr-io"),
            (first.GetProperty("op").GetString(), first.GetProperty("path").GetString(), first.GetProperty("value")[0].GetProperty("name").GetString()));
        Assert.Equal("/imagePullSecrets/-", patches[1].GetProperty("patch")[0].GetProperty("path").GetString());
        Assert.Contains(json.RootElement.GetProperty("actions").EnumerateArray(), a => a.GetProperty("secret").GetString() == "team-a/team-a-us-icr-io");
    }

    [Fact]
    public void Plan_table_and_manifests_show_patches_as_rows_and_kubectl_patch_commands()
    {
        CliResult table = CliRunner.Run("plan", "-f", OpenFaas, "--preset", "openfaas");
        CliResult yaml = CliRunner.Run("plan", "-f", OpenFaas, "--preset", "openfaas", "-o", "manifests");

        Assert.Matches(@"(?m)^patch +serviceaccount openfaas-fn/default +function-pull-secrets +link the pull secrets docker-hub-creds, dockerhub, private-registry", table.Output);
        Assert.Contains("# run: kubectl patch -n openfaas-fn serviceaccount/default --type=json -p '[{\"op\":\"add\",\"path\":\"/imagePullSecrets\",\"value\":[{\"name\":\"docker-hub-creds\"}]}",
            yaml.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Pulls_with_a_preset_shows_the_cluster_after_its_plan_and_as_is_before_it()
    {
        CliResult after = CliRunner.Run("pulls", "-f", Ibm, "--preset", "ibm-iks", "-o", "json", "--fail-on-finding");
        CliResult before = CliRunner.Run("pulls", "-f", Ibm, "--preset", "ibm-iks", "--view", "as-is", "-o", "json", "--fail-on-finding");

        Assert.Equal((0, 3), (after.ExitCode, before.ExitCode));
        using JsonDocument json = JsonDocument.Parse(after.Output);
        JsonElement web = json.RootElement.GetProperty("containers").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "web");
        Assert.Equal("us.icr.io", web.GetProperty("credentialKey").GetString());
        Assert.Equal(["all-icr-io"], web.GetProperty("pullSecrets").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public void Pulls_takes_the_presets_pull_policy_unless_the_option_overrides_it()
    {
        static string Policy(CliResult r, string name)
        {
            using JsonDocument json = JsonDocument.Parse(r.Output);
            return json.RootElement.GetProperty("containers").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name).GetProperty("pullPolicy").GetString()!;
        }

        CliResult preset = CliRunner.Run("pulls", "-f", OpenFaas, "--preset", "openfaas", "-o", "json");
        CliResult overridden = CliRunner.Run("pulls", "-f", OpenFaas, "--preset", "openfaas", "--default-pull-policy", "Never", "-o", "json");

        Assert.Equal(("Always", "IfNotPresent"), (Policy(preset, "figlet"), Policy(preset, "worker")));
        Assert.Equal(("Never", "Never", "IfNotPresent"), (Policy(overridden, "figlet"), Policy(overridden, "worker"), Policy(overridden, "nodeinfo")));
    }

    [Theory]
    [InlineData("plan", "-f", "@ibm", "--preset", "ibm-iks", "-o", "json")]
    [InlineData("plan", "-f", "@ibm", "--preset", "ibm-iks", "-o", "yaml")]
    [InlineData("plan", "-f", "@ibm", "--preset", "ibm-iks", "-o", "manifests")]
    [InlineData("explain", "-f", "@ibm", "--preset", "ibm-iks", "--namespace", "team-a", "-o", "json")]
    [InlineData("pulls", "-f", "@openfaas", "-o", "wide")]
    [InlineData("plan", "-f", "@openfaas", "--preset", "openfaas")]
    [InlineData("pulls", "-f", "@ibm", "--preset", "ibm-iks", "-o", "json")]
    [InlineData("pulls", "-f", "@openfaas", "--preset", "openfaas")]
    [InlineData("resolve", "-f", "@ibm", "--preset", "ibm-iks", "-o", "json")]
    [InlineData("explain", "-f", "@ibm", "--preset", "ibm-iks", "--namespace", "team-a")]
    public void No_credential_of_the_samples_is_printed(params string[] args)
    {
        string[] resolved = [.. args.Select(a => a switch { "@ibm" => Ibm, "@openfaas" => OpenFaas, _ => a })];

        CliResult result = CliRunner.Run(resolved);

        Assert.True(result.ExitCode is 0 or 1, result.Error);
        Assert.All(SampleSecrets, s => Assert.DoesNotContain(s, result.Output + result.Error, StringComparison.Ordinal));
    }

    [Fact]
    public void Resolve_with_a_policy_without_resolution_points_to_plan_and_pulls()
    {
        CliResult result = CliRunner.Run("resolve", "-f", Ibm, "--preset", "ibm-iks");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("has no resolution rule", result.Error, StringComparison.Ordinal);
        Assert.Contains("'registry-policy pulls'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Policy_show_converts_a_policy_file_to_json_that_loads_as_the_same_policy()
    {
        string yamlFile = Path.Combine(PolicySchemaTests.RepositoryRoot(), "src", "RegistryPolicy", "Policies", "Presets", "ibm-iks.yaml");

        CliResult result = CliRunner.Run("policy", "show", yamlFile, "-o", "json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(File.ReadAllText(Path.ChangeExtension(yamlFile, ".json")).TrimEnd(), result.Output.TrimEnd());
    }

    [Fact]
    public void Policy_show_of_a_file_with_errors_exits_1_with_the_location()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "bad.yaml");
        File.WriteAllText(file, "apiVersion: registrypolicy.dev/v1alpha1\nkind: RegistryPolicy\nmetadata: {name: bad}\nspec:\n  pulls: {defaultPullPolicy: sometimes}\n");

        CliResult result = CliRunner.Run("policy", "show", file, "-o", "json");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("bad.yaml:5:", result.Error, StringComparison.Ordinal);
        Assert.Contains("use Always, IfNotPresent or Never", result.Error, StringComparison.Ordinal);
    }
}
