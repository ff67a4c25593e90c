using System.Text.Json.Nodes;
using RegistryPolicy.Kubernetes.Controller;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Kubernetes.Controller;

/// <summary>
/// Keeps the fake API server honest with a real client: kubectl 1.32, pointed at it through a kubeconfig, lists, gets,
/// creates, patches (merge and JSON) and deletes through it, and what <c>kubectl get -A -o json</c> prints reads to the
/// same snapshot as our live read of the same server.
/// </summary>
public sealed class FakeApiServerKubectlTests : IAsyncLifetime
{
    private FakeApiServer _server = null!;
    private string _kubeconfig = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeApiServer.StartAsync();
        _kubeconfig = Kubeconfigs.Write(_server.Url);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_kubeconfig);
    }

    private ProcessResult Kubectl(params string[] args)
    {
        string kubectl = RealTools.Require("kubectl", "kubectl v1.32 from the Kubernetes apt repository");
        return RealTools.Run(kubectl, ["--kubeconfig", _kubeconfig, "--request-timeout=20s", .. args], timeout: TimeSpan.FromSeconds(60),
            environment: new Dictionary<string, string> { ["KUBECACHEDIR"] = Path.Combine(Path.GetTempPath(), "rp-kubectl-cache-" + Guid.NewGuid().ToString("N")) });
    }

    private string Ok(params string[] args)
    {
        ProcessResult result = Kubectl(args);
        Assert.True(result.ExitCode == 0, $"kubectl {string.Join(' ', args)}: exit {result.ExitCode}\n{result.Error}");
        return result.Output;
    }

    private void Create(params string[] generator)
    {
        string manifest = Ok(["create", .. generator, "--dry-run=client", "-o", "json"]);
        string kubectl = RealTools.Require("kubectl", "kubectl v1.32 from the Kubernetes apt repository");
        ProcessResult result = RealTools.Run(kubectl, ["--kubeconfig", _kubeconfig, "create", "-f", "-", "--validate=false"], stdin: manifest, timeout: TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, $"kubectl create -f - ({string.Join(' ', generator)}): exit {result.ExitCode}\n{result.Error}");
    }

    [SkippableFact]
    public void Kubectl_creates_gets_patches_and_deletes_through_the_fake_as_through_an_api_server()
    {
        // kubectl's generators send protobuf, which the fake does not speak (it answers 415, as a server without it would):
        // the objects come from the generators offline, and 'kubectl create -f -' sends them as JSON (without client-side validation: the fake serves no OpenAPI document).
        Create("namespace", "team-a");
        Create("secret", "docker-registry", "regcred", "-n", "team-a", "--docker-server=registry.example.com", "--docker-username=robot", "--docker-password=s3cret");
        Create("serviceaccount", "builder", "-n", "team-a");

        JsonObject got = JsonNode.Parse(Ok("get", "secret", "regcred", "-n", "team-a", "-o", "json"))!.AsObject();
        Assert.Equal("kubernetes.io/dockerconfigjson", (string?)got["type"]);
        Assert.Equal((string?)_server.Get("secrets", "team-a", "regcred")!["metadata"]!["resourceVersion"], (string?)got["metadata"]!["resourceVersion"]);

        Ok("patch", "secret", "regcred", "-n", "team-a", "--type=merge", "-p", """{"metadata":{"labels":{"team":"a"}}}""");
        Assert.Equal("a", (string?)_server.Get("secrets", "team-a", "regcred")!["metadata"]!["labels"]!["team"]);
        Ok("patch", "serviceaccount", "builder", "-n", "team-a", "--type=json", "-p", """[{"op":"add","path":"/imagePullSecrets","value":[{"name":"regcred"}]}]""");
        Assert.Equal("regcred", (string?)_server.Get("serviceaccounts", "team-a", "builder")!["imagePullSecrets"]![0]!["name"]);

        ProcessResult conflict = Kubectl("patch", "serviceaccount", "builder", "-n", "team-a", "--type=json", "-p",
            """[{"op":"test","path":"/metadata/resourceVersion","value":"1"},{"op":"add","path":"/imagePullSecrets/-","value":{"name":"other"}}]""");
        Assert.NotEqual(0, conflict.ExitCode);
        Assert.Contains("The request is invalid", conflict.Error, StringComparison.Ordinal);

        string names = Ok("get", "secrets", "-A", "-o", "name");
        Assert.Contains("secret/regcred", names, StringComparison.Ordinal);

        Ok("delete", "secret", "regcred", "-n", "team-a");
        Assert.Null(_server.Get("secrets", "team-a", "regcred"));
        ProcessResult missing = Kubectl("get", "secret", "regcred", "-n", "team-a");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("NotFound", missing.Error, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Kubectl_get_all_namespaces_as_json_reads_to_the_same_snapshot_as_the_live_read()
    {
        _server.SeedManifests(File.ReadAllText(Path.Combine(Policies.PolicySchemaTests.RepositoryRoot(), "samples", "kyma-cluster.yaml")));
        Create("secret", "generic", "extra", "-n", "default", "--from-literal=a=b");

        string json = Ok("get", "namespaces,secrets,serviceaccounts", "-A", "-o", "json", "--chunk-size=2");
        ClusterSnapshot fromKubectl = ClusterSnapshot.Create(SnapshotReader.Read(json, "kubectl"));
        Assert.True(KubernetesConnection.TryFromKubeconfig(_kubeconfig, null, out KubernetesConnection? connection, out string? error), error);
        IReadOnlyList<SnapshotSource> live = await LiveCluster.ReadAsync(connection!, LiveReadScope.AllNamespaces with { Resources = ["namespaces", "secrets", "serviceaccounts"], PageSize = 2 });
        ClusterSnapshot fromApi = ClusterSnapshot.Create(live);

        Assert.NotEmpty(fromApi.Secrets);
        Assert.Equal(fromKubectl.Objects.Select(o => o.ToManifest(new ManifestOptions { RevealSecrets = true }).ToJsonString()),
            fromApi.Objects.Select(o => o.ToManifest(new ManifestOptions { RevealSecrets = true }).ToJsonString()));
        Assert.DoesNotContain(fromApi.Diagnostics, d => d.Severity == RegistryPolicy.Diagnostics.DiagnosticSeverity.Error);
        Assert.True(_server.Requests.GetValueOrDefault("GET") > 6, "both read in pages of 2");
    }
}

/// <summary>Kubeconfig files for the fake server.</summary>
internal static class Kubeconfigs
{
    public static string Write(Uri server, string? token = null)
    {
        string path = Path.Combine(Path.GetTempPath(), $"rp-kubeconfig-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {server.GetLeftPart(UriPartial.Authority)}
            users:
            - name: tester
              user: {(token is null ? "{}" : "\n    token: " + token)}
            contexts:
            - name: fake
              context:
                cluster: fake
                user: tester
                namespace: default
            current-context: fake
            """);
        return path;
    }
}
