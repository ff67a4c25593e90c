using System.Net.Http.Headers;
using RegistryPolicy.Kubernetes.Controller;

namespace RegistryPolicy.Tests.Kubernetes.Controller;

public sealed class KubernetesConnectionTests
{
    private static string Config(string user, string cluster = "server: https://kube.example.com:6443", string extra = "") => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: prod
          cluster:
            {cluster}
        - name: staging
          cluster:
            server: https://staging.example.com
        users:
        - name: u
          user:
            {user}
        contexts:
        - name: prod
          context: {"{"}cluster: prod, user: u, namespace: team-a{"}"}
        - name: staging
          context: {"{"}cluster: staging, user: u{"}"}
        current-context: prod
        {extra}
        """;

    /// <summary>A request as every API call sends it: through the connection's authorizer.</summary>
    private static HttpRequestMessage Authorized(KubernetesConnection connection)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, connection.Server);
        connection.Authorize(request, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return request;
    }

    [Fact]
    public void The_current_context_gives_its_cluster_namespace_and_token_and_ToString_never_shows_the_token()
    {
        Assert.True(KubernetesConnection.TryFromKubeconfigText(Config("token: s3cr3t-token-value"), "/tmp/k.yaml", null, out KubernetesConnection? c, out string? error), error);

        Assert.Equal(new Uri("https://kube.example.com:6443"), c!.Server);
        Assert.Equal("team-a", c.Namespace);
        Assert.Equal(new AuthenticationHeaderValue("Bearer", "s3cr3t-token-value"), Authorized(c).Headers.Authorization);
        Assert.DoesNotContain("s3cr3t", c.ToString(), StringComparison.Ordinal);
        Assert.Contains("context prod", c.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Another_context_is_chosen_by_name_and_a_missing_one_is_named_with_those_that_exist()
    {
        Assert.True(KubernetesConnection.TryFromKubeconfigText(Config("token: t"), "k.yaml", "staging", out KubernetesConnection? c, out _));
        Assert.Equal("staging.example.com", c!.Server.Host);

        Assert.False(KubernetesConnection.TryFromKubeconfigText(Config("token: t"), "k.yaml", "nope", out _, out string? error));
        Assert.Equal("k.yaml: no context 'nope' (contexts: prod, staging)", error);
    }

    [Fact]
    public void A_token_file_is_read_again_on_every_request_so_a_rotated_token_is_used()
    {
        string file = Path.GetTempFileName();
        File.WriteAllText(file, "first\n");
        Assert.True(KubernetesConnection.TryFromKubeconfigText(Config($"tokenFile: {file}"), "k.yaml", null, out KubernetesConnection? c, out _));
        Assert.Equal("first", Authorized(c!).Headers.Authorization!.Parameter);
        File.WriteAllText(file, "second");
        Assert.Equal("second", Authorized(c!).Headers.Authorization!.Parameter);
        File.Delete(file);
    }

    [Theory]
    [InlineData("token: t", "server: ftp://x", "no server address")]
    [InlineData("token: t", "server: https://x\n    certificate-authority-data: '!!!'", "not base64")]
    [InlineData("client-certificate-data: bm90IGEgY2VydA==\n    client-key-data: bm90IGEga2V5", "server: https://x", "PEM expected")]
    [InlineData("exec: {command: aws}", "server: https://x", "exec or auth-provider plugin")]
    [InlineData("token: t", "server: https://x\n    certificate-authority: /nonexistent/ca.crt", "cannot be read")]
    public void Unusable_kubeconfigs_are_refused_with_the_reason_and_never_the_credential(string user, string cluster, string reason)
    {
        Assert.False(KubernetesConnection.TryFromKubeconfigText(Config(user, cluster), "k.yaml", null, out KubernetesConnection? c, out string? error));
        Assert.Null(c);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.DoesNotContain("bm90IGEga2V5", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Documents_nested_deeper_than_a_kubeconfig_goes_are_refused_before_the_recursive_yaml_parser_sees_them()
    {
        Assert.False(KubernetesConnection.TryFromKubeconfigText("a: " + new string('[', 200_000), "k.yaml", null, out _, out string? flow));
        Assert.Contains("nest deeper than 64", flow, StringComparison.Ordinal);
        string block = string.Concat(Enumerable.Range(0, 300).Select(i => new string(' ', i) + "k:\n"));
        Assert.False(KubernetesConnection.TryFromKubeconfigText(block, "k.yaml", null, out _, out string? indented));
        Assert.Contains("more than 256 deep", indented, StringComparison.Ordinal);
        Assert.False(KubernetesConnection.TryFromKubeconfigText("a:\n" + string.Concat(Enumerable.Repeat("- ", 100_000)) + "x", "k.yaml", null, out _, out string? compact));
        Assert.Contains("more than 256 deep", compact, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_authority_with_insecure_skip_tls_verify_and_credentials_in_the_server_address_are_refused()
    {
        Assert.False(KubernetesConnection.TryFromKubeconfigText(Config("token: t", "server: https://x\n    insecure-skip-tls-verify: true\n    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="),
            "k.yaml", null, out _, out string? both));
        Assert.NotNull(both);

        Assert.False(KubernetesConnection.TryFromKubeconfigText(Config("token: t", "server: https://admin:hunter22@kube.example.com"), "k.yaml", null, out _, out string? userInfo));
        Assert.Contains("user name or password in its server address", userInfo, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter22", userInfo, StringComparison.Ordinal);
        Assert.Equal("https://kube.example.com:8443", KubernetesConnection.Display(new Uri("https://admin:hunter22@kube.example.com:8443/")));
    }

    [Fact]
    public void Object_paths_refuse_names_a_uri_would_collapse_into_another_path()
    {
        Assert.Throws<KubeApiException>(() => ResourceType.Secrets.PathOf("team-a", ".."));
        Assert.Throws<KubeApiException>(() => ResourceType.Secrets.PathOf(".", "s"));
        Assert.Equal("/api/v1/namespaces/a%2Fb/secrets/x%3Fwatch%3D1", ResourceType.Secrets.PathOf("a/b", "x?watch=1"));
    }

    [Fact]
    public void Not_yaml_and_not_a_mapping_are_refused_with_where()
    {
        Assert.False(KubernetesConnection.TryFromKubeconfigText("a: [", "k.yaml", null, out _, out string? broken));
        Assert.StartsWith("k.yaml:", broken, StringComparison.Ordinal);
        Assert.False(KubernetesConnection.TryFromKubeconfigText("- just a list", "k.yaml", null, out _, out string? list));
        Assert.Contains("not a kubeconfig", list, StringComparison.Ordinal);
    }

    [Fact]
    public void Outside_a_pod_there_is_no_in_cluster_connection_and_the_reason_says_what_to_pass()
    {
        if (Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST") is not null)
        {
            return;
        }

        Assert.False(KubernetesConnection.TryInCluster(out KubernetesConnection? c, out string? why));
        Assert.Null(c);
        Assert.Contains("--kubeconfig", why, StringComparison.Ordinal);
    }
}
