using System.Text;
using RegistryPolicy.Credentials;

namespace RegistryPolicy.Tests.Credentials;

public class DockerConfigJsonEncodeTests
{
    private static string Encode(string? server, string user, string password, string? email = null, DockerConfigLayout layout = DockerConfigLayout.Kubectl) =>
        Encoding.UTF8.GetString(DockerConfigJson.Encode(server, user, password, email, layout));

    [Fact]
    public void Fields_are_in_kubectls_order_with_a_padded_base64_auth_and_no_trailing_newline() =>
        Assert.Equal("{\"auths\":{\"r.io\":{\"username\":\"u\",\"password\":\"p\",\"email\":\"e@x\",\"auth\":\"dTpw\"}}}", Encode("r.io", "u", "p", "e@x"));

    [Fact]
    public void An_empty_or_missing_email_is_omitted()
    {
        Assert.Equal("{\"auths\":{\"r.io\":{\"username\":\"u\",\"password\":\"p\",\"auth\":\"dTpw\"}}}", Encode("r.io", "u", "p", ""));
        Assert.Equal(Encode("r.io", "u", "p", ""), Encode("r.io", "u", "p", null));
    }

    [Fact]
    public void A_missing_server_is_kubectls_Docker_Hub_default_but_an_empty_one_is_refused()
    {
        Assert.StartsWith("{\"auths\":{\"https://index.docker.io/v1/\":", Encode(null, "u", "p"), StringComparison.Ordinal);
        Assert.False(DockerConfigJson.TryEncode("", "u", "p", null, DockerConfigLayout.Kubectl, out byte[]? bytes, out string? error));
        Assert.Null(bytes);
        Assert.Equal(DockerConfigJson.MissingValuesMessage, error);
    }

    [Theory]
    [InlineData("", "p")]
    [InlineData("u", "")]
    [InlineData(null, "p")]
    [InlineData("u", null)]
    public void An_empty_username_or_password_is_refused_with_kubectls_message(string? user, string? password)
    {
        Assert.False(DockerConfigJson.TryEncode("r.io", user, password, null, DockerConfigLayout.Kubectl, out _, out string? error));
        Assert.Equal("either --from-file or the combination of --docker-username, --docker-password and --docker-server is required", error);
        Assert.Throws<ArgumentException>(() => DockerConfigJson.Encode("r.io", user!, password!));
    }

    [Fact]
    public void The_server_is_the_key_verbatim()
    {
        const string server = "HTTPS://Reg.Example.com:5000/v2/Team/?q=1";
        Assert.StartsWith("{\"auths\":{\"HTTPS://Reg.Example.com:5000/v2/Team/?q=1\":", Encode(server, "u", "p"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<>&", "\\u003c\\u003e\\u0026")]
    [InlineData("\"\\", "\\\"\\\\")]
    [InlineData("\n\r\t\b\f", "\\n\\r\\t\\b\\f")]
    [InlineData("\u0001\u001f", "\\u0001\\u001f")]
    [InlineData("\u007f", "\u007f")]
    [InlineData("\u2028\u2029", "\\u2028\\u2029")]
    [InlineData("é日😀", "é日😀")]
    [InlineData("?=+/%~'", "?=+/%~'")]
    public void Values_are_escaped_as_Go_encoding_json_escapes_them(string password, string escaped) =>
        Assert.Contains($"\"password\":\"{escaped}\"", Encode("r.io", "u", password), StringComparison.Ordinal);

    [Fact]
    public void A_lone_surrogate_becomes_the_replacement_character_in_both_json_and_auth()
    {
        string json = Encode("r.io", "u", "a\uD800b");
        Assert.Contains("\"password\":\"a\uFFFDb\"", json, StringComparison.Ordinal);
        Assert.Contains($"\"auth\":\"{Convert.ToBase64String(Encoding.UTF8.GetBytes("u:a\uFFFDb"))}\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Auth_is_base64_of_the_raw_bytes_on_one_line_even_when_long()
    {
        string password = new('x', 300);
        string json = Encode("r.io", "u", password);
        string expected = Convert.ToBase64String(Encoding.UTF8.GetBytes("u:" + password));
        Assert.Contains($"\"auth\":\"{expected}\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", json, StringComparison.Ordinal);
    }

    [Fact]
    public void A_colon_in_the_username_is_written_as_is()
    {
        string json = Encode("r.io", "us:er", "pass");
        Assert.Contains("\"username\":\"us:er\"", json, StringComparison.Ordinal);
        Assert.Contains($"\"auth\":\"{Convert.ToBase64String("us:er:pass"u8)}\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void The_auth_only_layout_writes_one_entry_with_only_auth() =>
        Assert.Equal("{\"auths\":{\"r.io\":{\"auth\":\"dTpw\"}}}", Encode("r.io", "u", "p", "e@x", DockerConfigLayout.AuthOnly));

    [Fact]
    public void The_secret_manifest_has_kubectls_layout()
    {
        byte[] bytes = DockerConfigJson.Encode("x", "u", "p");
        string b64 = Convert.ToBase64String(bytes);
        Assert.Equal(
            $"apiVersion: v1\ndata:\n  .dockerconfigjson: {b64}\nkind: Secret\nmetadata:\n  creationTimestamp: null\n  name: s\n  namespace: ns\ntype: kubernetes.io/dockerconfigjson\n",
            DockerRegistrySecret.ToYaml("s", "ns", bytes));
        Assert.Equal(
            "{\n    \"kind\": \"Secret\",\n    \"apiVersion\": \"v1\",\n    \"metadata\": {\n        \"name\": \"s\",\n        \"creationTimestamp\": null\n    },\n" +
            $"    \"data\": {{\n        \".dockerconfigjson\": \"{b64}\"\n    }},\n    \"type\": \"kubernetes.io/dockerconfigjson\"\n}}\n",
            DockerRegistrySecret.ToJson("s", null, bytes));
    }

    [Theory]
    [InlineData("123", "\"123\"")]
    [InlineData("true", "\"true\"")]
    [InlineData("a b", "\"a b\"")]
    [InlineData("ok-name.1", "ok-name.1")]
    public void Secret_names_yaml_would_misread_are_quoted(string name, string written) =>
        Assert.Contains($"  name: {written}\n", DockerRegistrySecret.ToYaml(name, null, "{}"u8), StringComparison.Ordinal);
}
