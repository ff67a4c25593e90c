using System.Text.Json;
using RegistryPolicy.Tests.Policies;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Cli;

public sealed class ResolutionCommandTests
{
    private static readonly string Samples = Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples");
    private static readonly string Cluster = Path.Combine(Samples, "kyma-cluster.yaml");
    private static readonly string Override = Path.Combine(Samples, "cluster-wide-override.yaml");

    /// <summary>Every password in the samples, and the base64 of each (as it appears in data and in auth).</summary>
    private static readonly string[] SampleSecrets =
    [
        "example-internal-password", "example-platform-token", "example-team-a-token", "example-team-b-token", "example-mirror-token",
        "ZXhhbXBsZS1pbnRlcm5hbC1wYXNzd29yZA", "ZXhhbXBsZS1wbGF0Zm9ybS10b2tlbg", "ZXhhbXBsZS10ZWFtLWEtdG9rZW4",
    ];

    [Fact]
    public void Resolve_prints_one_row_per_namespace_of_the_sample()
    {
        CliResult result = CliRunner.Run("resolve", "-f", Cluster);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("NAMESPACE", result.Lines[0].Split(' ')[0]);
        Assert.Equal(["default", "kube-system", "kyma-system", "old-team", "team-a", "team-b", "team-c"], result.Lines.Skip(1).Select(l => l.Split(' ')[0]));
        Assert.Contains(result.Lines, l => l.StartsWith("team-a ", StringComparison.Ordinal) && l.Contains("user-managed", StringComparison.Ordinal));
        Assert.Contains("base-never-read", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_json_has_the_documented_shape_sorted_by_namespace()
    {
        CliResult result = CliRunner.Run("resolve", "-f", Cluster, "-f", Override, "-o", "json");

        using JsonDocument json = JsonDocument.Parse(result.Output);
        JsonElement[] namespaces = [.. json.RootElement.GetProperty("namespaces").EnumerateArray()];
        Assert.Equal(namespaces.Select(n => n.GetProperty("namespace").GetString()).Order(StringComparer.Ordinal), namespaces.Select(n => n.GetProperty("namespace").GetString()));
        JsonElement teamB = namespaces.Single(n => n.GetProperty("namespace").GetString() == "team-b");
        Assert.Equal("cluster-wide", teamB.GetProperty("source").GetString());
        Assert.Equal("team-b", teamB.GetProperty("secret").GetProperty("namespace").GetString());
        Assert.Equal("serverless-registry-config", teamB.GetProperty("secret").GetProperty("name").GetString());
        foreach (string field in new[] { "pushAddress", "pullAddress", "registryAddress", "serverAddress", "username", "credentialFingerprint", "reason" })
        {
            Assert.True(teamB.TryGetProperty(field, out _), field);
        }

        Assert.Equal("converged", json.RootElement.GetProperty("view").GetString());
        Assert.Contains(json.RootElement.GetProperty("diagnostics").EnumerateArray(), d => d.GetProperty("code").GetString() == "override-overwritten");
    }

    [Fact]
    public void Resolve_reports_a_namespace_the_snapshot_does_not_mention()
    {
        CliResult result = CliRunner.Run("resolve", "-f", Cluster, "-n", "brand-new", "-o", "json");

        using JsonDocument json = JsonDocument.Parse(result.Output);
        JsonElement only = Assert.Single(json.RootElement.GetProperty("namespaces").EnumerateArray());
        Assert.Equal("brand-new", only.GetProperty("namespace").GetString());
        Assert.Equal("default", only.GetProperty("source").GetString());
    }

    [Fact]
    public void Resolve_yaml_is_valid_yaml_with_the_same_content_as_json()
    {
        CliResult yaml = CliRunner.Run("resolve", "-f", Cluster, "-o", "yaml");
        CliResult json = CliRunner.Run("resolve", "-f", Cluster, "-o", "json");

        var fromYaml = RegistryPolicy.Snapshots.SnapshotReader.Read(yaml.Output, "out.yaml");
        Assert.DoesNotContain(fromYaml.Diagnostics, d => d.Code.StartsWith("yaml", StringComparison.Ordinal));
        Assert.Contains("namespace: team-a", yaml.Output, StringComparison.Ordinal);
        Assert.Contains("source: user-managed", yaml.Output, StringComparison.Ordinal);
        Assert.Equal(json.ExitCode, yaml.ExitCode);
    }

    [Fact]
    public void The_as_is_view_shows_what_the_controller_reads_now()
    {
        CliResult result = CliRunner.Run("resolve", "-f", Cluster, "--view", "as-is", "-o", "json");

        using JsonDocument json = JsonDocument.Parse(result.Output);
        Assert.Equal("none", json.RootElement.GetProperty("namespaces").EnumerateArray().Single(n => n.GetProperty("namespace").GetString() == "team-c").GetProperty("source").GetString());
    }

    [Fact]
    public void Input_errors_exit_1_and_the_rest_is_still_resolved()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        File.Copy(Cluster, Path.Combine(dir, "a.yaml"));
        File.WriteAllText(Path.Combine(dir, "b.yaml"), "kind: Secret\nmetadata: {name: bad, namespace: team-z}\ndata: {x: \"!!\"}\n---\nkind: Secret\nmetadata: {name: fine, namespace: team-y}\n");

        CliResult result = CliRunner.Run("resolve", "-f", dir);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("b.yaml:3:", result.Error, StringComparison.Ordinal);
        Assert.Contains("treated as absent", result.Error, StringComparison.Ordinal);
        Assert.Contains(result.Lines, l => l.StartsWith("team-a ", StringComparison.Ordinal));
        Assert.Contains(result.Lines, l => l.StartsWith("team-y ", StringComparison.Ordinal));
        // The API server refuses the bad Secret, so it is not stored: it is no namespace override, and team-z is not known from it.
        Assert.DoesNotContain(result.Lines, l => l.StartsWith("team-z ", StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_file_exits_1_and_a_bad_option_exits_2()
    {
        Assert.Equal(1, CliRunner.Run("resolve", "-f", "/nonexistent/x.yaml").ExitCode);
        Assert.Equal(2, CliRunner.Run("resolve", "-f", Cluster, "--view", "sideways").ExitCode);
        Assert.Equal(2, CliRunner.Run("resolve", "-f", Cluster, "--preset", "nope").ExitCode);
        Assert.Equal(2, CliRunner.Run("resolve", "-f", Cluster, "--preset", "kyma-serverless", "--policy", "x.yaml").ExitCode);
    }

    [Fact]
    public void A_policy_file_with_errors_exits_1_listing_each_with_its_location()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "p.yaml");
        File.WriteAllText(file, "apiVersion: registrypolicy.dev/v1alpha1\nkind: RegistryPolicy\nmetadata: {name: p}\nspec: {resolution: {candidates: [{name: x, sorce: default}]}}\n");

        CliResult result = CliRunner.Run("resolve", "-f", Cluster, "--policy", file);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"{file}:4:", result.Error, StringComparison.Ordinal);
        Assert.Contains("did you mean 'source'?", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_shows_the_trace_for_people()
    {
        CliResult result = CliRunner.Run("explain", "-f", Cluster, "-f", Override, "-n", "team-b");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("namespace team-b: cluster-wide", result.Output, StringComparison.Ordinal);
        Assert.Contains("[applied] candidate 1", result.Output, StringComparison.Ordinal);
        Assert.Contains("override-overwritten", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_json_lists_actions_with_op_secret_and_reason()
    {
        CliResult result = CliRunner.Run("plan", "-f", Cluster, "-o", "json");

        using JsonDocument json = JsonDocument.Parse(result.Output);
        JsonElement[] actions = [.. json.RootElement.GetProperty("actions").EnumerateArray()];
        Assert.Contains(actions, a => a.GetProperty("op").GetString() == "create" && a.GetProperty("secret").GetString() == "team-c/serverless-registry-config-default");
        Assert.All(actions, a => Assert.False(string.IsNullOrEmpty(a.GetProperty("reason").GetString())));
        Assert.DoesNotContain(actions, a => a.GetProperty("secret").GetString()!.StartsWith("kube-system/", StringComparison.Ordinal));
    }

    [Fact]
    public void Plan_manifests_with_show_secrets_prints_manifests_that_read_back_as_the_planned_secrets()
    {
        CliResult result = CliRunner.Run("plan", "-f", Cluster, "-o", "manifests", "--show-secrets");

        var read = RegistryPolicy.Snapshots.SnapshotReader.Read(result.Output, "plan.yaml");
        Assert.Empty(read.Diagnostics);
        var copy = (RegistryPolicy.Snapshots.SecretObject)read.Objects.Single(o => o.Item.Reference.ToString() == "Secret team-c/serverless-registry-config-default").Item;
        var snapshot = RegistryPolicy.Snapshots.ClusterSnapshot.Create(RegistryPolicy.Snapshots.SnapshotReader.Read(File.ReadAllText(Cluster), Cluster));
        Assert.Equal(snapshot.GetSecret("kyma-system", "serverless-registry-config-default")!.Data, copy.Data);
    }

    [Fact]
    public void Admit_refuses_a_labelled_secret_without_username_with_exit_3()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "s.yaml");
        File.WriteAllText(file, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: reg\n  namespace: team\n  labels: {serverless.kyma-project.io/remote-registry: config}\nstringData: {password: p, serverAddress: s}\n");

        CliResult result = CliRunner.Run("admit", "-f", file, "-o", "json");

        Assert.Equal(3, result.ExitCode);
        using JsonDocument json = JsonDocument.Parse(result.Output);
        Assert.False(json.RootElement.GetProperty("allowed").GetBoolean());
        Assert.Equal("username field not found", json.RootElement.GetProperty("reason").GetString());
    }

    [Fact]
    public void Admit_shows_the_patch_value_only_with_show_secrets()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "s.yaml");
        File.WriteAllText(file, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: reg\n  namespace: team\n  labels: {serverless.kyma-project.io/remote-registry: config}\nstringData: {username: test, password: test, serverAddress: test}\n");

        CliResult hidden = CliRunner.Run("admit", "-f", file, "-o", "json");
        CliResult shown = CliRunner.Run("admit", "-f", file, "-o", "json", "--show-secrets");

        Assert.Equal(0, hidden.ExitCode);
        Assert.DoesNotContain("dGVzdDp0ZXN0", hidden.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("dGVzdA", hidden.Output, StringComparison.Ordinal);
        using JsonDocument json = JsonDocument.Parse(shown.Output);
        string value = json.RootElement.GetProperty("patch")[0].GetProperty("value").GetString()!;
        Assert.Equal("""{"auths":{"test":{"auth":"dGVzdDp0ZXN0"}}}""", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(value)));
    }

    [Theory]
    [InlineData("resolve", "table")]
    [InlineData("resolve", "json")]
    [InlineData("resolve", "yaml")]
    [InlineData("plan", "table")]
    [InlineData("plan", "json")]
    [InlineData("plan", "yaml")]
    [InlineData("explain", "")]
    public void No_command_prints_a_credential_without_show_secrets(string command, string format)
    {
        List<string> args = [command, "-f", Cluster, "-f", Override];
        if (format.Length > 0)
        {
            args.AddRange(["-o", format]);
        }

        if (command == "explain")
        {
            args.AddRange(["-n", "team-a", "-n", "team-b", "-n", "kyma-system", "-n", "team-c"]);
        }

        CliResult result = CliRunner.Run([.. args]);

        Assert.Equal(0, result.ExitCode);
        foreach (string secret in SampleSecrets)
        {
            Assert.DoesNotContain(secret, result.Output + result.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Policy_list_show_validate_and_schema_work_together()
    {
        CliResult list = CliRunner.Run("policy", "list");
        CliResult show = CliRunner.Run("policy", "show", "kyma-serverless");
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "copy.yaml");
        File.WriteAllText(file, show.Output);
        CliResult validate = CliRunner.Run("policy", "validate", file);
        CliResult schema = CliRunner.Run("policy", "schema");
        CliResult json = CliRunner.Run("policy", "show", "kyma-serverless-module", "-o", "json");

        Assert.Contains("kyma-serverless (default)", list.Output, StringComparison.Ordinal);
        Assert.Contains("kyma-serverless-module", list.Output, StringComparison.Ordinal);
        Assert.Equal(0, validate.ExitCode);
        Assert.Contains("valid policy 'kyma-serverless'", validate.Output, StringComparison.Ordinal);
        using JsonDocument parsed = JsonDocument.Parse(schema.Output);
        Assert.Equal("object", parsed.RootElement.GetProperty("type").GetString());
        using JsonDocument module = JsonDocument.Parse(json.Output);
        Assert.Equal("kyma-serverless-module", module.RootElement.GetProperty("metadata").GetProperty("name").GetString());
        Assert.Equal(2, CliRunner.Run("policy", "show", "nope").ExitCode);
    }

    [Fact]
    public void Policy_validate_exits_1_on_errors()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "bad.yaml");
        File.WriteAllText(file, "apiVersion: registrypolicy.dev/v1alpha1\nkind: RegistryPolicy\nmetadata: {name: Bad_Name}\nspec: {}\n");

        CliResult result = CliRunner.Run("policy", "validate", file);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("bad-name", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_snapshot_can_be_read_from_standard_input()
    {
        CliResult result = CliRunner.RunWithInput(File.ReadAllText(Cluster), "resolve", "-f", "-", "-n", "team-a");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("user-managed", result.Output, StringComparison.Ordinal);
    }
}
