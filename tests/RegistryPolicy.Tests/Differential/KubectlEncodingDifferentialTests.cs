using System.Text;
using System.Text.Json;
using RegistryPolicy.Credentials;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Differential;

/// <summary>Our bytes against the real <c>kubectl create secret docker-registry --dry-run=client</c> on this machine.</summary>
[Trait("Category", "RealComponent")]
public class KubectlEncodingDifferentialTests
{
    private static readonly string[] Pieces =
    [
        "a", "Z9", "é", "日本", "😀", "<", ">", "&", "\"", "\\", "'", "?", "=", "+", "/", "%", "~", ":", "::", " ", "\t", "\u0001",
        "\u001f", "\b", "\f", "\u007f", "\u2028", "\u2029", "\ufffd", "{\"json\":1}", "https://", "x@y", "--", "-x", "$HOME", "`",
    ];

    private static string Generate(Random random, int maxPieces)
    {
        var text = new StringBuilder();
        int count = random.Next(1, maxPieces + 1);
        for (int i = 0; i < count; i++)
        {
            text.Append(Pieces[random.Next(Pieces.Length)]);
        }

        return text.ToString();
    }

    private static IEnumerable<(string? Server, string User, string Password, string? Email)> Cases()
    {
        var random = new Random(20261123);
        yield return (null, "u", "p", null);
        yield return ("r.io", "u", "p", "");
        yield return ("HTTPS://Reg.Example.com:5000/v2/team/?q=1#f", "user", "pa:ss:word", "me@example.com");
        yield return ("r.io", "user", new string('x', 300), null);
        for (int i = 0; i < 60; i++)
        {
            yield return (
                random.Next(5) == 0 ? null : Generate(random, 3),
                Generate(random, 4).Replace(":", "", StringComparison.Ordinal) is { Length: > 0 } u ? u : "u",
                Generate(random, 8),
                random.Next(3) == 0 ? Generate(random, 2) : null);
        }
    }

    [SkippableFact]
    public void Our_dockerconfigjson_bytes_equal_kubectls_for_generated_values()
    {
        string kubectl = RealTools.Require("kubectl", "kubectl is expected on every machine");
        var mismatches = new List<string>();
        int compared = 0;
        foreach ((string? server, string user, string password, string? email) in Cases())
        {
            var args = new List<string> { "create", "secret", "docker-registry", "s", "--dry-run=client", "-o", "json", "--docker-username=" + user, "--docker-password=" + password };
            if (server is not null)
            {
                args.Add("--docker-server=" + server);
            }

            if (email is not null)
            {
                args.Add("--docker-email=" + email);
            }

            ProcessResult result = RealTools.Run(kubectl, args);
            bool ours = DockerConfigJson.TryEncode(server, user, password, email, DockerConfigLayout.Kubectl, out byte[]? bytes, out string? error);
            if (result.ExitCode != 0)
            {
                if (ours)
                {
                    mismatches.Add($"kubectl refused ({result.Error.Trim()}) but we encoded: server={server}");
                }
                else
                {
                    Assert.Contains(error!, result.Error, StringComparison.Ordinal);
                }

                continue;
            }

            using JsonDocument secret = JsonDocument.Parse(result.Output);
            byte[] theirs = Convert.FromBase64String(secret.RootElement.GetProperty("data").GetProperty(".dockerconfigjson").GetString()!);
            compared++;
            if (!ours || !theirs.AsSpan().SequenceEqual(bytes))
            {
                mismatches.Add($"server={server} user={user}: kubectl={Encoding.UTF8.GetString(theirs)} ours={(bytes is null ? error : Encoding.UTF8.GetString(bytes))}");
            }

            // The whole manifest, too.
            string ourManifest = DockerRegistrySecret.ToJson("s", null, bytes!);
            if (ourManifest != result.Output)
            {
                mismatches.Add($"manifest differs:\n{result.Output}\n---\n{ourManifest}");
            }
        }

        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches.Take(5)));
        Assert.True(compared > 50, $"only {compared} cases were compared");
    }

    [SkippableTheory]
    [InlineData("u", "p", "")]
    [InlineData("", "p", "r.io")]
    [InlineData("u", "", "r.io")]
    public void kubectl_and_we_refuse_the_same_empty_values(string user, string password, string server)
    {
        string kubectl = RealTools.Require("kubectl", "kubectl is expected on every machine");
        ProcessResult result = RealTools.Run(kubectl, ["create", "secret", "docker-registry", "s", "--dry-run=client", "-o", "json",
            "--docker-username=" + user, "--docker-password=" + password, "--docker-server=" + server]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.False(DockerConfigJson.TryEncode(server, user, password, null, DockerConfigLayout.Kubectl, out _, out string? error));
        Assert.Contains(error!, result.Error, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData("regcred", null)]
    [InlineData("pull", "team-a")]
    [InlineData("a.b-c", "kube-system")]
    public void Our_secret_yaml_equals_kubectls(string name, string? ns)
    {
        string kubectl = RealTools.Require("kubectl", "kubectl is expected on every machine");
        var args = new List<string> { "create", "secret", "docker-registry", name, "--dry-run=client", "-o", "yaml", "--docker-server=r.io", "--docker-username=u", "--docker-password=p<&>" };
        if (ns is not null)
        {
            args.AddRange(["-n", ns]);
        }

        ProcessResult result = RealTools.Run(kubectl, args);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(result.Output, DockerRegistrySecret.ToYaml(name, ns, DockerConfigJson.Encode("r.io", "u", "p<&>")));
    }
}
