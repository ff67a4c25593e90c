using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using RegistryPolicy.Policies;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Kubernetes.Controller;

/// <summary>The CLI against the fake API server: live reads answer as a kubectl dump does, and <c>controller</c> runs, serves health, and stops on SIGTERM.</summary>
public sealed class ControllerCommandTests : IAsyncLifetime
{
    private FakeApiServer _server = null!;
    private string _kubeconfig = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeApiServer.StartAsync();
        _kubeconfig = Kubeconfigs.Write(_server.Url);
        _server.SeedManifests(File.ReadAllText(Path.Combine(Policies.PolicySchemaTests.RepositoryRoot(), "samples", "kyma-cluster.yaml")));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_kubeconfig);
    }

    private string KubectlDump()
    {
        string kubectl = RealTools.Require("kubectl", "kubectl v1.32 from the Kubernetes apt repository");
        ProcessResult dump = RealTools.Run(kubectl, ["--kubeconfig", _kubeconfig, "get", "namespaces,secrets,serviceaccounts,pods", "-A", "-o", "json"], timeout: TimeSpan.FromSeconds(60));
        Assert.True(dump.ExitCode == 0, dump.Error);
        return dump.Output;
    }

    [SkippableTheory]
    [InlineData("resolve")]
    [InlineData("plan")]
    [InlineData("pulls")]
    [InlineData("doctor")]
    public void A_live_read_answers_exactly_as_kubectl_get_json_piped_to_dash_f(string command)
    {
        string dump = KubectlDump();
        CliResult fromDump = CliRunner.RunWithInput(dump, command, "-f", "-", "-o", "json");
        CliResult live = CliRunner.Run(command, "--kubeconfig", _kubeconfig, "-o", "json");

        Assert.Equal(fromDump.ExitCode, live.ExitCode);
        // Diagnostics say where they were read (a line of the dump, a page of the API); doctor's fix commands name the inputs. The rest is the same.
        Assert.Equal(Comparable(fromDump.Output, "-f -"), Comparable(live.Output, $"--kubeconfig {_kubeconfig}"));
    }

    [SkippableFact]
    public void Whatif_on_the_live_cluster_answers_as_the_same_change_to_a_kubectl_dump()
    {
        string dump = KubectlDump();
        string changes = Path.Combine(PolicySchemaTestsRoot, "samples", "changes-team-b-user-managed.yaml");
        CliResult fromDump = CliRunner.RunWithInput(dump, "whatif", "--before", "-", "--changes", changes, "-o", "json");
        CliResult live = CliRunner.Run("whatif", "--kubeconfig", _kubeconfig, "--changes", changes, "-o", "json");

        Assert.Equal(0, live.ExitCode);
        Assert.Contains("team-b", live.Output, StringComparison.Ordinal);
        Assert.Equal(Comparable(fromDump.Output, "-"), Comparable(live.Output, _kubeconfig));

        CliResult both = CliRunner.Run("whatif", "--kubeconfig", _kubeconfig, "--before", "samples/kyma-cluster.yaml");
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("--before and --kubeconfig exclude each other", both.Error, StringComparison.Ordinal);
        CliResult neither = CliRunner.Run("whatif", "--changes", changes);
        Assert.Equal(2, neither.ExitCode);
        Assert.Contains("give --before FILE", neither.Error, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Swap_on_the_live_cluster_patches_its_workloads_as_for_a_kubectl_dump_and_lists_no_secrets()
    {
        string kubectl = RealTools.Require("kubectl", "kubectl v1.32 from the Kubernetes apt repository");
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.SeedManifests(File.ReadAllText(Path.Combine(PolicySchemaTestsRoot, "samples", "openfaas-cluster.yaml")));
        server.SeedManifests(File.ReadAllText(Path.Combine(PolicySchemaTestsRoot, "samples", "deployment.yaml")));
        string kubeconfig = Kubeconfigs.Write(server.Url);
        try
        {
            ProcessResult dump = RealTools.Run(kubectl, ["--kubeconfig", kubeconfig, "get", "pods,deployments", "-A", "-o", "json"], timeout: TimeSpan.FromSeconds(60));
            Assert.True(dump.ExitCode == 0, dump.Error);
            string map = Path.Combine(PolicySchemaTestsRoot, "samples", "maps.conf");
            CliResult fromDump = CliRunner.RunWithInput(dump.Output, "swap", "--map-file", map, "-f", "-", "-o", "patch");
            int before = server.Paths.Count;
            CliResult live = CliRunner.Run("swap", "--map-file", map, "--kubeconfig", kubeconfig, "-o", "patch");

            Assert.Equal(fromDump.ExitCode, live.ExitCode);
            Assert.Contains("\"swapped\":true", live.Output, StringComparison.Ordinal);
            Assert.Equal(fromDump.Output, live.Output);
            Assert.DoesNotContain(server.Paths.Skip(before), p => p.Contains("secrets", StringComparison.Ordinal));

            // One namespace: the same lines as the dump's for it, and only that namespace is read.
            before = server.Paths.Count;
            CliResult one = CliRunner.Run("swap", "--map-file", map, "--kubeconfig", kubeconfig, "-n", "team-a", "-o", "patch");
            CliResult oneFromDump = CliRunner.RunWithInput(dump.Output, "swap", "--map-file", map, "-f", "-", "-n", "team-a", "-o", "patch");
            Assert.Equal(0, one.ExitCode);
            Assert.Contains("team-a", one.Output, StringComparison.Ordinal);
            Assert.Equal(oneFromDump.Output, one.Output);
            Assert.NotEqual(live.Output, one.Output);
            Assert.All(server.Paths.Skip(before), p => Assert.Contains("/namespaces/team-a/", p, StringComparison.Ordinal));

            CliResult pulls = CliRunner.Run("pulls", "--kubeconfig", kubeconfig, "-n", "openfaas-fn", "-o", "json");
            CliResult pullsFromFile = CliRunner.Run("pulls", "-f", Path.Combine(PolicySchemaTestsRoot, "samples", "openfaas-cluster.yaml"), "-n", "openfaas-fn", "-o", "json");
            Assert.True(pulls.ExitCode == pullsFromFile.ExitCode, pulls.Error);
            JsonArray containers = JsonNode.Parse(pulls.Output)!["containers"]!.AsArray();
            Assert.NotEmpty(containers);
            Assert.All(containers, c => Assert.Equal("openfaas-fn", (string?)c!["namespace"]));
            Assert.Equal(JsonNode.Parse(pullsFromFile.Output)!["containers"]!.ToJsonString(), containers.ToJsonString());

            CliResult yaml = CliRunner.Run("swap", "--map-file", map, "--kubeconfig", kubeconfig, "-o", "yaml");
            Assert.Equal(2, yaml.ExitCode);
            Assert.Contains("use -o patch", yaml.Error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(kubeconfig);
        }
    }

    [Fact]
    public async Task Creds_decode_on_the_live_cluster_reads_one_namespace_pull_secrets_and_shows_no_password()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.SeedManifests(File.ReadAllText(Path.Combine(PolicySchemaTestsRoot, "samples", "openfaas-cluster.yaml")));
        string kubeconfig = Kubeconfigs.Write(server.Url);
        try
        {
            CliResult live = CliRunner.Run("creds", "decode", "--kubeconfig", kubeconfig, "-n", "openfaas-fn", "-o", "json");

            Assert.True(live.ExitCode == 0, live.Error);
            foreach (string name in new[] { "openfaas-fn/docker-hub-creds", "openfaas-fn/private-registry", "openfaas-fn/dockerhub" })
            {
                Assert.Contains($"\"secret\":\"{name}\"", live.Output, StringComparison.Ordinal);
            }

            Assert.DoesNotContain("api-key", live.Output, StringComparison.Ordinal); // Opaque: not a pull secret
            Assert.DoesNotContain("made-up-hub-token-0005", live.Output + live.Error, StringComparison.Ordinal);
            Assert.Contains("made-up-hub-token-0005", CliRunner.Run("creds", "decode", "--kubeconfig", kubeconfig, "-n", "openfaas-fn", "-o", "json", "--show-secrets").Output, StringComparison.Ordinal);
            Assert.Contains("/api/v1/namespaces/openfaas-fn/secrets", server.Paths);
            Assert.DoesNotContain("/api/v1/secrets", server.Paths);
            Assert.DoesNotContain(server.Paths, p => p.StartsWith("/api/v1/namespaces", StringComparison.Ordinal) && !p.Contains("/secrets", StringComparison.Ordinal));

            CliResult narrowWithoutCluster = CliRunner.Run("creds", "decode", "-f", "samples/pull-secret.yaml", "-n", "x");
            Assert.Equal(2, narrowWithoutCluster.ExitCode);
        }
        finally
        {
            File.Delete(kubeconfig);
        }
    }

    [Fact]
    public void A_server_that_accepts_and_never_answers_fails_the_live_read_after_the_request_timeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<TcpClient>();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    accepted.Add(await silent.AcceptTcpClientAsync()); // never read, never answered
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        });
        string kubeconfig = Kubeconfigs.Write(new Uri($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}"));
        try
        {
            var clock = Stopwatch.StartNew();
            CliResult result = CliRunner.Run("resolve", "--kubeconfig", kubeconfig, "--request-timeout", "1s");
            Assert.Equal(1, result.ExitCode);
            Assert.Contains("no answer within 1 s", result.Error, StringComparison.Ordinal);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");

            CliResult zero = CliRunner.Run("resolve", "--kubeconfig", kubeconfig, "--request-timeout", "0");
            Assert.Equal(2, zero.ExitCode);
            Assert.Contains("--request-timeout", zero.Error, StringComparison.Ordinal);
        }
        finally
        {
            silent.Stop();
            foreach (TcpClient client in accepted)
            {
                client.Dispose();
            }

            File.Delete(kubeconfig);
        }
    }

    [Fact]
    public void Plan_with_namespaces_is_exactly_the_whole_plan_there_from_a_dump_and_from_the_cluster()
    {
        string sample = Path.Combine(PolicySchemaTestsRoot, "samples", "kyma-cluster.yaml");
        CliResult whole = CliRunner.Run("plan", "-f", sample, "-o", "json");
        CliResult one = CliRunner.Run("plan", "-f", sample, "-n", "team-a", "-o", "json");
        CliResult live = CliRunner.Run("plan", "--kubeconfig", _kubeconfig, "-n", "team-a", "-o", "json");
        Assert.Equal(0, one.ExitCode);

        static string[] Actions(string json, string? ns = null) =>
            [.. JsonNode.Parse(json)!["actions"]!.AsArray().Select(a => a!["op"] + " " + a["secret"]).Where(a => ns is null || a.Contains(" " + ns + "/", StringComparison.Ordinal))];
        Assert.NotEmpty(Actions(one.Output));
        Assert.Equal(Actions(whole.Output, "team-a"), Actions(one.Output));
        Assert.Equal(Actions(one.Output), Actions(live.Output));
        Assert.DoesNotContain("/api/v1/namespaces/team-b/secrets", _server.Paths);
    }

    private static string PolicySchemaTestsRoot => RegistryPolicy.Tests.Policies.PolicySchemaTests.RepositoryRoot();

    private static string Comparable(string output, string inputs) =>
        System.Text.RegularExpressions.Regex.Replace(output.Replace("registry-policy plan " + inputs, "registry-policy plan INPUTS", StringComparison.Ordinal), "\"location\": \"[^\"]*\"", "\"location\": \"\"");

    [Fact]
    public void A_live_read_of_one_namespace_reads_it_and_the_policy_base_namespace_only()
    {
        CliResult all = CliRunner.Run("explain", "--kubeconfig", _kubeconfig, "-n", "team-b");
        Assert.Equal(0, all.ExitCode);
        Assert.Contains("team-b", all.Output, StringComparison.Ordinal);
        string[] paths = [.. _server.Paths];
        Assert.Contains("/api/v1/namespaces/team-b/secrets", paths);
        Assert.Contains("/api/v1/namespaces/kyma-system/secrets", paths);
        Assert.DoesNotContain("/api/v1/secrets", paths);
        Assert.DoesNotContain("/api/v1/namespaces/team-a/secrets", paths);
    }

    [Fact]
    public void Live_reads_refuse_ambiguous_and_broken_inputs_with_a_clear_message()
    {
        CliResult both = CliRunner.Run("resolve", "--kubeconfig", _kubeconfig, "-f", "samples/kyma-cluster.yaml");
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("exclude each other", both.Error, StringComparison.Ordinal);

        CliResult neither = CliRunner.Run("resolve");
        Assert.Equal(2, neither.ExitCode);
        Assert.Contains("--kubeconfig", neither.Error, StringComparison.Ordinal);

        CliResult context = CliRunner.Run("resolve", "--kubeconfig", _kubeconfig, "--context", "nope");
        Assert.Equal(1, context.ExitCode);
        Assert.Contains("no context 'nope'", context.Error, StringComparison.Ordinal);

        string down = Kubeconfigs.Write(new Uri("http://127.0.0.1:9"));
        CliResult unreachable = CliRunner.Run("resolve", "--kubeconfig", down);
        File.Delete(down);
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Contains("cannot read the cluster", unreachable.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_kubeconfig_with_an_exec_plugin_is_refused_without_running_it()
    {
        string path = Path.Combine(Path.GetTempPath(), $"rp-exec-{Guid.NewGuid():N}.yaml");
        string marker = Path.Combine(Path.GetTempPath(), $"rp-exec-ran-{Guid.NewGuid():N}");
        File.WriteAllText(path, $$$"""
            apiVersion: v1
            kind: Config
            clusters: [{name: c, cluster: {server: "{{{_server.Url.GetLeftPart(UriPartial.Authority)}}}"}}]
            users:
            - name: u
              user:
                exec: {apiVersion: client.authentication.k8s.io/v1, command: touch, args: ["{{{marker}}}"]}
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """);
        CliResult result = CliRunner.Run("plan", "--kubeconfig", path);
        File.Delete(path);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("exec or auth-provider plugin", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void Controller_manifests_grant_exactly_what_the_controller_uses()
    {
        CliResult result = CliRunner.Run("controller", "manifests", "-n", "platform", "-o", "json");
        Assert.Equal(0, result.ExitCode);
        JsonArray items = JsonNode.Parse(result.Output)!["items"]!.AsArray();
        Assert.Equal("Namespace", (string?)items[0]!["kind"]); // first: 'kubectl apply' creates it before what lives in it
        Assert.Equal("platform", (string?)items[0]!["metadata"]!["name"]);
        JsonObject clusterRole = items.Single(i => (string?)i!["kind"] == "ClusterRole")!.AsObject();
        string rules = clusterRole["rules"]!.ToJsonString();
        Assert.Contains("\"secrets\"],\"verbs\":[\"get\",\"list\",\"watch\",\"create\",\"update\",\"patch\",\"delete\"]", rules, StringComparison.Ordinal);
        Assert.Contains("\"serviceaccounts\"],\"verbs\":[\"get\",\"list\",\"watch\",\"patch\"]", rules, StringComparison.Ordinal);
        Assert.DoesNotContain("\"*\"", rules, StringComparison.Ordinal);
        JsonObject role = items.Single(i => (string?)i!["kind"] == "Role")!.AsObject();
        Assert.Equal("platform", (string?)role["metadata"]!["namespace"]);
        JsonObject deployment = items.Single(i => (string?)i!["kind"] == "Deployment")!.AsObject();
        string args = deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["args"]!.ToJsonString();
        Assert.Contains("\"--leader-elect\",\"--lease-namespace\",\"platform\"", args, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--resync", "soon")]
    [InlineData("--resync", "5x")]
    [InlineData("--health-listen", "8081")]
    [InlineData("--lease-namespace", "Bad_NS")]
    [InlineData("--unhealthy-after", "0")]
    public void Controller_refuses_bad_flags_as_usage_errors(string option, string value)
    {
        CliResult result = CliRunner.Run("controller", "--kubeconfig", _kubeconfig, option, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(option, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_controller_command_converges_the_cluster_serves_health_and_metrics_and_stops_cleanly_on_SIGTERM()
    {
        int port = FreePort();
        string dll = Path.Combine(AppContext.BaseDirectory, "registry-policy.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in new[] { dll, "controller", "--kubeconfig", _kubeconfig, "--health-listen", $"127.0.0.1:{port}", "--resync", "2s", "--writes-per-second", "1000" })
        {
            info.ArgumentList.Add(a);
        }

        var log = new StringBuilder();
        using var process = new Process { StartInfo = info };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (log)
            {
                log.AppendLine(e.Data);
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
            var clock = Stopwatch.StartNew();
            while (true)
            {
                var state = await ControllerHarness.ReadAsync(_server);
                if (PolicyEngine.Plan(PolicyPresets.Default, state).IsEmpty)
                {
                    break;
                }

                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "not converged:\n" + log);
                await Task.Delay(100);
            }

            HttpResponseMessage healthz = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
            string metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            Assert.Contains("registry_policy_controller_synced 1", metrics, StringComparison.Ordinal);
            Assert.Contains("registry_policy_controller_actions_total{kind=\"create\",outcome=\"applied\"}", metrics, StringComparison.Ordinal);

            using (Process kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(20)), "no exit after SIGTERM:\n" + log);
            Assert.Equal(0, process.ExitCode);
            string text;
            lock (log)
            {
                text = log.ToString();
            }

            // The log names actions, never data: the sample's passwords are not in it.
            Assert.True(text.Contains("create team-b/serverless-registry-config-default", StringComparison.Ordinal), text);
            Assert.DoesNotContain("example-internal-password", text, StringComparison.Ordinal);
            Assert.DoesNotContain("ZXhhbXBsZS1pbnRlcm5hbC1wYXNzd29yZA", text, StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
