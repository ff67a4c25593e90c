using System.Text;
using System.Text.Json;
using RegistryPolicy.Credentials;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Cli;

public sealed class CredentialCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-creds-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteFile(string name, string content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, content, new UTF8Encoding(false));
        return path;
    }

    [Fact]
    public void Encode_prints_the_exact_bytes_and_one_newline()
    {
        CliResult result = CliRunner.Run("encode", "--server", "r.io", "--username", "u", "--password", "p");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(Encoding.UTF8.GetString(DockerConfigJson.Encode("r.io", "u", "p")) + "\n", result.Output);
    }

    [Fact]
    public void Encode_reads_the_password_from_stdin_without_its_newline()
    {
        CliResult result = CliRunner.RunWithInput("s3cret\n", "encode", "--server", "r.io", "--username", "u", "--password-stdin");
        Assert.Equal(Encoding.UTF8.GetString(DockerConfigJson.Encode("r.io", "u", "s3cret")) + "\n", result.Output);
    }

    [Fact]
    public void Encode_without_a_server_uses_kubectls_default_and_an_empty_server_is_refused_with_exit_1()
    {
        Assert.Contains("https://index.docker.io/v1/", CliRunner.Run("encode", "--username", "u", "--password", "p").Output, StringComparison.Ordinal);
        CliResult empty = CliRunner.Run("encode", "--server=", "--username", "u", "--password", "p");
        Assert.Equal(1, empty.ExitCode);
        Assert.Contains(DockerConfigJson.MissingValuesMessage, empty.Error, StringComparison.Ordinal);
        Assert.Equal("", empty.Output);
    }

    [Fact]
    public void Encode_writes_a_secret_manifest_and_needs_a_name_for_it()
    {
        CliResult yaml = CliRunner.Run("encode", "--server", "r.io", "--username", "u", "--password", "p", "-o", "secret-yaml", "--name", "pull", "-n", "team");
        Assert.Equal(DockerRegistrySecret.ToYaml("pull", "team", DockerConfigJson.Encode("r.io", "u", "p")), yaml.Output);
        Assert.Equal(2, CliRunner.Run("encode", "--server", "r.io", "--username", "u", "--password", "p", "-o", "secret-json").ExitCode);
        Assert.Equal(2, CliRunner.RunWithInput("x", "encode", "--username", "u", "--password", "p", "--password-stdin").ExitCode);
    }

    [Fact]
    public void Encode_auth_only_layout_writes_only_auth() =>
        Assert.Equal("{\"auths\":{\"r.io\":{\"auth\":\"dTpw\"}}}\n", CliRunner.Run("encode", "--server", "r.io", "--username", "u", "--password", "p", "--layout", "auth-only").Output);

    [Fact]
    public void Decode_reads_secrets_from_a_list_and_reports_bad_ones_with_their_location()
    {
        string good = Convert.ToBase64String(DockerConfigJson.Encode("r.io", "alice", "pw"));
        string file = WriteFile("list.yaml", $"""
            apiVersion: v1
            kind: List
            items:
            - apiVersion: v1
              kind: Secret
              metadata:
                name: good
                namespace: team
              type: kubernetes.io/dockerconfigjson
              data:
                .dockerconfigjson: {good}
            - apiVersion: v1
              kind: Secret
              metadata:
                name: broken
                namespace: team
              type: kubernetes.io/dockerconfigjson
              data:
                .dockerconfigjson: "not base64!"
            """);
        CliResult result = CliRunner.Run("creds", "decode", "-f", file);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("team/good", result.Output, StringComparison.Ordinal);
        Assert.Contains("alice", result.Output, StringComparison.Ordinal);
        Assert.Contains("data-not-base64", result.Error, StringComparison.Ordinal);
        Assert.Contains("Secret team/broken", result.Error, StringComparison.Ordinal);
        Assert.Contains("list.yaml:19:", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_json_lists_entries_with_fingerprints_and_diagnostics()
    {
        string config = WriteFile("c.json", "{\"auths\":{\"r.io\":{\"auth\":\"" + Convert.ToBase64String("u:p"u8) + "\",\"username\":\"x\"}}}");
        CliResult result = CliRunner.Run("creds", "decode", "--dockerconfig", config, "-o", "json");
        Assert.Equal(0, result.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(result.Output);
        JsonElement entry = doc.RootElement.GetProperty("secrets")[0].GetProperty("entries")[0];
        Assert.Equal("u", entry.GetProperty("username").GetString());
        Assert.Equal(RegistryCredential.FingerprintOf("p"), entry.GetProperty("passwordFingerprint").GetString());
        Assert.False(entry.TryGetProperty("password", out _));
        Assert.Equal("auth-overrides-fields", doc.RootElement.GetProperty("diagnostics")[0].GetProperty("code").GetString());
    }

    [Fact]
    public void Decode_of_a_missing_file_exits_1_and_without_input_exits_2()
    {
        Assert.Equal(1, CliRunner.Run("creds", "decode", "-f", Path.Combine(_dir, "nope.yaml")).ExitCode);
        Assert.Equal(2, CliRunner.Run("creds", "decode").ExitCode);
    }

    [Fact]
    public void Match_json_lists_matching_keys_in_kubelet_order()
    {
        string a = WriteFile("a.json", Encoding.UTF8.GetString(DockerConfigJson.Encode("*.example.com/team", "u1", "p1")));
        string b = WriteFile("b.json", Encoding.UTF8.GetString(DockerConfigJson.Encode("app.example.com", "u2", "p2")));
        CliResult result = CliRunner.Run("creds", "match", "--dockerconfig", a, "--dockerconfig", b, "-o", "json", "app.example.com/team/x:1");
        Assert.Equal(0, result.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(result.Output);
        Assert.Equal("app.example.com/team/x:1", doc.RootElement.GetProperty("image").GetString());
        Assert.Equal(["app.example.com", "*.example.com/team"], doc.RootElement.GetProperty("matches").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Match_reports_the_Docker_Hub_fallback_and_raw_mode_skips_normalisation()
    {
        string hub = WriteFile("hub.json", Encoding.UTF8.GetString(DockerConfigJson.Encode(null, "hubuser", "p")));
        CliResult normalised = CliRunner.Run("creds", "match", "--dockerconfig", hub, "nginx");
        Assert.Contains("index.docker.io\t(Docker Hub fallback)", normalised.Output, StringComparison.Ordinal);
        CliResult raw = CliRunner.Run("creds", "match", "--raw", "--dockerconfig", hub, "quay.io/nginx");
        Assert.Contains("no credentials", raw.Output, StringComparison.Ordinal);
        CliResult invalid = CliRunner.Run("creds", "match", "--dockerconfig", hub, "NGINX");
        Assert.Equal(1, invalid.ExitCode);
    }
}

public sealed class PasswordBytesTests
{
    private static CliResult RunWithBytes(byte[] stdin, params string[] args)
    {
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter { NewLine = "\n" };
        using var reader = new StreamReader(new MemoryStream(stdin));
        int exit = RegistryPolicy.Cli.CliApp.Run(args, new RegistryPolicy.Cli.CliStreams(reader, output, error));
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void A_password_on_stdin_that_is_not_utf8_is_refused_rather_than_changed()
    {
        CliResult result = RunWithBytes([0xFF, 0xFE, (byte)'p', (byte)'w'], "encode", "--server", "r.io", "--username", "u", "--password-stdin");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("not valid UTF-8", result.Error, StringComparison.Ordinal);
        Assert.Empty(result.Output);
    }

    [Fact]
    public void A_password_on_stdin_keeps_a_leading_byte_order_mark_as_kubectl_would()
    {
        CliResult result = RunWithBytes([0xEF, 0xBB, 0xBF, (byte)'p', (byte)'w', (byte)'\n'], "encode", "--server", "r.io", "--username", "u", "--password-stdin");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains(Convert.ToBase64String("u:\uFEFFpw"u8.ToArray()), result.Output, StringComparison.Ordinal);
    }
}
