using System.CommandLine;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Cli;

public class HelpTests
{
    public static TheoryData<string> Commands()
    {
        var data = new TheoryData<string>();
        foreach (string path in RegistryPolicy.Cli.CliApp.CommandPaths())
        {
            data.Add(path);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_command_has_help_with_examples(string command)
    {
        string[] args = [.. command.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"];
        CliResult result = CliRunner.Run(args);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Usage:", result.Output, StringComparison.Ordinal);
        Assert.Contains("Examples:", result.Output, StringComparison.Ordinal);
        Assert.Contains("registry-policy", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_command_list_holds_every_command_of_the_tool() =>
        Assert.Superset(
            new HashSet<string> { "ref parse", "encode", "creds match", "resolve", "explain", "plan", "admit", "policy list", "policy show", "policy validate", "policy schema" },
            RegistryPolicy.Cli.CliApp.CommandPaths().ToHashSet());
}

public sealed class SubcommandUsageTests
{
    [Fact]
    public void A_subcommands_usage_line_does_not_repeat_its_parents_arguments()
    {
        CliResult help = CliRunner.Run("swap", "check", "--help");

        Assert.Contains(" swap check [<image>...] [options]", help.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("swap [<image>...] check", help.Output, StringComparison.Ordinal);
        Assert.Contains("Examples:", help.Output, StringComparison.Ordinal);
    }
}
