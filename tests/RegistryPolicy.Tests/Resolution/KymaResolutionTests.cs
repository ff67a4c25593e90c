using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using static RegistryPolicy.Tests.Support.Objects;

namespace RegistryPolicy.Tests.Resolution;

/// <summary>The Kyma 2.x rules of ../shared/reference/kyma-serverless.md, one test per rule, on the default preset.</summary>
public sealed class KymaResolutionTests
{
    private static readonly CompiledPolicy Kyma = PolicyPresets.Default;

    private static NamespaceResolution Resolve(string ns, EvaluationView view, params KubeObject[] objects) =>
        PolicyEngine.Evaluate(Kyma, ClusterSnapshot.Create(objects), view).Find(ns)!;

    [Fact]
    public void The_namespace_override_is_read_before_the_default_rule_5()
    {
        NamespaceResolution r = Resolve("team", EvaluationView.AsIs, NamespaceOverride("team"), InternalDefault("team", labelled: false));

        Assert.Equal(ResolutionSource.Namespace, r.Source);
        Assert.Equal(new SecretReference("team", Override), r.Secret);
        Assert.Equal(("ghcr.io/team", "ghcr.io/team"), (r.PushAddress, r.PullAddress));
        Assert.Equal("team-bot", r.Username);
        Assert.StartsWith("sha256:", r.CredentialFingerprint, StringComparison.Ordinal);
    }

    [Fact]
    public void The_override_is_chosen_whatever_its_labels_type_or_keys_rule_5()
    {
        SecretObject bare = Secret("team", Override, data: ["unrelated", "x"], type: "Opaque");

        NamespaceResolution r = Resolve("team", EvaluationView.AsIs, bare, InternalDefault("team", labelled: false));

        Assert.Equal(new SecretReference("team", Override), r.Secret);
        Assert.Equal(string.Empty, r.PushAddress);
    }

    [Theory]
    [InlineData("true", "serverless-docker-registry.kyma-system.svc.cluster.local:5000", "localhost:32137")]
    [InlineData("True", "registry.internal:5000", "registry.internal:5000")]
    [InlineData("false", "registry.internal:5000", "registry.internal:5000")]
    public void The_default_uses_push_and_pull_keys_only_when_isInternal_is_exactly_true_rule_7(string isInternal, string push, string pull)
    {
        SecretObject secret = Secret("team", Default, data: [
            "isInternal", isInternal, "pushRegAddr", "serverless-docker-registry.kyma-system.svc.cluster.local:5000",
            "pullRegAddr", "localhost:32137", "registryAddress", "registry.internal:5000"]);

        NamespaceResolution r = Resolve("team", EvaluationView.AsIs, secret);

        Assert.Equal(ResolutionSource.Default, r.Source);
        Assert.Equal((push, pull), (r.PushAddress, r.PullAddress));
    }

    [Fact]
    public void A_missing_address_key_gives_an_empty_address_and_a_lint_rule_8()
    {
        Evaluation e = PolicyEngine.Evaluate(Kyma, ClusterSnapshot.Create(Secret("team", Default, data: ["isInternal", "true"])), EvaluationView.AsIs);

        Assert.Equal(string.Empty, e.Find("team")!.PushAddress);
        Assert.Contains(e.Diagnostics, d => d.Code == "empty-address");
        Assert.Contains(e.Explain("team").Trace, t => t.Detail.Contains("'pushRegAddr' is missing", StringComparison.Ordinal));
    }

    [Fact]
    public void No_secret_gives_none_with_kymas_exact_error_and_functions_that_cannot_build_rule_6()
    {
        var fn = new FunctionObject(new ObjectMetadata("hello", "team"), "nodejs18");

        Evaluation e = PolicyEngine.Evaluate(Kyma, ClusterSnapshot.Create(fn), EvaluationView.AsIs);

        NamespaceResolution r = e.Find("team")!;
        Assert.Equal(ResolutionSource.None, r.Source);
        Assert.Equal(
            "docker registry configuration not found, none of configuration secrets (serverless-registry-config-default, serverless-registry-config) " +
            "found in function namespace: secrets \"serverless-registry-config-default\" not found", r.Reason);
        Assert.Contains(e.Diagnostics, d => d.Code == "cannot-build" && d.Subject!.Value.Name == "team");
    }

