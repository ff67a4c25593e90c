using RegistryPolicy.Diagnostics;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Swap;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Swap;

public sealed class PaletteRegistryInfoTests
{
    private const string Example = """
        apiVersion: v1
        stringData:
          DOMAIN: "harbor.example.org"
          BASE_PATH: "airgap-images"
          USERNAME: "robot"
          PASSWORD: "robot-very-secret-pass"
          INSECURE: "false"
          CA_CERT: ""
          MIRROR_REGISTRIES: docker.io::harbor.example.org/airgap-images/docker.io,gcr.io::harbor.example.org/airgap-images/gcr.io
        kind: Secret
        metadata:
          name: registry-info
          namespace: jet-system
        type: Opaque
        """;

    private static SecretObject Secret(string yaml) => (SecretObject)SnapshotReader.Read(yaml, "registry-info.yaml").Objects.Single().Item;

    [Fact]
    public void The_documented_example_reads_into_a_typed_override()
    {
        PaletteRegistryInfoReadResult read = PaletteRegistryInfo.Read(Secret(Example));
        Assert.False(read.HasErrors, string.Join("\n", read.Diagnostics));
        PaletteRegistryInfo info = read.Info;

        Assert.Equal("harbor.example.org", info.Domain);
        Assert.Equal("airgap-images", info.BasePath);
        Assert.False(info.Insecure);
        Assert.Equal("robot", info.Credential!.Username);
        Assert.Equal("harbor.example.org/airgap-images/docker.io/nginx", new ImageSwapper(info.Map).Rewrite("nginx").Result);
        Assert.DoesNotContain("robot-very-secret-pass", info.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Base64_data_works_like_string_data()
    {
        string data = Example.Replace("stringData:", "data:", StringComparison.Ordinal)
            .Replace("\"harbor.example.org\"", Convert.ToBase64String("harbor.example.org"u8), StringComparison.Ordinal)
            .Replace("\"airgap-images\"", Convert.ToBase64String("airgap-images"u8), StringComparison.Ordinal)
            .Replace("\"robot\"", Convert.ToBase64String("robot"u8), StringComparison.Ordinal)
            .Replace("\"robot-very-secret-pass\"", Convert.ToBase64String("robot-very-secret-pass"u8), StringComparison.Ordinal)
            .Replace("\"false\"", Convert.ToBase64String("false"u8), StringComparison.Ordinal)
            .Replace("CA_CERT: \"\"", "CA_CERT: \"\"", StringComparison.Ordinal)
            .Replace("docker.io::harbor.example.org/airgap-images/docker.io,gcr.io::harbor.example.org/airgap-images/gcr.io",
                Convert.ToBase64String("docker.io::h.example.org/d"u8), StringComparison.Ordinal);

        PaletteRegistryInfoReadResult read = PaletteRegistryInfo.Read(Secret(data));
        Assert.False(read.HasErrors, string.Join("\n", read.Diagnostics));
        PaletteRegistryInfo info = read.Info;
        Assert.Equal("harbor.example.org", info.Domain);
    }

    [Theory]
    [InlineData("INSECURE: \"false\"", "INSECURE: \"no\"", "insecure-not-boolean")]
    [InlineData("CA_CERT: \"\"", "CA_CERT: \"not a certificate\"", "ca-not-pem")]
    [InlineData("  DOMAIN: \"harbor.example.org\"\n", "", "key-missing")]
    [InlineData("\"harbor.example.org\"", "\"REPLACE_WITH_CUSTOM_REGISTRY_DOMAIN\"", "placeholder")]
    [InlineData("MIRROR_REGISTRIES: docker.io::", "MIRROR_REGISTRIES: a::b::c,docker.io::", "line-skipped")]
    public void Invalid_values_are_errors_naming_the_key(string from, string to, string code)
    {
        PaletteRegistryInfoReadResult read = PaletteRegistryInfo.Read(Secret(Example.Replace(from, to, StringComparison.Ordinal)));
        ValueArray<Diagnostic> diagnostics = read.Diagnostics;

        Assert.True(read.HasErrors);
        Assert.Null(read.Info);
        Assert.Contains(diagnostics, d => d.Code == code);
        Assert.DoesNotContain(diagnostics, d => d.Message.Contains("robot-very-secret-pass", StringComparison.Ordinal));
    }

    [Fact]
    public void Render_reads_the_secret_and_insecure_turns_on_skip_verify()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "registry-info.yaml");
        File.WriteAllText(file, Example.Replace("INSECURE: \"false\"", "INSECURE: \"true\"", StringComparison.Ordinal));

        CliResult result = CliRunner.Run("render", "hosts-toml", "--registry-info", file);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("skip_verify = true", result.Output, StringComparison.Ordinal);
        Assert.Contains("[host.\"https://harbor.example.org/v2/airgap-images/gcr.io\"]", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("robot-very-secret-pass", result.Output + result.Error, StringComparison.Ordinal);
    }
}
