using System.Text;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;

namespace RegistryPolicy.Tests.Credentials;

public class DockerConfigJsonDecodeTests
{
    private static DockerConfigReadResult Decode(string json, DockerConfigFormat format = DockerConfigFormat.DockerConfigJson) =>
        DockerConfigJson.Read(Encoding.UTF8.GetBytes(json), format, new ObjectReference("Secret", "ns", "regcred"), ".dockerconfigjson");

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void Entries_are_read_in_document_order_with_their_fields()
    {
        DockerConfigReadResult result = Decode("{\"auths\":{\"b.io\":{\"username\":\"u1\",\"password\":\"p1\",\"email\":\"e\"},\"a.io\":{\"auth\":\"" + B64("u2:p2") + "\"}}}");
        Assert.Empty(result.Diagnostics);
        Assert.Equal(["b.io", "a.io"], result.Config.Entries.Select(e => e.Server));
        Assert.Equal("u1", result.Config.Entries[0].Credential.Username);
        Assert.Equal("p1", result.Config.Entries[0].Credential.RevealPassword());
        Assert.Equal("e", result.Config.Entries[0].Credential.Email);
        Assert.Equal("u2", result.Config.Entries[1].Credential.Username);
        Assert.Equal("p2", result.Config.Entries[1].Credential.RevealPassword());
    }

    [Fact]
    public void Auth_overrides_username_and_password_with_a_warning()
    {
        DockerConfigReadResult result = Decode("{\"auths\":{\"r\":{\"username\":\"x\",\"password\":\"y\",\"auth\":\"" + B64("u:p") + "\"}}}");
        Assert.Equal("u", result.Config.Entries[0].Credential.Username);
        Assert.Equal("p", result.Config.Entries[0].Credential.RevealPassword());
        Assert.Equal("auth-overrides-fields", Assert.Single(result.Diagnostics).Code);
    }

