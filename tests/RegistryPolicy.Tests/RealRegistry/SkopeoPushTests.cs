using RegistryPolicy.Credentials;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.RealRegistry;

/// <summary>
/// Our <c>.dockerconfigjson</c> bytes, used as a skopeo authfile against a real docker-registry with htpasswd and TLS, in a
/// private network namespace that has only loopback.
/// </summary>
[Trait("Category", "RealComponent")]
public class SkopeoPushTests
{
    private const string Server = "127.0.0.1:5443";

    // Characters that must survive kubectl-style escaping and base64: JSON-escaped (<>&"\), and a colon.
    private const string Username = "ci-user";
    private const string Password = "p<a>&s\"s\\w:o%rd é";

    private static Dictionary<string, string> Push(Dictionary<string, byte[]> authfiles)
    {
        foreach (string tool in new[] { "docker-registry", "skopeo", "umoci", "htpasswd", "openssl", "curl", "unshare", "ip" })
        {
            RealTools.Require(tool, "apt-get install docker-registry skopeo umoci apache2-utils openssl curl iproute2 util-linux");
        }

        ProcessResult probe = RealTools.Run("unshare", ["--net", "true"]);
        RealTools.RequireThat(probe.ExitCode == 0, $"'unshare --net' is not permitted here ({probe.Error.Trim()}); registry tests never run on the host network");

        string work = Directory.CreateTempSubdirectory("registry-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(work, "authfiles"));
            foreach ((string name, byte[] content) in authfiles)
            {
                File.WriteAllBytes(Path.Combine(work, "authfiles", name + ".json"), content);
            }

            string script = Path.Combine(AppContext.BaseDirectory, "RealRegistry", "registry-push.sh");
            ProcessResult run = RealTools.Run("unshare", ["--net", "bash", script, work, Username, Password], timeout: TimeSpan.FromMinutes(3));
            var results = run.Output.Split('\n')
                .Where(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
                .Select(l => l.Split(' '))
                .ToDictionary(p => p[1], p => p[2]);
            Assert.True(results.Count == authfiles.Count, $"script failed (exit {run.ExitCode}):\n{run.Output}\n{run.Error}");
            return results;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [SkippableFact]
    public void Our_encoding_pushes_with_the_right_password_and_is_refused_with_a_wrong_one()
    {
        Dictionary<string, string> results = Push(new Dictionary<string, byte[]>
        {
            ["kubectl-layout"] = DockerConfigJson.Encode(Server, Username, Password),
            ["auth-only-layout"] = DockerConfigJson.Encode(Server, Username, Password, layout: DockerConfigLayout.AuthOnly),
            ["https-key"] = DockerConfigJson.Encode("https://" + Server, Username, Password, "ci@example.com"),
            ["wrong-password"] = DockerConfigJson.Encode(Server, Username, Password + "x"),
            ["other-host"] = DockerConfigJson.Encode("127.0.0.2:5443", Username, Password),
        });

        Assert.Equal("0", results["kubectl-layout"]);
        Assert.Equal("0", results["auth-only-layout"]);
        Assert.Equal("0", results["https-key"]);
        Assert.NotEqual("0", results["wrong-password"]);
        Assert.NotEqual("0", results["other-host"]);
    }

    [SkippableFact]
    public void The_credential_our_keyring_picks_is_the_one_the_registry_accepts()
    {
        // Two pull secrets: the first has a wrong password under a key that does not match, the second the right one.
        byte[] unrelated = DockerConfigJson.Encode("127.0.0.1:5000", Username, "wrong");
        byte[] right = DockerConfigJson.Encode(Server, Username, Password);
        CredentialKeyring keyring = CredentialKeyring.Create([
            PullSecret.FromDockerConfigJson("team", "first", unrelated),
            PullSecret.FromDockerConfigJson("team", "second", right),
        ]);
        KeyringLookup lookup = keyring.Lookup($"{Server}/library/tiny:1");
        KeyringMatch chosen = Assert.Single(lookup.Matches);
        Assert.Equal("second", chosen.Secret!.Value.Name);

        byte[] chosenFile = DockerConfigJson.Encode(chosen.Server, chosen.Credential.Username, chosen.Credential.RevealPassword());
        Dictionary<string, string> results = Push(new Dictionary<string, byte[]> { ["chosen"] = chosenFile, ["unchosen"] = unrelated });
        Assert.Equal("0", results["chosen"]);
        Assert.NotEqual("0", results["unchosen"]);
    }

    [SkippableFact]
    public void The_pull_secret_linked_through_the_service_account_is_accepted_and_a_no_credential_finding_is_refused()
    {
        byte[] right = DockerConfigJson.Encode(Server, Username, Password);
        string manifests = $$"""
            apiVersion: v1
            kind: ServiceAccount
            metadata: {name: default, namespace: team}
            imagePullSecrets: [{name: regcred}]
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: regcred, namespace: team}
            type: kubernetes.io/dockerconfigjson
            data:
              .dockerconfigjson: {{Convert.ToBase64String(right)}}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: linked, namespace: team}
            spec:
              containers: [{name: app, image: "{{Server}}/library/tiny:linked"}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: unlinked, namespace: other}
            spec:
              containers: [{name: app, image: "{{Server}}/library/tiny:unlinked"}]
            """;
        RegistryPolicy.Snapshots.ClusterSnapshot snapshot = RegistryPolicy.Snapshots.ClusterSnapshot.Create(RegistryPolicy.Snapshots.SnapshotReader.Read(manifests, "cluster.yaml"));
        var pulls = PullEngine.Analyze(snapshot);
        ContainerPull linked = pulls.Single(p => p.Workload.Name == "linked");
        ContainerPull unlinked = pulls.Single(p => p.Workload.Name == "unlinked");
        Assert.Equal(Server, linked.CredentialKey);
        Assert.Contains(unlinked.Findings, f => f.Code == "no-credential");

        // The Secret coverage chose, as the skopeo authfile; and no credential at all for the finding.
        byte[] chosen = snapshot.GetSecret(linked.CredentialSecret!.Value.Namespace!, linked.CredentialSecret.Value.Name)!.Data
            .TryGetBytes(PullSecret.DockerConfigJsonKey, out ReadOnlyMemory<byte> bytes) ? bytes.ToArray() : [];
        Dictionary<string, string> results = Push(new Dictionary<string, byte[]> { ["linked"] = chosen, ["unlinked"] = "{}"u8.ToArray() });
        Assert.Equal("0", results["linked"]);
        Assert.NotEqual("0", results["unlinked"]);
    }

    [SkippableFact]
    public void The_copy_and_link_the_ibm_preset_plans_give_a_pod_the_credential_the_registry_accepts()
    {
        byte[] right = DockerConfigJson.Encode(Server, Username, Password);
        string manifests = $$"""
            apiVersion: v1
            kind: Secret
            metadata: {name: all-icr-io, namespace: default}
            type: kubernetes.io/dockerconfigjson
            data:
              .dockerconfigjson: {{Convert.ToBase64String(right)}}
            ---
            apiVersion: v1
            kind: ServiceAccount
            metadata: {name: default, namespace: team}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: app, namespace: team}
            spec:
              containers: [{name: app, image: "{{Server}}/library/tiny:planned"}]
            """;
        var snapshot = RegistryPolicy.Snapshots.ClusterSnapshot.Create(RegistryPolicy.Snapshots.SnapshotReader.Read(manifests, "cluster.yaml"));
        Assert.True(RegistryPolicy.Policies.PolicyPresets.TryGet("ibm-iks", out var ibm));
        ContainerPull before = RegistryPolicy.Pulls.PullEngine.Analyze(ibm, snapshot, RegistryPolicy.Resolution.EvaluationView.AsIs, null).Single();
        RegistryPolicy.Snapshots.ClusterSnapshot after = RegistryPolicy.Resolution.PolicyEngine.Plan(ibm, snapshot).ApplyTo(snapshot);
        ContainerPull planned = RegistryPolicy.Pulls.PullEngine.Analyze(ibm, snapshot).Single();
        Assert.Contains(before.Findings, f => f.Code == "no-credential");
        Assert.Equal(("team", "all-icr-io", Server), (planned.CredentialSecret?.Namespace, planned.CredentialSecret?.Name, planned.CredentialKey));

        // The planned copy in the pod's namespace, as the skopeo authfile.
        byte[] copy = after.GetSecret("team", "all-icr-io")!.Data.TryGetBytes(PullSecret.DockerConfigJsonKey, out ReadOnlyMemory<byte> bytes) ? bytes.ToArray() : [];
        Dictionary<string, string> results = Push(new Dictionary<string, byte[]> { ["planned-copy"] = copy });
        Assert.Equal("0", results["planned-copy"]);
    }
}