    [Fact]
    public void In_the_converged_view_a_cluster_wide_base_overwrites_an_unshielded_override_rules_16_and_21()
    {
        KubeObject[] objects = [Namespace("kyma-system"), Namespace("team"), ClusterWide(), InternalDefault(), NamespaceOverride("team")];

        NamespaceResolution converged = Resolve("team", EvaluationView.Converged, objects);
        NamespaceResolution asIs = Resolve("team", EvaluationView.AsIs, objects);

        Assert.Equal(ResolutionSource.ClusterWide, converged.Source);
        Assert.Equal("registry.example.com/platform", converged.PushAddress);
        Assert.Equal(ResolutionSource.Namespace, asIs.Source);
        Assert.Equal("ghcr.io/team", asIs.PushAddress);
    }

    [Fact]
    public void An_override_about_to_be_overwritten_is_linted()
    {
        Evaluation e = PolicyEngine.Evaluate(Kyma, ClusterSnapshot.Create(Namespace("team"), ClusterWide(), NamespaceOverride("team")));

        Assert.Contains(e.Diagnostics, d => d.Code == "override-overwritten" && d.Subject == new Diagnostics.ObjectReference("Secret", "team", Override));
    }

    [Fact]
    public void A_shielded_override_stays_user_managed_even_against_a_cluster_wide_base_rule_22()
    {
        NamespaceResolution r = Resolve("team", EvaluationView.Converged, Namespace("team"), ClusterWide(), InternalDefault(), NamespaceOverride("team", shielded: true));

        Assert.Equal(ResolutionSource.UserManaged, r.Source);
        Assert.Equal("ghcr.io/team", r.PushAddress);
    }

    [Fact]
    public void Without_a_cluster_wide_base_an_unshielded_override_counts_as_namespace_and_the_default_copy_as_default_rule_24()
    {
        KubeObject[] objects = [Namespace("kyma-system"), Namespace("a"), Namespace("b"), InternalDefault(), NamespaceOverride("a")];

        Evaluation e = PolicyEngine.Evaluate(Kyma, ClusterSnapshot.Create(objects));

        Assert.Equal(ResolutionSource.Namespace, e.Find("a")!.Source);
        Assert.Equal(ResolutionSource.Default, e.Find("b")!.Source);
        Assert.Equal("localhost:32137", e.Find("b")!.PullAddress);
    }

    [Fact]
    public void A_base_with_another_name_is_copied_but_never_read_rule_25()
    {
        SecretObject other = Secret("kyma-system", "my-registry", [ConfigLabel, "credentials"], ["registryAddress", "mirror.example.com"], finalizers: [Finalizer]);

        Evaluation e = PolicyEngine.Evaluate(Kyma, ClusterSnapshot.Create(Namespace("team"), other, InternalDefault()));

        Assert.Contains(e.Plan.Actions, a => a.Operation == PlanOperation.Create && a.Secret == new SecretReference("team", "my-registry"));
        Assert.Equal(ResolutionSource.Default, e.Find("team")!.Source);
        Assert.Contains(e.Diagnostics, d => d.Code == "base-never-read" && d.Subject!.Value.Name == "my-registry");
    }

    [Theory]
    [InlineData("kube-system")]
    [InlineData("istio-system")]
    [InlineData("natss")]
    public void Excluded_namespaces_receive_nothing_rule_17(string excluded)
    {
        NamespaceResolution r = Resolve(excluded, EvaluationView.Converged, Namespace(excluded), InternalDefault(), ClusterWide());

        Assert.Equal(ResolutionSource.None, r.Source);
    }

