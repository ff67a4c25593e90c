using System.Text.Json.Nodes;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Tests.Policies;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.AspNetCore;

/// <summary><c>serve</c>'s command line and <c>serve manifests</c>: safe defaults, and output real kubectl and our reader accept.</summary>
public sealed class ServeCommandTests
{
    private static string Samples(string name) => Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", name);

    [SkippableFact]
    public void The_manifests_parse_as_kubernetes_objects_for_kubectl_and_for_the_snapshot_reader()
    {
        CliResult yaml = CliRunner.Run("serve", "manifests", "--map-file", Samples("maps.conf"), "--secrets", "-n", "platform");
        Assert.Equal(0, yaml.ExitCode);

        string printed = KubectlObjects.Run(yaml.Output, "create", "--dry-run=client", "--validate=false", "-f", "-", "-o", "json"); // schema validation needs OpenAPI from a real server
        // kubectl prints one JSON object after another.
        var kinds = new List<string>();
        var reader = new System.Text.Json.Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(printed), new System.Text.Json.JsonReaderOptions { AllowMultipleValues = true });
        while (reader.Read())
        {
            kinds.Add(System.Text.Json.JsonElement.ParseValue(ref reader).GetProperty("kind").GetString()!);
        }

        Assert.Equal(["Namespace", "ServiceAccount", "ConfigMap", "Deployment", "PodDisruptionBudget", "Service", "Issuer", "Certificate", "Issuer", "Certificate",
            "MutatingWebhookConfiguration"], kinds);

