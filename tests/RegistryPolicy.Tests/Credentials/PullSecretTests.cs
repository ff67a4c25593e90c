using System.Text;
using RegistryPolicy.Credentials;

namespace RegistryPolicy.Tests.Credentials;

public class PullSecretTests
{
    private static readonly byte[] Config = DockerConfigJson.Encode("r.io", "u", "p");

    private static PullSecret Secret(string type, string key, byte[] value) =>
        new("ns", "s", type, new Dictionary<string, byte[]> { [key] = value });

    [Fact]
    public void A_dockerconfigjson_secret_is_read_from_its_key() =>
        Assert.Single(Secret(PullSecret.DockerConfigJsonType, ".dockerconfigjson", Config).ReadDockerConfig().Config.Entries);

    [Fact]
    public void A_legacy_dockercfg_secret_is_read_as_the_flat_map() =>
        Assert.Single(Secret(PullSecret.DockerCfgType, ".dockercfg", Encoding.UTF8.GetBytes("{\"r.io\":{\"auth\":\"dTpw\"}}")).ReadDockerConfig().Config.Entries);

    [Theory]
    [InlineData("Opaque", ".dockerconfigjson", "unsupported-secret-type")]
    [InlineData(PullSecret.DockerConfigJsonType, "config.json", "missing-data-key")]
    [InlineData(PullSecret.DockerCfgType, ".dockerconfigjson", "missing-data-key")]
    public void Type_and_key_must_agree_or_the_secret_is_ignored_with_a_warning(string type, string key, string code)
    {
        DockerConfigReadResult result = Secret(type, key, Config).ReadDockerConfig();
        Assert.Empty(result.Config.Entries);
        Assert.False(result.HasErrors);
        Assert.Equal(code, Assert.Single(result.Diagnostics).Code);
    }

    [Fact]
    public void Empty_data_is_ignored() =>
        Assert.Equal("empty-data", Assert.Single(Secret(PullSecret.DockerConfigJsonType, ".dockerconfigjson", []).ReadDockerConfig().Diagnostics).Code);

    [Fact]
    public void ToString_names_the_secret_but_never_its_data()
    {
        PullSecret secret = PullSecret.FromDockerConfigJson("ns", "regcred", DockerConfigJson.Encode("r.io", "u", "hunter2"));
        Assert.Equal("Secret ns/regcred (kubernetes.io/dockerconfigjson)", secret.ToString());
    }

    [Fact]
    public void Equality_compares_the_data_bytes()
    {
        Assert.Equal(PullSecret.FromDockerConfigJson("ns", "a", [1, 2]), PullSecret.FromDockerConfigJson("ns", "a", [1, 2]));
        Assert.NotEqual(PullSecret.FromDockerConfigJson("ns", "a", [1, 2]), PullSecret.FromDockerConfigJson("ns", "a", [1, 3]));
    }
}
