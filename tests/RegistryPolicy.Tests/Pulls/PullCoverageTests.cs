using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Credentials;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Pulls;

public sealed class PullCoverageTests
{
    private static readonly string Auth = Convert.ToBase64String(DockerConfigJson.Encode("registry.example.com", "robot", "robot-secret-pass"));

    private static readonly string Cluster = $$$"""
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: default, namespace: team}
        imagePullSecrets: [{name: regcred}]
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: regcred, namespace: team}
        type: kubernetes.io/dockerconfigjson
        data: {.dockerconfigjson: {{{Auth}}}}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: opaque, namespace: team}
        type: Opaque
        data: {.dockerconfigjson: {{{Auth}}}}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: elsewhere, namespace: other}
        type: kubernetes.io/dockerconfigjson
        data: {.dockerconfigjson: {{{Auth}}}}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: via-sa, namespace: team}
        spec:
          template:
            spec:
              containers: [{name: app, image: registry.example.com/team/app:1}, {name: web, image: nginx}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: own-secrets, namespace: team}
        spec:
          imagePullSecrets: [{name: missing}, {name: opaque}, {name: elsewhere}]
          containers: [{name: app, image: registry.example.com/team/app@sha256:{{{new string('a', 64)}}}, imagePullPolicy: Never}]
        """;

    private static ClusterSnapshot Snapshot() => ClusterSnapshot.Create(SnapshotReader.Read(Cluster, "cluster.yaml"));

    [Fact]
    public void Namespaces_with_identical_pull_secrets_each_get_their_own_secret_as_the_credential_source()
    {
        byte[] config = DockerConfigJson.Encode("registry.example.com", "robot", "robot-secret-pass");
        byte[] other = DockerConfigJson.Encode("registry.example.com", "robot", "another-pass");
        var objects = new List<KubeObject>();
        foreach (string ns in new[] { "a", "b", "c" })
        {
            objects.Add(new ServiceAccountObject(new ObjectMetadata("default", ns), new ValueArray<string>(["regcred"])));
            objects.Add(new SecretObject(new ObjectMetadata("regcred", ns), PullSecret.DockerConfigJsonType,
                SecretData.Create([new(PullSecret.DockerConfigJsonKey, ns == "c" ? other : config)])));
            objects.Add(new WorkloadObject("Deployment", new ObjectMetadata("app", ns), new PodTemplate("/spec/template/spec", null, default,
                new ValueArray<ContainerSpec>([new ContainerSpec(ContainerRole.Container, 0, "app", "registry.example.com/x:1", null)]))));
        }

        var pulls = PullEngine.Analyze(ClusterSnapshot.Create(objects));

        Assert.Equal(["a/regcred", "b/regcred", "c/regcred"], pulls.Select(p => $"{p.CredentialSecret?.Namespace}/{p.CredentialSecret?.Name}"));
        Assert.Equal(pulls[0].CredentialFingerprint, pulls[1].CredentialFingerprint);
        Assert.Equal(RegistryCredential.FingerprintOf("another-pass"), pulls[2].CredentialFingerprint);
    }

    [Fact]
    public void The_service_account_supplies_pull_secrets_to_pods_that_name_none()
    {
        var pulls = PullEngine.Analyze(Snapshot());

        ContainerPull app = pulls.Single(p => p.Workload.Name == "via-sa" && p.Container.Name == "app");
        Assert.Equal(new[] { "regcred" }, app.PullSecrets.ToArray());
        Assert.Equal("registry.example.com", app.CredentialKey);
        Assert.Equal("IfNotPresent", app.PullPolicy);
        Assert.Empty(app.Findings);
        ContainerPull web = pulls.Single(p => p.Container.Name == "web");
        Assert.Equal("Always", web.PullPolicy);
        Assert.Null(web.CredentialKey);
        Assert.Empty(web.Findings); // Docker Hub is public
    }

    [Fact]
    public void A_pod_with_its_own_pull_secrets_does_not_get_the_service_accounts_and_each_bad_one_is_a_finding()
    {
        ContainerPull pod = PullEngine.Analyze(Snapshot()).Single(p => p.Workload.Name == "own-secrets");

        Assert.Equal(new[] { "missing", "opaque", "elsewhere" }, pod.PullSecrets.ToArray());
        Assert.Equal("Never", pod.PullPolicy);
        Assert.Contains(pod.Findings, f => f.Code == "pull-secret-missing" && f.Message == "missing (not found)");
        Assert.Contains(pod.Findings, f => f.Code == "pull-secret-wrong-type" && f.Message.StartsWith("opaque", StringComparison.Ordinal));
        Assert.Contains(pod.Findings, f => f.Code == "pull-secret-missing" && f.Message.Contains("exists only in other", StringComparison.Ordinal));
        Assert.Contains(pod.Findings, f => f.Code == "no-credential" && f.Severity == Diagnostics.DiagnosticSeverity.Error);
        Assert.Null(pod.CredentialKey);
    }