        SnapshotSource source = SnapshotReader.Read(yaml.Output, "manifests.yaml");
        Assert.DoesNotContain(source.Diagnostics, d => d.Severity == RegistryPolicy.Diagnostics.DiagnosticSeverity.Error);
        Assert.Contains(source.Objects, o => o.Item is WorkloadObject { Kind: "Deployment" });
    }

    [Fact]
    public void The_webhook_configuration_fails_open_quickly_and_leaves_system_and_its_own_namespaces_and_opted_out_objects_alone()
    {
        CliResult json = CliRunner.Run("serve", "manifests", "--map-file", Samples("maps.conf"), "--secrets", "-n", "platform", "-o", "json");
        Assert.Equal(0, json.ExitCode);
        JsonArray items = JsonNode.Parse(json.Output)!["items"]!.AsArray();
        JsonObject Of(string kind) => items.First(i => (string)i!["kind"]! == kind)!.AsObject();

        JsonArray webhooks = Of("MutatingWebhookConfiguration")["webhooks"]!.AsArray();
        Assert.Equal(2, webhooks.Count);
        foreach (JsonNode? webhook in webhooks)
        {
            Assert.Equal("Ignore", (string?)webhook!["failurePolicy"]);
            Assert.Equal(5, (int)webhook["timeoutSeconds"]!);
            Assert.Equal("None", (string?)webhook["sideEffects"]);
            Assert.Equal("IfNeeded", (string?)webhook["reinvocationPolicy"]);
            Assert.Equal(["v1"], webhook["admissionReviewVersions"]!.AsArray().Select(v => (string)v!));
            JsonNode exclusion = webhook["namespaceSelector"]!["matchExpressions"]!.AsArray().Single(e => (string)e!["key"]! == "kubernetes.io/metadata.name")!;
            Assert.Equal("NotIn", (string?)exclusion["operator"]);
            Assert.Equal(["kube-system", "kube-node-lease", "platform"], exclusion["values"]!.AsArray().Select(v => (string)v!));
        }

        Assert.Equal("/mutate/pods", (string?)webhooks[0]!["clientConfig"]!["service"]!["path"]);
        Assert.Equal(["pods"], webhooks[0]!["rules"]![0]!["resources"]!.AsArray().Select(v => (string)v!));
        JsonNode optOut = webhooks[0]!["objectSelector"]!["matchExpressions"]![0]!;
        Assert.Equal("k8s.twr.io/imageswap", (string?)optOut["key"]);
        Assert.Equal("NotIn", (string?)optOut["operator"]);
        Assert.Equal("/mutate/secrets", (string?)webhooks[1]!["clientConfig"]!["service"]!["path"]);
        Assert.Equal("config", (string?)webhooks[1]!["objectSelector"]!["matchLabels"]!["serverless.kyma-project.io/remote-registry"]);

        JsonObject deployment = Of("Deployment");
        Assert.Equal(2, (int)deployment["spec"]!["replicas"]!);
        JsonNode container = deployment["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal("/readyz", (string?)container["readinessProbe"]!["httpGet"]!["path"]);
        Assert.Equal("/healthz", (string?)container["livenessProbe"]!["httpGet"]!["path"]);
        Assert.Equal(1, (int)Of("PodDisruptionBudget")["spec"]!["minAvailable"]!);
        Assert.Equal(65532, (int)deployment["spec"]!["template"]!["spec"]!["securityContext"]!["runAsUser"]!);
        // The serving certificate is signed by a CA of its own, so renewals leave caBundle as it is.
        JsonNode serving = items.Single(i => (string)i!["kind"]! == "Certificate" && i["metadata"]!["name"]!.ToString() == "registry-policy-webhook")!;
        Assert.Equal("registry-policy-webhook", (string?)serving["spec"]!["issuerRef"]!["name"]);
        Assert.NotNull(items.Single(i => (string)i!["kind"]! == "Issuer" && i["spec"]!["ca"] is not null));
        Assert.Equal("platform/registry-policy-webhook", (string?)Of("MutatingWebhookConfiguration")["metadata"]!["annotations"]!["cert-manager.io/inject-ca-from"]);
        Assert.Contains("harbor.example.org", (string)Of("ConfigMap")["data"]!["maps.conf"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "serve", "--listen", "127.0.0.1:0", "--plain-http" }, "--listen")]
    [InlineData(new[] { "serve", "--listen", "nonsense", "--plain-http" }, "--listen")]
    [InlineData(new[] { "serve", "--listen", "127.0.0.1:8443" }, "--tls-cert")]
    [InlineData(new[] { "serve", "--plain-http", "--tls-cert", "a", "--tls-key", "b" }, "exclude each other")]
    [InlineData(new[] { "serve", "--plain-http", "--request-timeout", "0" }, "--request-timeout")]
    [InlineData(new[] { "serve", "--plain-http", "--bogus" }, "--bogus")]
    [InlineData(new[] { "serve", "--plain-http", "--namespace-exclude", "Bad_NS" }, "--namespace-exclude")]
    [InlineData(new[] { "serve", "--plain-http", "--disable-label", "not a label!" }, "--disable-label")]
    [InlineData(new[] { "serve", "manifests", "-n", "Bad_NS" }, "--namespace")]
    public void Serve_refuses_a_wrong_command_line_with_exit_2(string[] args, string named)
    {
        CliResult result = CliRunner.Run(args);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(named, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_that_does_not_load_is_exit_1_naming_the_files_and_never_quoting_the_key()
    {
        string dir = Directory.CreateTempSubdirectory("rp-badcert-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "tls.crt"), "-----BEGIN CERTIFICATE-----\nnot-a-cert\n-----END CERTIFICATE-----\n");
            File.WriteAllText(Path.Combine(dir, "tls.key"), "-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n");

            CliResult result = CliRunner.Run("serve", "--listen", "127.0.0.1:1", "--tls-cert", Path.Combine(dir, "tls.crt"), "--tls-key", Path.Combine(dir, "tls.key"));

            Assert.Equal(1, result.ExitCode);
            Assert.Contains("tls.crt", result.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("SECRETKEYMATERIAL", result.Error + result.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_map_with_errors_at_start_is_exit_1_with_the_file_and_line()
    {
        string dir = Directory.CreateTempSubdirectory("rp-badmap-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "maps.conf"), "default::\na::b::c\n");

            var serve = RealTools.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "registry-policy.dll"), "serve", "--listen", "127.0.0.1:0", "--plain-http",
                "--map-file", Path.Combine(dir, "maps.conf")], timeout: TimeSpan.FromSeconds(60));
            // Port 0 is refused before the map is read; use a real port.
            Assert.Equal(2, serve.ExitCode);

            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            serve = RealTools.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "registry-policy.dll"), "serve", "--listen", $"127.0.0.1:{port}", "--plain-http",
                "--map-file", Path.Combine(dir, "maps.conf")], timeout: TimeSpan.FromSeconds(60));
            Assert.Equal(1, serve.ExitCode);
            Assert.Contains("maps.conf:2", serve.Error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Serve_takes_localhost_and_an_address_it_cannot_bind_is_exit_1_without_a_stack_trace()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "registry-policy.dll");
        string map = Samples("maps.conf");

        var unbindable = RealTools.Run("dotnet", [dll, "serve", "--listen", "192.0.2.1:8450", "--plain-http", "--map-file", map], timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(1, unbindable.ExitCode);
        Assert.Contains("cannot listen on 192.0.2.1:8450", unbindable.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", unbindable.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening", unbindable.Error, StringComparison.Ordinal);

        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int taken = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var inUse = RealTools.Run("dotnet", [dll, "serve", "--listen", $"localhost:{taken}", "--plain-http", "--map-file", map], timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(1, inUse.ExitCode);
        Assert.Contains($"cannot listen on 127.0.0.1:{taken}", inUse.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_map_is_refused_by_serve_and_by_serve_manifests()
    {
        string dir = Directory.CreateTempSubdirectory("rp-emptymap-").FullName;
        try
        {
            string empty = Path.Combine(dir, "maps.conf");
            File.WriteAllText(empty, string.Empty);

            var serve = RealTools.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "registry-policy.dll"), "serve", "--listen", "127.0.0.1:1", "--plain-http", "--map-file", empty],
                timeout: TimeSpan.FromSeconds(60));
            Assert.Equal(1, serve.ExitCode);
            Assert.Contains("no entries", serve.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("Now listening", serve.Error, StringComparison.Ordinal);

            CliResult manifests = CliRunner.Run("serve", "manifests", "--map-file", empty);
            Assert.Equal(1, manifests.ExitCode);
            Assert.Contains("no entries", manifests.Error, StringComparison.Ordinal);

            File.WriteAllText(Path.Combine(dir, "ca.pem"), "not a certificate");
            Assert.Equal(1, CliRunner.Run("serve", "manifests", "--ca-bundle", Path.Combine(dir, "ca.pem")).ExitCode);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
