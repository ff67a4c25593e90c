using System.Text.Json;
using RegistryPolicy.Credentials;
using RegistryPolicy.Documents;
using RegistryPolicy.Policies;
using RegistryPolicy.Pulls;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Pulls;

/// <summary>The OpenFaaS flow of seed 002: two 'kubectl patch' of the ServiceAccount, the second replacing the first's list.</summary>
public sealed class PullFindingTests
{
    private static readonly string Hub = Convert.ToBase64String(DockerConfigJson.Encode("https://index.docker.io/v1/", "alexellis2", "example-hub-token"));
    private static readonly string Private = Convert.ToBase64String(DockerConfigJson.Encode("registry.example.com", "robot", "example-robot-token"));

    /// <summary>After 'kubectl patch ... {"imagePullSecrets": [{"name": "private-registry"}]}' the list holds only the second secret.</summary>
    private static readonly string AfterSecondPatch = $$$"""
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: ServiceAccount
          metadata: {name: default, namespace: openfaas-fn}
          imagePullSecrets: [{name: private-registry}]
        - apiVersion: v1
          data: {.dockerconfigjson: {{{Hub}}}}
          kind: Secret
          metadata: {name: docker-hub-creds, namespace: openfaas-fn}
          type: kubernetes.io/dockerconfigjson
        - apiVersion: v1
          data: {.dockerconfigjson: {{{Private}}}}
          kind: Secret
          metadata: {name: private-registry, namespace: openfaas-fn}
          type: kubernetes.io/dockerconfigjson
        - apiVersion: apps/v1
          kind: Deployment
          metadata: {name: figlet, namespace: openfaas-fn, uid: 5d3f0c2e-0000-4000-8000-000000000001}
          spec:
            selector: {matchLabels: {faas_function: figlet}}
            template:
              metadata: {labels: {faas_function: figlet}}
              spec:
                containers: [{name: figlet, image: alexellis2/private-figlet:0.1}]
        - apiVersion: apps/v1
          kind: ReplicaSet
          metadata:
            name: figlet-6d4cf56db6
            namespace: openfaas-fn
            ownerReferences:
            - {apiVersion: apps/v1, blockOwnerDeletion: true, controller: true, kind: Deployment, name: figlet, uid: 5d3f0c2e-0000-4000-8000-000000000001}
          spec:
            selector: {matchLabels: {faas_function: figlet}}
            template:
              metadata: {labels: {faas_function: figlet}}
              spec:
                containers: [{name: figlet, image: alexellis2/private-figlet:0.1}]
        - apiVersion: v1
          kind: Pod
          metadata:
            name: figlet-6d4cf56db6-x2k9p
            namespace: openfaas-fn
            ownerReferences:
            - {apiVersion: apps/v1, blockOwnerDeletion: true, controller: true, kind: ReplicaSet, name: figlet-6d4cf56db6, uid: 5d3f0c2e-0000-4000-8000-000000000002}
          spec:
            containers: [{name: figlet, image: alexellis2/private-figlet:0.1}]
        - apiVersion: v1
          kind: Pod
          metadata:
            name: figlet-old-template
            namespace: openfaas-fn
            ownerReferences:
            - {apiVersion: apps/v1, controller: true, kind: ReplicaSet, name: figlet-6d4cf56db6, uid: 5d3f0c2e-0000-4000-8000-000000000002}
          spec:
            containers: [{name: figlet, image: alexellis2/private-figlet:0.0}]
        """;

    private static readonly ClusterSnapshot Snapshot = ClusterSnapshot.Create(SnapshotReader.Read(AfterSecondPatch, "after.yaml"));

    private static readonly CompiledPolicy PrivateHub = PolicyLoader.Parse("""
        apiVersion: registrypolicy.dev/v1alpha1
        kind: RegistryPolicy
        metadata: {name: openfaas-private-hub}
        spec:
          pulls:
            defaultPullPolicy: Always
            namespaces: {namespaces: [openfaas-fn]}
            privateRepositories: [docker.io/alexellis2]
        """, "policy");

    [Fact]
    public void Owner_references_give_each_pod_and_replicaset_its_controller()
    {
        WorkloadObject pod = Snapshot.Workloads.Single(w => w.Name == "figlet-6d4cf56db6-x2k9p");
        WorkloadObject rs = Snapshot.Workloads.Single(w => w.Kind == "ReplicaSet");

        Assert.Equal(new Diagnostics.ObjectReference("ReplicaSet", "openfaas-fn", "figlet-6d4cf56db6"), pod.Controller);
        Assert.Equal(new Diagnostics.ObjectReference("Deployment", "openfaas-fn", "figlet"), rs.Controller);
        Assert.Null(Snapshot.Workloads.Single(w => w.Kind == "Deployment").Controller);
    }