    [Theory]
    [InlineData("dXNlcjpwYTpzcw==", "user", "pa:ss")]
    [InlineData("OnBhc3M=", "", "pass")]
    [InlineData("Og==", "", "")]
    [InlineData("Zm9vOm\nJhcg==\n", "foo", "bar")]
    [InlineData("Zm9vOmJhcg\r\n", "foo", "bar")]
    [InlineData("Zm9vOmJhcgo=", "foo", "bar\n")]
    [InlineData("Zm9vOmJhcg", "foo", "bar")]
    public void Auth_is_split_at_the_first_colon_after_Go_base64_decoding(string auth, string user, string password)
    {
        DockerConfigReadResult result = Decode("{\"auths\":{\"r\":{\"auth\":\"" + auth.Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal) + "\"}}}");
        Assert.False(result.HasErrors);
        Assert.Equal(user, result.Config.Entries[0].Credential.Username);
        Assert.Equal(password, result.Config.Entries[0].Credential.RevealPassword());
    }

    [Theory]
    [InlineData("Zm9vOmJhcg== ", "auth-not-base64")]
    [InlineData("Zm9v OmJhcg==", "auth-not-base64")]
    [InlineData("Zm9vOmJhc-_=", "auth-not-base64")]
    [InlineData("Zm9vOmJhcg=", "auth-not-base64")]
    [InlineData("Zm9vYmFy", "auth-no-colon")]
    public void A_bad_auth_is_an_error_that_names_the_secret_and_the_field(string auth, string code)
    {
        DockerConfigReadResult result = Decode("{\"auths\":{\"r.io\":{\"auth\":\"" + auth + "\"}}}");
        Assert.True(result.HasErrors);
        Assert.Empty(result.Config.Entries);
        Diagnostic d = Assert.Single(result.Diagnostics);
        Assert.Equal(code, d.Code);
        Assert.Equal("Secret ns/regcred", d.Subject.ToString());
        Assert.Equal("data[.dockerconfigjson].auths[r.io].auth", d.Field);
    }

    [Theory]
    [InlineData("{\"auths\":{\"r\":{\"email\":false}}}", "json-wrong-type")]
    [InlineData("{\"auths\":[]}", "json-wrong-type")]
    [InlineData("{\"auths\":{\"r\":[]}}", "json-wrong-type")]
    [InlineData("[]", "json-wrong-type")]
    [InlineData("{\"auths\":{\"r\":{\"password\":\"hunter2\"", "json-malformed")]
    [InlineData("{\"HttpHeaders\":{\"a\":1},\"auths\":{}}", "json-wrong-type")]
    public void Malformed_or_wrongly_typed_json_is_an_error_and_yields_nothing(string json, string code)
    {
        DockerConfigReadResult result = Decode(json);
        Assert.True(result.HasErrors);
        Assert.Empty(result.Config.Entries);
        Assert.Equal(code, result.Diagnostics[0].Code);
        Assert.DoesNotContain("hunter2", result.Diagnostics[0].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Content_without_the_auths_wrapper_yields_nothing_with_a_warning()
    {
        DockerConfigReadResult result = Decode("{\"r.io\":{\"auth\":\"" + B64("u:p") + "\"}}");
        Assert.Empty(result.Config.Entries);
        Assert.False(result.HasErrors);
        Assert.Equal("no-auths", Assert.Single(result.Diagnostics).Code);
    }

    [Fact]
    public void A_legacy_dockercfg_reads_the_flat_map_and_an_auths_wrapper_is_a_registry_named_auths()
    {
        DockerConfigReadResult flat = Decode("{\"r.io\":{\"auth\":\"" + B64("u:p") + "\"}}", DockerConfigFormat.DockerCfg);
        Assert.Equal("u", Assert.Single(flat.Config.Entries).Credential.Username);

        DockerConfigReadResult wrapped = Decode("{\"auths\":{\"r.io\":{\"auth\":\"" + B64("u:p") + "\"}}}", DockerConfigFormat.DockerCfg);
        DockerConfigEntry entry = Assert.Single(wrapped.Config.Entries);
        Assert.Equal("auths", entry.Server);
        Assert.Equal("", entry.Credential.Username);
        Assert.Equal("dockercfg-has-auths", Assert.Single(wrapped.Diagnostics).Code);
    }

    [Fact]
    public void Unknown_fields_and_tokens_are_kept_or_ignored_as_the_kubelet_does()
    {
        DockerConfigReadResult result = Decode("{\"auths\":{\"r\":{\"username\":\"u\",\"password\":\"p\",\"identitytoken\":\"tok\",\"serveraddress\":\"x\",\"other\":{}}},\"credsStore\":\"desktop\"}");
        Assert.Empty(result.Diagnostics);
        RegistryCredential credential = Assert.Single(result.Config.Entries).Credential;
        Assert.Equal("tok", credential.RevealIdentityToken());
        Assert.True(credential.HasToken);
    }

    [Fact]
    public void Field_names_match_case_insensitively_as_in_Go()
    {
        DockerConfigReadResult result = Decode("{\"Auths\":{\"r\":{\"Username\":\"u\",\"PASSWORD\":\"p\"}}}");
        Assert.Equal("p", Assert.Single(result.Config.Entries).Credential.RevealPassword());
    }

    [Fact]
    public void A_repeated_server_key_keeps_the_last_entry_with_a_warning()
    {
        DockerConfigReadResult result = Decode("{\"auths\":{\"r\":{\"username\":\"a\",\"password\":\"1\"},\"r\":{\"username\":\"b\",\"password\":\"2\"}}}");
        Assert.Equal("b", Assert.Single(result.Config.Entries).Credential.Username);
        Assert.Equal("duplicate-server", Assert.Single(result.Diagnostics).Code);
    }

    [Fact]
    public void Invalid_utf8_in_auth_is_kept_with_a_warning()
    {
        string auth = Convert.ToBase64String([(byte)'u', (byte)':', 0xFF, (byte)'p']);
        DockerConfigReadResult result = Decode("{\"auths\":{\"r\":{\"auth\":\"" + auth + "\"}}}");
        Assert.Equal("\uFFFDp", Assert.Single(result.Config.Entries).Credential.RevealPassword());
        Assert.Equal("auth-not-utf8", Assert.Single(result.Diagnostics).Code);
    }
}