    [Fact]
    public void Terminating_namespaces_receive_nothing_rule_16a()
    {
        NamespaceResolution r = Resolve("old", EvaluationView.Converged, Namespace("old", terminating: true), InternalDefault());

        Assert.Equal(ResolutionSource.None, r.Source);
    }

    [Fact]
    public void The_base_namespace_reads_the_bases_themselves()
    {
        NamespaceResolution r = Resolve("kyma-system", EvaluationView.Converged, Namespace("kyma-system"), InternalDefault(), ClusterWide());

        Assert.Equal(ResolutionSource.ClusterWide, r.Source);
        Assert.Equal(new SecretReference("kyma-system", Override), r.Secret);
    }

    [Fact]
    public void Deleting_the_cluster_wide_base_deletes_unshielded_copies_and_functions_fall_back_to_the_default_rule_27()
    {
        SecretObject copy = Secret("a", Override, [ConfigLabel, "credentials", RemoteRegistryLabel, "config"],
            ["registryAddress", "registry.example.com/platform", "serverAddress", "registry.example.com", "username", "platform-ci", "password", "platform-secret-pass"]);
        KubeObject[] objects = [Namespace("a"), Namespace("b"), InternalDefault(), ClusterWide(deleting: true), copy, NamespaceOverride("b", shielded: true)];

        Evaluation e = PolicyEngine.Evaluate(Kyma, ClusterSnapshot.Create(objects));

        Assert.Contains(e.Plan.Actions, a => a.Operation == PlanOperation.Delete && a.Secret == new SecretReference("a", Override));
        Assert.DoesNotContain(e.Plan.Actions, a => a.Secret == new SecretReference("b", Override));
        Assert.Contains(e.Plan.Actions, a => a.Operation == PlanOperation.Update && a.Secret == new SecretReference("kyma-system", Override) && a.Desired!.Metadata.Finalizers.Count == 0);
        Assert.Equal(ResolutionSource.Default, e.Find("a")!.Source);
        Assert.Equal(ResolutionSource.UserManaged, e.Find("b")!.Source);
        Assert.Null(e.Plan.ApplyTo(ClusterSnapshot.Create(objects)).GetSecret("kyma-system", Override));
    }

    [Fact]
    public void A_base_that_lost_its_label_but_kept_the_finalizer_is_a_hazard_and_its_copies_stay_rule_28()
    {
        SecretObject former = Secret("kyma-system", Override, data: ["registryAddress", "old.example.com"], finalizers: [Finalizer]);
        SecretObject copy = Secret("a", Override, data: ["registryAddress", "old.example.com"]);

        Evaluation e = PolicyEngine.Evaluate(Kyma, ClusterSnapshot.Create(Namespace("a"), former, copy));

        Assert.Contains(e.Diagnostics, d => d.Code == "finalizer-orphaned" && d.Message.Contains("Terminating", StringComparison.Ordinal));
        Assert.DoesNotContain(e.Plan.Actions, a => a.Secret.Name == Override);
        Assert.Equal("old.example.com", e.Find("a")!.PushAddress);
    }

    [Fact]
    public void The_controller_adds_its_finalizer_to_a_base_without_one_rule_16b()
    {
        SecretObject unfinalized = InternalDefault() with { Metadata = InternalDefault().Metadata with { Finalizers = default } };

        PropagationPlan plan = PolicyEngine.Plan(Kyma, ClusterSnapshot.Create(unfinalized));

        PlanAction action = Assert.Single(plan.Actions);
        Assert.Equal(PlanOperation.Update, action.Operation);
        Assert.Equal([Finalizer], action.Desired!.Metadata.Finalizers);
    }

    [Fact]
    public void A_copy_whose_type_differs_is_updated_with_a_type_immutable_warning_rule_30()
    {
        SecretObject typed = ClusterWide() with { Type = "kubernetes.io/dockerconfigjson" };
        SecretObject opaque = NamespaceOverride("a");

        PropagationPlan plan = PolicyEngine.Plan(Kyma, ClusterSnapshot.Create(Namespace("a"), typed, opaque));

        Assert.Contains(plan.Warnings, w => w.Code == "type-immutable" && w.Subject!.Value.Namespace == "a");
    }