    [Fact]
    public void A_credential_in_the_namespace_that_the_list_no_longer_names_is_a_finding_with_the_patch_that_links_it()
    {
        ContainerPull figlet = PullEngine.Analyze(PrivateHub, Snapshot).Single(p => p.Workload.Kind == "Deployment");

        Assert.Equal(["private-registry"], figlet.PullSecrets.ToArray());
        Assert.Null(figlet.CredentialKey);
        Assert.Equal(["no-credential", "credential-not-linked"], figlet.Findings.Select(f => f.Code).ToArray());
        Diagnostics.Diagnostic unlinked = figlet.Findings[1];
        Assert.Equal(Diagnostics.DiagnosticSeverity.Error, unlinked.Severity);
        Assert.Contains("the pull secret 'docker-hub-creds' in this namespace has a credential for 'docker.io' (key 'https://index.docker.io/v1/')", unlinked.Message, StringComparison.Ordinal);
        Assert.EndsWith("""kubectl patch -n openfaas-fn serviceaccount/default --type=json -p '[{"op":"add","path":"/imagePullSecrets/-","value":{"name":"docker-hub-creds"}}]'""", unlinked.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("example-hub-token", unlinked.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void The_fix_in_the_finding_is_a_patch_that_kubectl_applies_and_that_makes_the_finding_go_away()
    {
        string kubectl = RealTools.Require("kubectl", "kubectl is expected on every machine");
        ContainerPull figlet = PullEngine.Analyze(PrivateHub, Snapshot).Single(p => p.Workload.Kind == "Deployment");
        string message = figlet.Findings.Single(f => f.Code == "credential-not-linked").Message;
        string patch = message[(message.IndexOf("-p '", StringComparison.Ordinal) + 4)..^1];
        ServiceAccountObject account = Snapshot.GetServiceAccount("openfaas-fn", "default")!;
        string file = Path.Combine(Directory.CreateTempSubdirectory("rp-fix-").FullName, "sa.json");
        File.WriteAllText(file, ManifestText.ToJson(account.ToManifest()));
        ProcessResult run = RealTools.Run(kubectl, ["patch", "--local", "-f", file, "--type=json", "-p", patch, "-o", "yaml"]);
        Assert.True(run.ExitCode == 0, run.Error);
        string patched = run.Output;
        ClusterSnapshot fixedSnapshot = ClusterSnapshot.Create([.. Snapshot.Objects.Where(o => o is not ServiceAccountObject), .. SnapshotReader.Read(patched, "patched").Objects.Select(o => o.Item)]);

        ContainerPull after = PullEngine.Analyze(PrivateHub, fixedSnapshot).Single(p => p.Workload.Kind == "Deployment");

        Assert.Equal(["private-registry", "docker-hub-creds"], after.PullSecrets.ToArray());
        Assert.Equal("https://index.docker.io/v1/", after.CredentialServer);
        Assert.Equal("index.docker.io", after.CredentialKey);
        Assert.Empty(after.Findings);
    }

    [Fact]
    public void Without_a_private_declaration_docker_hub_is_public_and_the_unlinked_credential_is_only_a_warning()
    {
        ContainerPull figlet = PullEngine.Analyze(Snapshot).Single(p => p.Workload.Kind == "Deployment");

        Diagnostics.Diagnostic finding = Assert.Single(figlet.Findings);
        Assert.Equal("credential-not-linked", finding.Code);
        Assert.Equal(Diagnostics.DiagnosticSeverity.Warning, finding.Severity);
        Assert.Contains("rate limits apply", finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("docker.io/alexellis2", true)]
    [InlineData("docker.io", true)]
    [InlineData("docker.io/alexellis", false)]
    [InlineData("docker.io/alexellis2/private-figlet", true)]
    [InlineData("quay.io/alexellis2", false)]
    public void Private_repositories_match_on_path_segments(string prefix, bool isPrivate)
    {
        PullCoverageOptions options = new() { PrivateRepositories = [prefix] };
        ContainerPull figlet = PullEngine.Analyze(Snapshot, options).Single(p => p.Workload.Kind == "Deployment");

        Assert.Equal(isPrivate, figlet.Findings.Any(f => f.Code == "no-credential"));
    }

    [Fact]
    public void Pulls_prints_one_row_per_workload_and_keeps_a_pod_that_pulls_differently()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory("rp-pulls-").FullName, "after.yaml");
        File.WriteAllText(file, AfterSecondPatch);

        CliResult folded = CliRunner.Run("pulls", "-f", file);
        CliResult all = CliRunner.Run("pulls", "-f", file, "--all-objects", "-o", "json");

        Assert.Equal(["NAMESPACE", "WORKLOAD", "CONTAINER", "IMAGE", "CREDENTIAL", "FINDINGS"], folded.Lines[0].Split("   ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal(3, folded.Lines.Length);
        Assert.Contains(folded.Lines, l => l.Contains("Deployment/figlet (+2)", StringComparison.Ordinal));
        Assert.Contains(folded.Lines, l => l.Contains("Pod/figlet-old-template", StringComparison.Ordinal));
        using JsonDocument json = JsonDocument.Parse(all.Output);
        Assert.Equal(4, json.RootElement.GetProperty("containers").GetArrayLength());
        Assert.Contains("credential-not-linked", folded.Error, StringComparison.Ordinal);
    }
}

public sealed class PullFindingCostTests
{
    [Fact]
    public void Looking_for_unlinked_credentials_stays_linear_with_many_pull_secrets_and_images_in_one_namespace()
    {
        Support.Linear.Assert(n =>
        {
            var objects = new List<KubeObject>();
            for (int i = 0; i < n; i++)
            {
                byte[] config = DockerConfigJson.Encode($"r{i}.example.com", "u", "p");
                objects.Add(new SecretObject(new ObjectMetadata($"s{i:D6}", "team"), PullSecret.DockerConfigJsonType,
                    SecretData.Create([new(".dockerconfigjson", config)])));
                objects.Add(new WorkloadObject("Pod", new ObjectMetadata($"p{i:D6}", "team"), new PodTemplate("/spec", null, default,
                    new RegistryPolicy.Primitives.ValueArray<ContainerSpec>([new ContainerSpec(ContainerRole.Container, 0, "app", $"q{i}.example.org/app:1", null)]))));
            }

            return ClusterSnapshot.Create(objects);
        }, snapshot => PullEngine.Analyze(snapshot), 400, "unlinked-credential search");
    }
}
