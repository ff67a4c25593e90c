using RegistryPolicy.Cli;

namespace RegistryPolicy.Tests.Support;

/// <summary>Runs the <c>registry-policy</c> tool in-process with captured streams.</summary>
internal static class CliRunner
{
    public static CliResult RunWithInput(string stdin, params string[] args) => Run(new StringReader(stdin), args);

    public static CliResult Run(TextReader stdin, params string[] args)
    {
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter { NewLine = "\n" };
        int exit = CliApp.Run(args, new CliStreams(stdin, output, error));
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    public static CliResult Run(params string[] args) => Run(new StringReader(string.Empty), args);
}

internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    public string[] Lines => Output.Split('\n')[..^1];
}
