using RegistryPolicy.Tests.Support;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Tests.Policies;
using static RegistryPolicy.Tests.Support.Objects;

namespace RegistryPolicy.Tests.Resolution;

/// <summary>The pull-secret parts of policies: ServiceAccount links, renamed and create-only copies, pull defaults, and the two presets.</summary>
public sealed class PullSecretPolicyTests
{
    private static CompiledPolicy Preset(string name) => PolicyPresets.TryGet(name, out CompiledPolicy? policy) ? policy : throw new InvalidOperationException(name);

    private static ClusterSnapshot Sample(string file) =>
        ClusterSnapshot.Create(SnapshotReader.Read(File.ReadAllText(Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", file)), file));

    private static ServiceAccountObject Account(string ns, params string[] secrets) => new(new ObjectMetadata("default", ns), new ValueArray<string>(secrets));

    private static CompiledPolicy Load(string spec) => Load(spec, allowWarnings: false);

    [Fact]
    public void The_ibm_preset_copies_all_icr_io_where_it_is_missing_and_links_it_to_each_default_service_account()
    {
        ClusterSnapshot snapshot = Sample("ibm-iks-cluster.yaml");

        PropagationPlan plan = PolicyEngine.Plan(Preset("ibm-iks"), snapshot);

        Assert.Equal(
            ["create team-a/all-icr-io", "create team-b/all-icr-io", "create team-a/team-a-us-icr-io", "create team-b/team-b-us-icr-io", "create team-c/team-c-us-icr-io"],
            plan.Actions.Select(a => $"{a.Operation.ToString().ToLowerInvariant()} {a.Secret}"));
        Assert.Equal(["team-a/default add /imagePullSecrets", "team-b/default add /imagePullSecrets/-"],
            plan.ServiceAccountPatches.Select(p => $"{p.ServiceAccount.Namespace}/{p.ServiceAccount.Name} {string.Join(";", p.Patch)}"));
        Assert.Empty(plan.Warnings);
    }

    [Fact]
    public void The_ibm_preset_leaves_a_namespaces_own_all_icr_io_as_it_is_like_kubectl_create()
    {
        ClusterSnapshot snapshot = Sample("ibm-iks-cluster.yaml");

        PropagationPlan plan = PolicyEngine.Plan(Preset("ibm-iks"), snapshot);

        Assert.DoesNotContain(plan.Actions, a => a.Secret == new SecretReference("team-c", "all-icr-io"));
        Assert.Equal(snapshot.GetSecret("team-c", "all-icr-io"), plan.ApplyTo(snapshot).GetSecret("team-c", "all-icr-io"));
    }

    [Fact]
    public void After_the_ibm_plan_every_icr_io_image_has_a_credential_and_planning_again_gives_nothing()
    {
        ClusterSnapshot snapshot = Sample("ibm-iks-cluster.yaml");
        CompiledPolicy ibm = Preset("ibm-iks");

        var before = PullEngine.Analyze(ibm, snapshot, EvaluationView.AsIs, null);
        var after = PullEngine.Analyze(ibm, snapshot);

        Assert.Contains(before, p => p.Workload.Name == "web" && p.Findings.Any(f => f.Code == "no-credential"));
        ContainerPull web = after.Single(p => p.Workload.Name == "web");
        Assert.Equal(("us.icr.io", "team-a/all-icr-io"), (web.CredentialKey, $"{web.CredentialSecret?.Namespace}/{web.CredentialSecret?.Name}"));
        Assert.DoesNotContain(after, p => p.Findings.Any(f => f.Severity == DiagnosticSeverity.Error));
        Assert.True(PolicyEngine.Plan(ibm, PolicyEngine.Plan(ibm, snapshot).ApplyTo(snapshot)).IsEmpty);
    }

    [Fact]
    public void The_trace_of_a_namespace_notes_its_copies_and_its_service_account_link()
    {
        Evaluation evaluation = PolicyEngine.Evaluate(Preset("ibm-iks"), Sample("ibm-iks-cluster.yaml"));

        string[] notes = [.. evaluation.Explain("team-a").Trace.Where(t => t.Outcome == TraceOutcome.Note).Select(t => t.ToString())];

        Assert.Contains(notes, n => n.Contains("create team-a/all-icr-io", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.StartsWith("[note] ServiceAccount link 'default-service-account': applied in this view: patch team-a/default", StringComparison.Ordinal));
        Assert.DoesNotContain(evaluation.Explain("team-c").Trace, t => t.Step.StartsWith("ServiceAccount link", StringComparison.Ordinal));
    }

    [Fact]
    public void The_openfaas_preset_links_every_pull_secret_of_openfaas_fn_and_nothing_else()
    {
        PropagationPlan plan = PolicyEngine.Plan(Preset("openfaas"), Sample("openfaas-cluster.yaml"));

        Assert.Empty(plan.Actions);
        ServiceAccountPatch patch = Assert.Single(plan.ServiceAccountPatches);
        Assert.Equal(("openfaas-fn", "default"), (patch.ServiceAccount.Namespace, patch.ServiceAccount.Name));
        Assert.Equal(["docker-hub-creds", "dockerhub", "private-registry"], patch.Secrets.ToArray());
        Assert.Equal(["add /imagePullSecrets", "add /imagePullSecrets/-", "add /imagePullSecrets/-"], patch.Patch.Select(p => p.ToString()));
        Assert.Equal("function-pull-secrets", patch.Rule);
    }

    [Fact]
    public void The_openfaas_pull_policy_default_applies_in_the_function_namespace_to_containers_that_set_none()
    {
        var pulls = PullEngine.Analyze(Preset("openfaas"), Sample("openfaas-cluster.yaml")).ToDictionary(p => p.Workload.Name, p => p.PullPolicy);

        Assert.Equal("Always", pulls["figlet"]);          // tag 0.2: Kubernetes would say IfNotPresent
        Assert.Equal("IfNotPresent", pulls["nodeinfo"]);  // set explicitly
        Assert.Equal("IfNotPresent", pulls["worker"]);    // team-x: Kubernetes' default
    }

    [Fact]
    public void A_function_with_an_ad_hoc_pull_secret_does_not_use_the_service_account_ones()
    {
        ContainerPull adHoc = PullEngine.Analyze(Preset("openfaas"), Sample("openfaas-cluster.yaml")).Single(p => p.Workload.Name == "private-fn");

        Assert.Equal(["dockerhub"], adHoc.PullSecrets.ToArray());
        Assert.Equal("dockerhub", adHoc.CredentialSecret?.Name);
    }

    [Fact]
    public void A_renamed_copy_gets_the_templated_name_and_is_not_rewritten_once_equal()
    {
        CompiledPolicy policy = Load("""
              propagation:
                - name: regional
                  base: {namespace: default, names: [default-icr-io]}
                  rename: [{from: default-icr-io, to: "{namespace}-icr-io"}]
            """);
        SecretObject source = Secret("default", "default-icr-io", data: ["k", "v"], type: "kubernetes.io/dockerconfigjson");
        var snapshot = ClusterSnapshot.Create(source, Namespace("team-a"));

        PropagationPlan plan = PolicyEngine.Plan(policy, snapshot);

        PlanAction create = Assert.Single(plan.Actions);
        Assert.Equal((PlanOperation.Create, new SecretReference("team-a", "team-a-icr-io")), (create.Operation, create.Secret));
        Assert.True(PolicyEngine.Plan(policy, plan.ApplyTo(snapshot)).IsEmpty);
    }

    [Fact]
    public void A_renamed_copy_counts_as_propagated_in_resolution()
    {
        CompiledPolicy policy = Load("""
              propagation:
                - name: p
                  base: {namespace: platform, names: [platform-registry]}
                  rename: [{to: registry}]
              resolution:
                candidates:
                  - {name: registry, source: namespace, sourceWhenPropagated: cluster-wide}
            """);
        var snapshot = ClusterSnapshot.Create(Secret("platform", "platform-registry", data: ["registryAddress", "r.example.com"]), Namespace("team"));

        Evaluation evaluation = PolicyEngine.Evaluate(policy, snapshot);
        NamespaceResolution team = evaluation.Find("team")!;

        Assert.Equal((ResolutionSource.ClusterWide, "r.example.com"), (team.Source, team.PushAddress));
        Assert.Contains("copy of the base Secret platform/platform-registry", evaluation.Explain("team").Trace.First(t => t.Step.StartsWith("candidate 1", StringComparison.Ordinal)).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_bases_renamed_to_one_name_are_a_warning_and_only_the_first_is_copied()
    {
        CompiledPolicy policy = Load("""
              propagation:
                - name: p
                  base: {namespace: platform, names: [a, b]}
                  rename: [{to: "{namespace}-pull"}]
            """, allowWarnings: true);
        var snapshot = ClusterSnapshot.Create(Secret("platform", "a"), Secret("platform", "b"), Namespace("team"));

        PropagationPlan plan = PolicyEngine.Plan(policy, snapshot);

        Assert.Equal("team/team-pull", Assert.Single(plan.Actions).Secret.ToString());
        Diagnostic warning = Assert.Single(plan.Warnings);
        Assert.Equal("copy-name-collision", warning.Code);
        Assert.Contains("'a' and 'b'", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_only_copies_are_created_when_missing_and_never_updated()
    {
        CompiledPolicy policy = Load("""
              propagation:
                - name: p
                  base: {namespace: default, names: [pull]}
                  updateExisting: false
            """);
        var snapshot = ClusterSnapshot.Create(Secret("default", "pull", data: ["k", "new"]), Secret("old", "pull", data: ["k", "old"]), Namespace("fresh"));

        PropagationPlan plan = PolicyEngine.Plan(policy, snapshot);

        Assert.Equal("fresh/pull", Assert.Single(plan.Actions).Secret.ToString());
    }

    [Fact]
    public void Targets_can_be_listed_and_the_base_namespace_is_never_one()
    {
        CompiledPolicy policy = Load("""
              propagation:
                - name: p
                  base: {namespace: default, names: [pull]}
                  targets: {namespaces: [team-a, default]}
            """, allowWarnings: true);
        var snapshot = ClusterSnapshot.Create(Secret("default", "pull"), Namespace("team-a"), Namespace("team-b"));

        Assert.Equal(["team-a/pull"], PolicyEngine.Plan(policy, snapshot).Actions.Select(a => a.Secret.ToString()));
    }

    [Fact]
    public void A_link_waits_for_its_secret_and_skips_secrets_being_deleted_and_terminating_namespaces()
    {
        CompiledPolicy policy = Load("""
              serviceAccountLinks:
                - name: l
                  secrets: {names: [pull, gone]}
            """);
        var snapshot = ClusterSnapshot.Create(
            Namespace("team"), Namespace("empty"), Namespace("leaving", terminating: true),
            Account("team"), Account("empty"), Account("leaving"),
            Secret("team", "pull"), Secret("team", "gone", finalizers: ["x/y"], deleting: true), Secret("leaving", "pull"));

        ServiceAccountPatch patch = Assert.Single(PolicyEngine.Plan(policy, snapshot).ServiceAccountPatches);

        Assert.Equal("team", patch.ServiceAccount.Namespace);
        Assert.Equal(["pull"], patch.Secrets.ToArray());
    }

    [Fact]
    public void A_link_selects_by_label_and_type_in_name_order()
    {
        CompiledPolicy policy = Load("""
              serviceAccountLinks:
                - name: l
                  serviceAccount: builder
                  secrets:
                    selector: {matchLabels: {pull: "yes"}}
                    types: [kubernetes.io/dockerconfigjson]
            """);
        var snapshot = ClusterSnapshot.Create(
            new ServiceAccountObject(new ObjectMetadata("builder", "team"), new ValueArray<string>(["z-first"])),
            Secret("team", "z-first", ["pull", "yes"], type: "kubernetes.io/dockerconfigjson"),
            Secret("team", "b", ["pull", "yes"], type: "kubernetes.io/dockerconfigjson"),
            Secret("team", "a", ["pull", "yes"], type: "kubernetes.io/dockerconfigjson"),
            Secret("team", "opaque", ["pull", "yes"]),
            Secret("team", "unlabelled", type: "kubernetes.io/dockerconfigjson"));

        ServiceAccountPatch patch = Assert.Single(PolicyEngine.Plan(policy, snapshot).ServiceAccountPatches);

        Assert.Equal(["a", "b"], patch.Secrets.ToArray());
        Assert.All(patch.Patch, op => Assert.Equal("/imagePullSecrets/-", op.Path));
    }

    [Fact]
    public void A_service_account_missing_from_the_snapshot_is_a_plan_warning()
    {
        CompiledPolicy policy = Load("""
              serviceAccountLinks:
                - name: l
                  secrets: {names: [pull]}
            """);

        PropagationPlan plan = PolicyEngine.Plan(policy, ClusterSnapshot.Create(Secret("team", "pull")));

        Assert.Empty(plan.ServiceAccountPatches);
        Assert.Equal("service-account-missing", Assert.Single(plan.Warnings).Code);
    }

    [Fact]
    public void The_patch_has_a_kubectl_command_and_json_with_names_only()
    {
        var snapshot = ClusterSnapshot.Create(Account("team"));
        ServiceAccountPatch patch = Assert.Single(ServiceAccountLinks.Plan(snapshot, [new("team", "default", "regcred")], out _));

        Assert.Equal("[{\"op\":\"add\",\"path\":\"/imagePullSecrets\",\"value\":[{\"name\":\"regcred\"}]}]", patch.ToJson());
        Assert.Equal("kubectl patch -n team serviceaccount/default --type=json -p '" + patch.ToJson() + "'", patch.ToKubectlCommand());
    }

    private static CompiledPolicy Load(string spec, bool allowWarnings)
    {
        string text = $"""
            apiVersion: registrypolicy.dev/v1alpha1
            kind: RegistryPolicy
            metadata:
              name: test
            spec:
            {spec}
            """;
        Assert.True(PolicyLoading.TryLoad(text, "test.yaml", out CompiledPolicy? policy, out var diagnostics), string.Join("\n", diagnostics));
        Assert.True(allowWarnings || diagnostics.IsEmpty, string.Join("\n", diagnostics));
        return policy;
    }
}