    [Theory]
    [InlineData("nginx", "Always")]
    [InlineData("nginx:latest", "Always")]
    [InlineData("nginx:1.25", "IfNotPresent")]
    [InlineData("nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "IfNotPresent")]
    [InlineData("nginx:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "IfNotPresent")]
    public void Kubernetes_default_pull_policy(string image, string expected) => Assert.Equal(expected, PullEngine.DefaultPullPolicy(image));

    [Fact]
    public void The_cli_prints_the_documented_json_and_never_a_password()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "cluster.yaml");
        File.WriteAllText(file, Cluster);

        CliResult result = CliRunner.Run("pulls", "-f", file, "-o", "json");
        CliResult strict = CliRunner.Run("pulls", "-f", file, "--fail-on-finding");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(3, strict.ExitCode); // findings asked to fail on: 3, as whatif --fail-on-change; 1 is for input errors
        using JsonDocument json = JsonDocument.Parse(result.Output);
        JsonElement first = json.RootElement.GetProperty("containers")[0];
        foreach (string field in new[] { "namespace", "kind", "name", "container", "image", "pullPolicy", "pullSecrets", "credentialKey", "findings" })
        {
            Assert.True(first.TryGetProperty(field, out _), field);
        }

        Assert.DoesNotContain("robot-secret-pass", result.Output + result.Error + strict.Output + strict.Error, StringComparison.Ordinal);
    }

    [Property(MaxTest = 100)]
    public Property Adding_a_pull_secret_never_removes_a_credential_match() =>
        Prop.ForAll(Gen.Elements("registry.example.com/a:1", "other.example.com/b", "nginx", "registry.example.com:5000/c").ToArbitrary(),
            Gen.Elements("registry.example.com", "other.example.com", "https://index.docker.io/v1/", "*.example.com").ToArbitrary(), (image, server) =>
            {
                string extra = Convert.ToBase64String(DockerConfigJson.Encode(server, "u", "p"));
                string pod = $$"""
                    kind: Pod
                    metadata: {name: p, namespace: team}
                    spec: {imagePullSecrets: [{name: regcred}], containers: [{name: c, image: "{{image}}"}]}
                    """;
                string added = pod.Replace("[{name: regcred}]", "[{name: regcred}, {name: extra}]", StringComparison.Ordinal) +
                    $"\n---\nkind: Secret\nmetadata: {{name: extra, namespace: team}}\ntype: kubernetes.io/dockerconfigjson\ndata: {{.dockerconfigjson: {extra}}}\n";
                string secret = $"\n---\nkind: Secret\nmetadata: {{name: regcred, namespace: team}}\ntype: kubernetes.io/dockerconfigjson\ndata: {{.dockerconfigjson: {Auth}}}\n";
                ContainerPull before = PullEngine.Analyze(ClusterSnapshot.Create(SnapshotReader.Read(pod + secret, "a.yaml"))).Single();
                ContainerPull after = PullEngine.Analyze(ClusterSnapshot.Create(SnapshotReader.Read(added + secret, "b.yaml"))).Single();
                return before.CredentialKey is null || after.CredentialKey is not null;
            });

    [Fact]
    public void Findings_are_stable_under_input_order()
    {
        string[] documents = Cluster.Split("---\n").Select(d => d.TrimEnd() + "\n").ToArray();
        var forward = PullEngine.Analyze(ClusterSnapshot.Create(SnapshotReader.Read(string.Join("---\n", documents), "x.yaml")));
        var backward = PullEngine.Analyze(ClusterSnapshot.Create(SnapshotReader.Read(string.Join("---\n", documents.Reverse()), "x.yaml")));
        Assert.Equal(3, forward.Length);

        Assert.Equal(forward.Select(p => $"{p.Workload} {p.Container.Name} {p.CredentialKey} {string.Join(",", p.Findings.Select(f => f.Code + f.Message))}"),
            backward.Select(p => $"{p.Workload} {p.Container.Name} {p.CredentialKey} {string.Join(",", p.Findings.Select(f => f.Code + f.Message))}"));
    }
}
