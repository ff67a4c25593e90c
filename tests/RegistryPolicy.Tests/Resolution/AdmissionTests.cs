using System.Text;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using static RegistryPolicy.Tests.Support.Objects;

namespace RegistryPolicy.Tests.Resolution;

/// <summary>Kyma's defaulting webhook (reference rules 31 and 32), with the upstream test facts.</summary>
public sealed class AdmissionTests
{
    private static AdmissionResult Admit(SecretObject secret, AdmissionOperation op = AdmissionOperation.Create, StringMap? nsLabels = null) =>
        PolicyEngine.Admit(PolicyPresets.Default, new AdmissionRequest(op, secret) { NamespaceLabels = nsLabels });

    private static SecretObject Labelled(params string[] data) => Secret("team", "any-name", [RemoteRegistryLabel, "config"], data);

    private static string DockerConfig(AdmissionResult result)
    {
        Assert.True(result.MutatedSecret!.Data.TryGetString(".dockerconfigjson", out string json));
        return json;
    }

    [Theory]
    [InlineData("test", "test", "test", """{"auths":{"test":{"auth":"dGVzdDp0ZXN0"}}}""")]
    [InlineData("-", "-", "-", """{"auths":{"-":{"auth":"LTot"}}}""")]
    [InlineData("", "p", "s", """{"auths":{"s":{"auth":"OnA="}}}""")]
    public void The_webhook_writes_kymas_exact_dockerconfigjson(string user, string pass, string server, string expected)
    {
        AdmissionResult result = Admit(Labelled("username", user, "password", pass, "serverAddress", server));

        Assert.True(result.Allowed);
        Assert.Equal(expected, DockerConfig(result));
        JsonPatchOperation patch = Assert.Single(result.Patch);
        Assert.Equal(("add", "/data/.dockerconfigjson"), (patch.Op, patch.Path));
        Assert.Equal("\"" + Convert.ToBase64String(Encoding.UTF8.GetBytes(expected)) + "\"", patch.ValueJson);
    }

    [Theory]
    [InlineData(new[] { "password", "p", "serverAddress", "s" }, "username field not found")]
    [InlineData(new[] { "username", "u", "serverAddress", "s" }, "password field not found")]
    [InlineData(new[] { "username", "u", "password", "p" }, "serverAddress field not found")]
    [InlineData(new string[0], "username field not found")]
    public void A_missing_key_is_refused_in_kymas_order(string[] data, string reason)
    {
        AdmissionResult result = Admit(Labelled(data));

        Assert.False(result.Allowed);
        Assert.Equal(500, result.StatusCode);
        Assert.Equal(reason, result.Reason);
        Assert.Null(result.MutatedSecret);
    }

    [Fact]
    public void A_user_supplied_dockerconfigjson_is_replaced()
    {
        AdmissionResult result = Admit(Labelled("username", "u", "password", "p", "serverAddress", "s", ".dockerconfigjson", "{}"));

        Assert.Equal("replace", Assert.Single(result.Patch).Op);
    }

    [Fact]
    public void An_up_to_date_secret_needs_no_patch()
    {
        AdmissionResult first = Admit(Labelled("username", "u", "password", "p", "serverAddress", "s"));

        AdmissionResult again = Admit(first.MutatedSecret!, AdmissionOperation.Update);

        Assert.True(again.Allowed);
        Assert.Empty(again.Patch);
    }

    [Fact]
    public void A_secret_without_data_gets_the_whole_data_map_added()
    {
        SecretObject empty = Secret("team", "x", [RemoteRegistryLabel, "config"]);
        CompiledPolicy lenient = PolicyLoader.Parse(PolicyPresets.Default.Text!.Replace("requiredKeys: [username, password, serverAddress]", "requiredKeys: []", StringComparison.Ordinal), "lenient");

        AdmissionResult result = PolicyEngine.Admit(lenient, new AdmissionRequest(AdmissionOperation.Create, empty));

        JsonPatchOperation patch = Assert.Single(result.Patch);
        Assert.Equal(("add", "/data"), (patch.Op, patch.Path));
        Assert.StartsWith("{\".dockerconfigjson\":\"", patch.ValueJson, StringComparison.Ordinal);
    }

    [Fact]
    public void Secrets_the_selectors_do_not_select_are_stored_as_sent()
    {
        SecretObject unlabelled = Secret("team", "x", data: ["username", "u"]);

        AdmissionResult notSelected = Admit(unlabelled);
        AdmissionResult kubeSystem = Admit(Labelled("username", "u"), nsLabels: StringMap.Of("gardener.cloud/purpose", "kube-system"));

        Assert.True(notSelected.Allowed);
        Assert.False(notSelected.Selected);
        Assert.Same(unlabelled, notSelected.MutatedSecret);
        Assert.True(kubeSystem.Allowed);
        Assert.False(kubeSystem.Selected);
    }

    [Fact]
    public void Name_namespace_and_type_are_not_checked()
    {
        SecretObject odd = Secret("kube-public", "anything", [RemoteRegistryLabel, "config"], ["username", "u", "password", "p", "serverAddress", "s"], type: "Opaque");

        Assert.True(Admit(odd).Allowed);
        Assert.NotEmpty(Admit(odd).Patch);
    }

    [Fact]
    public void The_module_preset_has_no_webhook()
    {
        Assert.True(PolicyPresets.TryGet("kyma-serverless-module", out CompiledPolicy? module));

        AdmissionResult result = PolicyEngine.Admit(module, new AdmissionRequest(AdmissionOperation.Create, Labelled()));

        Assert.True(result.Allowed);
        Assert.False(result.Selected);
    }

    [Fact]
    public void A_patch_operation_never_prints_its_value()
    {
        AdmissionResult result = Admit(Labelled("username", "u", "password", "hunter2", "serverAddress", "s"));

        Assert.Equal("add /data/.dockerconfigjson", result.Patch[0].ToString());
        Assert.DoesNotContain("ValueJson", result.Patch[0].ToString(), StringComparison.Ordinal);
    }
}
