using System.Diagnostics;
using System.Text.Json;
using RegistryPolicy.Credentials;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Cli;

/// <summary>The command line refuses what it should, and answers bad input with a clear error, never a crash or a hang.</summary>
public sealed class CommandLineHardeningTests
{
    private static readonly string Samples = Path.Combine(Policies.PolicySchemaTests.RepositoryRoot(), "samples");
    private static readonly string Kyma = Path.Combine(Samples, "kyma-cluster.yaml");

    private static string Temp(string name, string text)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory().FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [MemberData(nameof(HelpTests.Commands), MemberType = typeof(HelpTests))]
    public void Every_command_refuses_an_unknown_option_with_exit_2(string command)
    {
        foreach (string bogus in new[] { "--bogus", "-x" })
        {
            CliResult result = CliRunner.Run([.. command.Split(' ', StringSplitOptions.RemoveEmptyEntries), bogus]);
            Assert.True(result.ExitCode == 2, $"'{command} {bogus}' exited {result.ExitCode}: {result.Error}");
            Assert.Contains(bogus, result.Error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("explain", "-f", "KYMA", "-n", "team-a", "-x", "json")]
    [InlineData("resolve", "-f", "KYMA", "--bogus")]
    [InlineData("resolve", "-f", "KYMA", "-n", "team-a", "--bogus")]
    [InlineData("swap", "--mirror-registries", "docker.io::m.io/d", "--bogus", "nginx")]
    [InlineData("ref", "normalize", "nginx", "--bogus")]
    [InlineData("whatif", "--before", "KYMA", "--bogus")]
    public void An_unknown_option_is_never_taken_as_a_value(params string[] args)
    {
        CliResult result = CliRunner.Run([.. args.Select(a => a == "KYMA" ? Kyma : a)]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("unknown option", result.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(result.Output);
    }

    [Theory]
    [InlineData("resolve", "Team_A")]
    [InlineData("explain", "team a")]
    [InlineData("resolve", "x\ny")]
    public void A_namespace_option_that_is_not_a_namespace_name_is_a_usage_error(string command, string name)
    {
        CliResult result = CliRunner.Run(command, "-f", Kyma, "-n", name);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("is not a namespace name", result.Error, StringComparison.Ordinal);
        if (name.Contains('\n', StringComparison.Ordinal))
        {
            Assert.DoesNotContain(name, result.Error, StringComparison.Ordinal); // printed escaped, never raw
        }
    }

    [Fact]
    public void A_namespace_the_snapshot_does_not_have_is_a_warning()
    {
        CliResult result = CliRunner.Run("resolve", "-f", Kyma, "-n", "team-aa");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("namespace-not-in-snapshot", result.Error, StringComparison.Ordinal);
        Assert.Contains("team-aa", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n# nothing\n")]
    [InlineData("---\n---\n")]
    public void An_empty_snapshot_is_an_input_error(string text)
    {
        string file = Temp("empty.yaml", text);

        foreach (string[] args in new[] { new[] { "resolve", "-f", file }, ["plan", "-f", file], ["pulls", "-f", file], ["creds", "decode", "-f", file] })
        {
            CliResult result = CliRunner.Run(args);
            Assert.Equal(1, result.ExitCode);
            Assert.Contains($"no objects in {file}", result.Error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("resolve", "-f", "")]
    [InlineData("policy", "diff", "", "")]
    [InlineData("policy", "validate", "")]
    [InlineData("swap", "--map-file", "", "nginx")]
    [InlineData("creds", "decode", "--dockerconfig", "")]
    public void An_empty_file_name_is_an_input_error(params string[] args)
    {
        CliResult result = CliRunner.Run(args);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("the file name is empty", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("resolve", "--policy", "ZERO", "-f", "KYMA")]
    [InlineData("whatif", "--before", "KYMA", "--changes", "ZERO")]
    [InlineData("swap", "--map-file", "ZERO", "nginx")]
    [InlineData("creds", "decode", "--dockerconfig", "ZERO")]
    [InlineData("creds", "match", "--dockerconfig", "ZERO", "nginx")]
    [InlineData("policy", "validate", "ZERO")]
    public void Endless_input_is_refused_after_a_bounded_read(params string[] args)
    {
        var clock = Stopwatch.StartNew();
        CliResult result = CliRunner.Run([.. args.Select(a => a == "ZERO" ? "/dev/zero" : a == "KYMA" ? Kyma : a)]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("/dev/zero: larger than", result.Error, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the read was not bounded");
    }

    [Fact]
    public void An_endless_snapshot_or_line_stream_stops_with_an_error()
    {
        CliResult snapshot = CliRunner.Run("resolve", "-f", "/dev/zero");
        CliResult lines = CliRunner.Run(new StreamReader(new FileStream("/dev/zero", FileMode.Open, FileAccess.Read)), "ref", "normalize");

        Assert.Equal(1, snapshot.ExitCode);
        Assert.Contains("document-limit", snapshot.Error, StringComparison.Ordinal);
        Assert.Equal(1, lines.ExitCode);
        Assert.Contains("longer than", lines.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_refuses_an_out_path_that_is_a_file_and_a_host_that_would_leave_the_folder()
    {
        string file = Temp("not-a-folder", "x");
        string dir = Directory.CreateTempSubdirectory().FullName;
        string map = Temp("maps.conf", "default::\n..::mirror.example.com/x\ndocker.io::mirror.example.com/docker.io\nr.io/../../etc::m.io/y\n");

        CliResult onFile = CliRunner.Run("render", "hosts-toml", "--map-file", map, "--out", file);
        CliResult rendered = CliRunner.Run("render", "hosts-toml", "--map-file", map, "--out", Path.Combine(dir, "certs.d"));

        Assert.Equal(1, onFile.ExitCode);
        Assert.Contains("not a directory", onFile.Error, StringComparison.Ordinal);
        Assert.Equal(0, rendered.ExitCode);
        Assert.Equal([Path.Combine(dir, "certs.d", "docker.io", "hosts.toml")], Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories));
        Assert.Contains("mirror-invalid-host", rendered.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_names_this_tools_options_when_one_is_missing()
    {
        CliResult noUser = CliRunner.Run("encode", "--password", "p");
        CliResult emptyServer = CliRunner.Run("encode", "--server=", "--username", "u", "--password", "p");

        Assert.Equal(1, noUser.ExitCode);
        Assert.StartsWith("error: --username is required", noUser.Error, StringComparison.Ordinal);
        Assert.Equal(1, emptyServer.ExitCode);
        Assert.StartsWith("error: --server was given empty", emptyServer.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--max-secrets", "-1")]
    [InlineData("--max-namespaces", "-3")]
    [InlineData("--max-secrets", "1000")]
    public void Policy_diff_refuses_bounds_that_cannot_be_meant(string option, string value)
    {
        CliResult result = CliRunner.Run("policy", "diff", Kyma, Kyma, option, value);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(option, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Registry_info_diagnostics_carry_file_line_and_column_and_flag_the_password_placeholder()
    {
        string file = Temp("registry-info.yaml", "# Palette's example, not filled in\napiVersion: v1\nkind: Secret\nmetadata: {name: registry-info, namespace: jet-system}\nstringData:\n  DOMAIN: harbor.example.org\n  BASE_PATH: airgap\n  INSECURE: \"false\"\n  USERNAME: robot\n  PASSWORD: REPLACE_WITH_PASSWORD\n  MIRROR_REGISTRIES: docker.io::harbor.example.org/airgap/docker.io,nonsense\n");

        CliResult result = CliRunner.Run("render", "containerd", "--registry-info", file);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"error placeholder: {file}:2:1 Secret jet-system/registry-info data[PASSWORD]", result.Error, StringComparison.Ordinal);
        Assert.Contains($"{file}:2:1 Secret jet-system/registry-info data[MIRROR_REGISTRIES] entry 2", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("REPLACE_WITH_PASSWORD", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rewrite_that_is_not_a_valid_reference_is_an_error_and_swap_check_agrees()
    {
        const string mirrors = "docker.io::harbor.example.org/airgap-images/docker.io";

        CliResult swap = CliRunner.Run("swap", "--mirror-registries", mirrors, "localhost:5000/app:1", "nginx:1.25");
        CliResult json = CliRunner.Run("swap", "--mirror-registries", mirrors, "-o", "json", "localhost:5000/app:1");
        CliResult check = CliRunner.Run("swap", "check", "--mirror-registries", mirrors, "localhost:5000/app:1");
        CliResult reference = CliRunner.Run("swap", "--mirror-registries", mirrors, "--dialect", "reference", "localhost:5000/app:1");

        Assert.Equal(1, swap.ExitCode);
        Assert.Equal(["harbor.example.org/airgap-images/docker.io/localhost:5000/app:1", "harbor.example.org/airgap-images/docker.io/nginx:1.25"], swap.Lines);
        Assert.Contains("error invalid-rewrite: localhost:5000/app:1", swap.Error, StringComparison.Ordinal);
        Assert.False(JsonDocument.Parse(json.Output).RootElement.GetProperty("valid").GetBoolean());
        Assert.True(JsonDocument.Parse(json.Output).RootElement.GetProperty("brokenByRewrite").GetBoolean());
        Assert.Equal(3, check.ExitCode);
        Assert.Contains("not a valid reference", check.Output, StringComparison.Ordinal);
        Assert.Equal(0, reference.ExitCode);
        Assert.Equal(["localhost:5000/app:1"], reference.Lines);
    }

    [Theory]
    [InlineData("type: kubernetes.io/dockerconfigjson\nstringData: {username: u, password: p, serverAddress: r.io}\n", "data[.dockerconfigjson]")]
    [InlineData("data: {username: dQ==, password: \"not base64\", serverAddress: ci5pbw==}\n", "data[password]")]
    public void A_secret_the_api_server_refuses_is_refused_by_admit_and_absent_for_resolve(string body, string field)
    {
        string secret = $"apiVersion: v1\nkind: Secret\nmetadata:\n  name: serverless-registry-config\n  namespace: team-z\n  labels: {{serverless.kyma-project.io/remote-registry: config}}\n{body}";
        string file = Temp("secret.yaml", secret);
        string dir = Directory.CreateTempSubdirectory().FullName;
        File.Copy(Kyma, Path.Combine(dir, "a.yaml"));
        File.Copy(file, Path.Combine(dir, "b.yaml"));

        CliResult admit = CliRunner.Run("admit", "-f", file);
        CliResult admitJson = CliRunner.Run("admit", "-f", file, "-o", "json");
        CliResult resolve = CliRunner.Run("resolve", "-f", dir, "-n", "team-z", "-o", "json");

        Assert.Equal(3, admit.ExitCode);
        Assert.StartsWith("refused (422, by the API server): Secret team-z/serverless-registry-config", admit.Output, StringComparison.Ordinal);
        Assert.Contains(field, admit.Output, StringComparison.Ordinal);
        Assert.Equal("api-server", JsonDocument.Parse(admitJson.Output).RootElement.GetProperty("refusedBy").GetString());
        Assert.Equal(1, resolve.ExitCode);
        JsonElement teamZ = JsonDocument.Parse(resolve.Output).RootElement.GetProperty("namespaces")[0];
        Assert.Equal("team-z", teamZ.GetProperty("namespace").GetString());
        // Not a namespace override with an empty push address: the Secret does not exist, so the cluster-wide default applies.
        Assert.NotEqual("namespace", teamZ.GetProperty("source").GetString());
        Assert.NotEqual("serverless-registry-config", teamZ.GetProperty("secret").GetProperty("name").GetString());
    }

    [Fact]
    public void A_pull_secret_the_kubelet_cannot_read_fails_every_pull_of_the_pod()
    {
        string good = Convert.ToBase64String(DockerConfigJson.Encode("registry.example.com", "robot", "robot-pass"));
        string bad = Convert.ToBase64String("{\"auths\":{\"registry.example.com\":{\"auth\":\"not base64!\"}}}"u8.ToArray());
        string file = Temp("cluster.yaml", $$"""
            apiVersion: v1
            kind: Secret
            metadata: {name: broken, namespace: team}
            type: kubernetes.io/dockerconfigjson
            data: {.dockerconfigjson: {{bad}}}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: fine, namespace: team}
            type: kubernetes.io/dockerconfigjson
            data: {.dockerconfigjson: {{good}}}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: app, namespace: team}
            spec:
              imagePullSecrets: [{name: broken}, {name: fine}]
              containers: [{name: app, image: registry.example.com/team/app:1}, {name: hub, image: nginx:1.25}]
            """);

        CliResult result = CliRunner.Run("pulls", "-f", file, "-o", "json", "--fail-on-finding");

        Assert.Equal(3, result.ExitCode); // error findings, asked to fail on (the file itself reads cleanly)
        JsonElement[] containers = [.. JsonDocument.Parse(result.Output).RootElement.GetProperty("containers").EnumerateArray()];
        Assert.Equal(2, containers.Length);
        Assert.All(containers, c =>
        {
            Assert.Equal(JsonValueKind.Null, c.GetProperty("credentialKey").ValueKind);
            string[] codes = [.. c.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("code").GetString()!)];
            Assert.Contains("pull-secret-unreadable", codes);
            Assert.DoesNotContain("no-credential", codes);
        });
    }

    [Fact]
    public void Creds_decode_reads_files_with_the_one_guarded_reader()
    {
        string deep = new string('[', 55_000) + new string(']', 55_000);
        string aliasKeys = "base: &k {a: 1, b: [x, y]}\nm:\n" + string.Concat(Enumerable.Range(0, 400).Select(i => $"  ? *k\n  : {i}\n"));
        string good = Convert.ToBase64String(DockerConfigJson.Encode("r.io", "u", "p"));
        string file = Temp("secrets.yaml", $"kind: ConfigMap\nmetadata: {{name: first, namespace: team}}\n---\n{deep}\n---\n{aliasKeys}---\napiVersion: v1\nkind: Secret\nmetadata: {{name: regcred, namespace: team}}\ntype: kubernetes.io/dockerconfigjson\ndata: {{.dockerconfigjson: {good}}}\n");

        var clock = Stopwatch.StartNew();
        CliResult result = CliRunner.Run("creds", "decode", "-f", file);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("document-limit", result.Error, StringComparison.Ordinal);
        Assert.Contains(result.Lines, l => l.StartsWith("team/regcred ", StringComparison.Ordinal) && l.Contains("r.io", StringComparison.Ordinal));
    }

    [Fact]
    public void Swap_yaml_prints_only_workloads_and_never_a_secret()
    {
        string file = Temp("mixed.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: team\n  annotations: {kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"password\":\"c2VjcmV0LXZhbHVl\"}}'}\nstringData: {password: secret-value}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: team}\nspec: {containers: [{name: a, image: nginx}]}\n");

        CliResult result = CliRunner.Run("swap", "--mirror-registries", "docker.io::m.io/d", "-f", file, "-o", "yaml");

        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain("secret-value", result.Output + result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0LXZhbHVl", result.Output + result.Error, StringComparison.Ordinal);
        Assert.Contains("image: m.io/d/nginx", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--max-secrets", "abc")]
    [InlineData("--max-secrets", "99999999999")]
    [InlineData("--max-namespaces", "1.5")]
    [InlineData("--max-namespaces", "")]
    public void A_bound_that_is_not_a_whole_number_is_a_usage_error_not_a_crash(string option, string value)
    {
        string policy = Temp("p.yaml", PolicyTextOf("kyma-serverless"));

        CliResult result = CliRunner.Run("policy", "diff", policy, policy, option, value);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(option, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", result.Error + result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_password_on_standard_input_is_bounded()
    {
        CliResult result = CliRunner.RunWithInput(new string('x', 200_000), "encode", "--username", "u", "--password-stdin");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("larger than 64 KiB", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_from_a_pod_spec_cannot_break_a_table_row_or_reach_the_terminal_raw()
    {
        string pod = Temp("pod.yaml", """
            apiVersion: v1
            kind: Pod
            metadata:
              name: p
              namespace: team-a
            spec:
              imagePullSecrets:
                - name: "x\e[31mRED"
              containers:
                - name: "c\nfake-row"
                  image: "nginx\n\e[2Jcleared"
            """);

        CliResult result = CliRunner.Run("pulls", "-f", pod);

        Assert.DoesNotContain('\u001b', result.Output + result.Error);
        Assert.DoesNotContain(result.Output.Split('\n'), line => line.StartsWith("fake-row", StringComparison.Ordinal) || line.StartsWith("cleared", StringComparison.Ordinal));
        Assert.Contains("\\u001b", result.Output + result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("creds", "decode")]
    [InlineData("swap", "nginx")]
    public void A_usage_error_found_after_parsing_points_to_the_help_too(params string[] args)
    {
        CliResult result = CliRunner.Run(args);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--help' for usage and examples", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_reference_that_cannot_be_looked_up_is_an_error_on_stderr()
    {
        CliResult result = CliRunner.Run("creds", "match", "--dockerconfig", Path.Combine(Samples, "dockerconfig.json"), "NGINX");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error:", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("error:", result.Output, StringComparison.Ordinal);
    }

    private static string PolicyTextOf(string preset) => RegistryPolicy.Policies.PolicyPresets.TryGetText(preset, out string? text) ? text : throw new InvalidOperationException(preset);

    [Theory]
    [InlineData("resolve", "-f", "@cluster", "-f")]
    [InlineData("resolve", "-f", "@cluster", "-n", "team-a", "-n")]
    [InlineData("whatif", "--before", "@cluster", "--after")]
    [InlineData("pulls", "-f", "@cluster", "-f", "-o", "json")]
    public void An_option_repeated_without_a_value_is_a_usage_error(params string[] args)
    {
        string cluster = Path.Combine(RegistryPolicy.Tests.Policies.PolicySchemaTests.RepositoryRoot(), "samples", "kyma-cluster.yaml");

        CliResult result = CliRunner.Run([.. args.Select(a => a == "@cluster" ? cluster : a)]);

        Assert.Equal(2, result.ExitCode);
        Assert.Matches("given without a value|Required argument missing|unknown option '-o'", result.Error);
    }

    [Fact]
    public void An_empty_image_swapped_is_reported_as_not_valid_and_render_exits_1_on_a_map_with_a_skipped_line()
    {
        string map = Path.Combine(Directory.CreateTempSubdirectory("rp-map-").FullName, "maps.conf");
        File.WriteAllText(map, "default::\nnocolons\ndocker.io::harbor.example.org/hub\n");

        CliResult json = CliRunner.RunWithInput("\n", "swap", "--map-file", Path.Combine(RegistryPolicy.Tests.Policies.PolicySchemaTests.RepositoryRoot(), "samples", "maps.conf"), "-o", "json");
        CliResult render = CliRunner.Run("render", "containerd", "--map-file", map);
        CliResult swap = CliRunner.Run("swap", "--map-file", map, "nginx");

        Assert.False(JsonDocument.Parse(json.Output).RootElement.GetProperty("valid").GetBoolean());
        Assert.Equal(1, render.ExitCode);
        Assert.Equal(swap.ExitCode, render.ExitCode);
        Assert.Contains("error line-skipped", render.Error, StringComparison.Ordinal);
        Assert.Contains("harbor.example.org/hub", render.Output, StringComparison.Ordinal);
    }
}
