using System.Text.Json;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Cli;

public class RefCommandTests
{
    [Fact]
    public void Normalize_prints_one_line_per_argument_in_order()
    {
        CliResult result = CliRunner.Run("ref", "normalize", "nginx", "quay.io/a/b:1", "NGINX");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            ["docker.io/library/nginx", "quay.io/a/b:1", "error: uppercase: invalid reference format: repository name (library/NGINX) must be lowercase"],
            result.Lines);
    }

    [Fact]
    public void Normalize_reads_standard_input_exactly_as_given_when_there_are_no_arguments()
    {
        CliResult result = CliRunner.RunWithInput("nginx\r\n alpine\nredis \n\nbusybox", "ref", "normalize", "--default-tag");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            [
                "docker.io/library/nginx:latest",
                "error: invalid-format: invalid reference format",
                "error: invalid-format: invalid reference format",
                "error: invalid-format: invalid reference format",
                "docker.io/library/busybox:latest",
            ],
            result.Lines);
    }

    [Fact]
    public void A_lone_carriage_return_inside_a_line_is_kept()
    {
        CliResult result = CliRunner.RunWithInput("ng\rinx\n", "ref", "parse", "-o", "json");
        using JsonDocument line = JsonDocument.Parse(result.Lines.Single());
        Assert.Equal("ng\rinx", line.RootElement.GetProperty("input").GetString());
    }

    [Fact]
    public void Parse_prints_the_canonical_string_without_normalising()
    {
        CliResult result = CliRunner.Run("ref", "parse", "nginx", "foo/bar:1");
        Assert.Equal(["nginx", "foo/bar:1"], result.Lines);
    }

    [Fact]
    public void Normalize_json_has_every_field_with_nulls_for_absent_parts()
    {
        CliResult result = CliRunner.Run("ref", "normalize", "-o", "json", "nginx:1.25", "A");
        Assert.Equal(0, result.ExitCode);
        using JsonDocument ok = JsonDocument.Parse(result.Lines[0]);
        JsonElement o = ok.RootElement;
        Assert.Equal("nginx:1.25", o.GetProperty("input").GetString());
        Assert.Equal("docker.io", o.GetProperty("domain").GetString());
        Assert.Equal("library/nginx", o.GetProperty("path").GetString());
        Assert.Equal("1.25", o.GetProperty("tag").GetString());
        Assert.Equal(JsonValueKind.Null, o.GetProperty("digest").ValueKind);
        Assert.Equal("docker.io/library/nginx:1.25", o.GetProperty("normalized").GetString());
        Assert.Equal("nginx:1.25", o.GetProperty("familiar").GetString());
        Assert.Equal(JsonValueKind.Null, o.GetProperty("error").ValueKind);

        using JsonDocument bad = JsonDocument.Parse(result.Lines[1]);
        JsonElement b = bad.RootElement;
        Assert.Equal("uppercase", b.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("must be lowercase", b.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, b.GetProperty("normalized").ValueKind);
        Assert.Equal(JsonValueKind.Null, b.GetProperty("path").ValueKind);
    }

    [Fact]
    public void Parse_json_has_no_normalized_or_familiar_fields()
    {
        CliResult result = CliRunner.Run("ref", "parse", "-o", "json", "foo/foo_bar.com:8080");
        using JsonDocument doc = JsonDocument.Parse(result.Lines.Single());
        Assert.False(doc.RootElement.TryGetProperty("normalized", out _));
        Assert.False(doc.RootElement.TryGetProperty("familiar", out _));
        Assert.Equal("foo", doc.RootElement.GetProperty("domain").GetString());
        Assert.Equal("8080", doc.RootElement.GetProperty("tag").GetString());
    }

    [Fact]
    public void Json_output_escapes_control_characters_and_stays_one_line_per_input()
    {
        CliResult result = CliRunner.RunWithInput("a\"b\\c\u0001\u2028\n", "ref", "normalize", "-o", "json");
        string line = Assert.Single(result.Lines);
        using JsonDocument doc = JsonDocument.Parse(line);
        Assert.Equal("a\"b\\c\u0001\u2028", doc.RootElement.GetProperty("input").GetString());
    }

    [Theory]
    [InlineData("ref", "normalize", "--bogus")]
    [InlineData("ref", "normalize", "-o", "xml", "nginx")]
    [InlineData("ref", "frobnicate")]
    [InlineData("nonsense")]
    public void Usage_errors_exit_with_2_and_point_to_help(params string[] args)
    {
        CliResult result = CliRunner.Run(args);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--help", result.Error, StringComparison.Ordinal);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public void Output_is_streamed_while_input_is_still_being_read()
    {
        var reader = new ObservingReader(["nginx\n", "alpine\n", "redis\n"]);
        var output = new StringWriter { NewLine = "\n" };
        reader.Output = output;
        int exit = RegistryPolicy.Cli.CliApp.Run(["ref", "normalize"], new RegistryPolicy.Cli.CliStreams(reader, output, new StringWriter()));
        Assert.Equal(0, exit);
        // When the reader was asked for the third chunk, the first two lines had already been written.
        Assert.Contains("docker.io/library/alpine", reader.OutputSeenAtRead[2], StringComparison.Ordinal);
    }

    /// <summary>Serves one chunk per Read and records what had been written by then.</summary>
    private sealed class ObservingReader(string[] chunks) : TextReader
    {
        private int _next;

        public StringWriter? Output { get; set; }

        public List<string> OutputSeenAtRead { get; } = [];

        public override int Read(char[] buffer, int index, int count)
        {
            OutputSeenAtRead.Add(Output!.ToString());
            if (_next == chunks.Length)
            {
                return 0;
            }

            string chunk = chunks[_next++];
            chunk.CopyTo(0, buffer, index, chunk.Length);
            return chunk.Length;
        }
    }
}