    [Fact]
    public void A_namespace_the_snapshot_does_not_mention_is_still_reported()
    {
        Evaluation e = PolicyEngine.Evaluate(Kyma, ClusterSnapshot.Create(InternalDefault()), new EvaluationOptions { Namespaces = ["brand-new"] });

        NamespaceResolution r = Assert.Single(e.Namespaces);
        Assert.Equal("brand-new", r.Namespace);
        Assert.Equal(ResolutionSource.Default, r.Source);
    }

    [Fact]
    public void The_serverless_module_ignores_the_namespace_override_and_propagates_only_the_default()
    {
        Assert.True(PolicyPresets.TryGet("kyma-serverless-module", out CompiledPolicy? module));
        SecretObject other = Secret("kyma-system", "my-registry", [ConfigLabel, "credentials"], ["registryAddress", "mirror.example.com"]);
        var snapshot = ClusterSnapshot.Create(Namespace("team"), Namespace("kube-system"), InternalDefault(), ClusterWide(), other, NamespaceOverride("team", shielded: true));

        Evaluation gen1 = PolicyEngine.Evaluate(Kyma, snapshot);
        Evaluation gen2 = PolicyEngine.Evaluate(module, snapshot);

        Assert.Equal(ResolutionSource.UserManaged, gen1.Find("team")!.Source);
        Assert.Equal(ResolutionSource.Default, gen2.Find("team")!.Source);
        Assert.DoesNotContain(gen2.Plan.Actions, a => a.Secret.Name is "my-registry" or Override);
        Assert.Equal(ResolutionSource.Default, gen2.Find("kube-system")!.Source);
    }

    [Fact]
    public void Explain_lists_every_candidate_and_never_a_password()
    {
        Evaluation e = PolicyEngine.Evaluate(Kyma, ClusterSnapshot.Create(Namespace("team"), ClusterWide(), InternalDefault(), NamespaceOverride("team")));

        string text = e.Explain("team").ToString();

        Assert.Contains("candidate 1: Secret 'serverless-registry-config'", text, StringComparison.Ordinal);
        Assert.Contains("candidate 2: Secret 'serverless-registry-config-default'", text, StringComparison.Ordinal);
        Assert.Contains("cluster-wide", text, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-pass", text, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-pass", string.Join("\n", e.Diagnostics) + string.Join("\n", e.Namespaces) + string.Join("\n", e.Plan.Actions), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_username_and_password_keys_the_credential_comes_from_the_dockerconfigjson_entry_for_serverAddress()
    {
        byte[] json = RegistryPolicy.Credentials.DockerConfigJson.Encode("r.example.com", "robot", "robot-secret-pass");
        SecretObject secret = Secret("team", Override, data: ["registryAddress", "r.example.com/x", "serverAddress", "r.example.com"]) is var s
            ? s with { Data = s.Data.With(".dockerconfigjson", json) }
            : null!;

        NamespaceResolution r = Resolve("team", EvaluationView.AsIs, secret);

        Assert.Equal("robot", r.Username);
        Assert.Equal(RegistryPolicy.Credentials.RegistryCredential.FingerprintOf("robot-secret-pass"), r.CredentialFingerprint);
    }

    [Fact]
    public void A_base_carrying_the_shield_label_makes_every_copy_user_managed_and_is_linted()
    {
        SecretObject shieldedBase = ClusterWide() with { Metadata = ClusterWide().Metadata with { Labels = ClusterWide().Metadata.Labels.With(ManagedByLabel, "user") } };

        Evaluation e = PolicyEngine.Evaluate(Kyma, ClusterSnapshot.Create(Namespace("team"), shieldedBase));

        Assert.Equal(ResolutionSource.UserManaged, e.Find("team")!.Source);
        Assert.Contains(e.Diagnostics, d => d.Code == "base-carries-shield");
    }
}
