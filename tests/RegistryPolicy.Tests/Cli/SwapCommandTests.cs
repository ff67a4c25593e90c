using System.Text.Json;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Cli;

public sealed class SwapCommandTests
{
    private static string MapFile(string text)
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "maps.conf");
        File.WriteAllText(file, text);
        return file;
    }

    [Fact]
    public void Swap_streams_one_line_per_image_from_standard_input()
    {
        string maps = MapFile("default::\ndocker.io::mirror.example.com/docker.io\n");

        CliResult result = CliRunner.RunWithInput("nginx:1.25\nquay.io/x\n\n", "swap", "--map-file", maps);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["mirror.example.com/docker.io/nginx:1.25", "quay.io/x", "mirror.example.com/docker.io/"], result.Lines);
    }

    [Fact]
    public void Swap_json_names_the_rule_and_key()
    {
        CliResult result = CliRunner.Run("swap", "--mirror-registries", "docker.io::m/docker.io", "-o", "json", "nginx", "ghcr.io/a");

        using JsonDocument first = JsonDocument.Parse(result.Lines[0]);
        using JsonDocument second = JsonDocument.Parse(result.Lines[1]);
        Assert.Equal("m/docker.io/nginx", first.RootElement.GetProperty("result").GetString());
        Assert.True(first.RootElement.GetProperty("swapped").GetBoolean());
        Assert.Equal("registry", first.RootElement.GetProperty("rule").GetString());
        Assert.Equal("docker.io", first.RootElement.GetProperty("key").GetString());
        Assert.False(second.RootElement.GetProperty("swapped").GetBoolean());
        Assert.Equal("default", second.RootElement.GetProperty("rule").GetString());
    }

    [Fact]
    public void A_skipped_map_line_is_reported_with_its_line_and_exits_1()
    {
        string maps = MapFile("default::\nregistry.local:5000:x\n");

        CliResult result = CliRunner.Run("swap", "--map-file", maps, "nginx");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"{maps}:2:", result.Error, StringComparison.Ordinal);
        Assert.Equal(["nginx"], result.Lines);
    }

    [Fact]
    public void The_library_only_crash_is_reported_and_the_image_left_alone()
    {
        CliResult result = CliRunner.Run("swap", "--map-file", MapFile("default::\ndocker.io/library::L\n"), "docker.io/nginx");

        Assert.Equal(["docker.io/nginx"], result.Lines);
        Assert.Contains("upstream-crash", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Exactly_one_map_source_is_required()
    {
        Assert.Equal(2, CliRunner.Run("swap", "nginx").ExitCode);
        Assert.Equal(2, CliRunner.Run("swap", "--map-file", "a", "--mirror-registries", "b", "nginx").ExitCode);
    }
}
