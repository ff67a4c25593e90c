using RegistryPolicy.Tests.Policies;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Cli;

/// <summary>
/// Every example in every command's <c>--help</c> runs, as a newcomer would paste it, in the real bash, against the bundled
/// samples: it may find something (exit 1 or 3 where the help says so), but it may not be a usage error, an internal error,
/// a crash, or a file the repository does not ship. Examples that need a live cluster (<c>kubectl get</c>) are the only ones
/// left out. A command's examples run in order in one scratch folder, as they would be pasted into one shell (a later example
/// may use a file an earlier one wrote).
/// </summary>
public sealed class HelpExampleRunTests
{
    public static TheoryData<string> Commands()
    {
        var data = new TheoryData<string>();
        foreach (string path in RegistryPolicy.Cli.CliApp.CommandPaths().Prepend(string.Empty).Distinct(StringComparer.Ordinal))
        {
            data.Add(path.Length == 0 ? "(top level)" : path);
        }

        return data;
    }

    private static string[] ExamplesOf(string command)
    {
        string[] args = command == "(top level)" ? ["--help"] : [.. command.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"];
        return [.. ExamplesIn(CliRunner.Run(args).Output).Where(e => !e.Contains("kubectl get", StringComparison.Ordinal))];
    }

    [Fact]
    public void The_examples_are_found_so_the_check_can_fail()
    {
        int examples = RegistryPolicy.Cli.CliApp.CommandPaths().Where(c => c.Length > 0).Prepend("(top level)").Sum(c => ExamplesOf(c).Length);

        Assert.True(examples > 40, $"only {examples} examples found");
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_help_example_runs_against_the_bundled_samples(string command)
    {
        string bash = RealTools.Require("bash", "apt-get install bash");
        string work = Directory.CreateTempSubdirectory("rp-example-").FullName;
        try
        {
            // The examples are written for the repository root: a scratch folder with the samples, and the tool on PATH.
            string root = PolicySchemaTests.RepositoryRoot();
            Directory.CreateSymbolicLink(Path.Combine(work, "samples"), Path.Combine(root, "samples"));
            string bin = Directory.CreateDirectory(Path.Combine(work, "bin")).FullName;
            string tool = Path.Combine(bin, "registry-policy");
            File.WriteAllText(tool, $"#!/bin/sh\nexec dotnet \"{Path.Combine(AppContext.BaseDirectory, "registry-policy.dll")}\" \"$@\"\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(tool, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            foreach (string example in ExamplesOf(command))
            {
                // A server runs until SIGTERM: it must start, say where it listens, and then shut down cleanly (exit 0).
                bool server = example.Contains("registry-policy serve --", StringComparison.Ordinal);
                string[] arguments = server
                    ? ["-c", "timeout --preserve-status -s TERM 8 bash -o pipefail -c \"$1\"", "bash", example]
                    : ["-o", "pipefail", "-c", example];
                ProcessResult result = RealTools.Run(bash, arguments, stdin: string.Empty,
                    environment: new Dictionary<string, string> { ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH") },
                    workingDirectory: work, timeout: TimeSpan.FromSeconds(120));

                string shown = $"{command}: {example}\nexit {result.ExitCode}\n{result.Error}";
                Assert.True(result.ExitCode is 0 or 1 or 3, shown);
                if (server)
                {
                    Assert.True(result.ExitCode == 0, shown);
                    Assert.Contains("listening on", result.Error, StringComparison.Ordinal);
                }

                Assert.DoesNotContain("cannot read the file", result.Error, StringComparison.Ordinal);
                Assert.DoesNotContain("No such file", result.Error, StringComparison.Ordinal);
                Assert.DoesNotContain("Unhandled exception", result.Error, StringComparison.Ordinal);
                Assert.DoesNotContain("internal error", result.Error, StringComparison.Ordinal);
                if (result.ExitCode == 1)
                {
                    // Exit 1 is for findings and input errors the example shows on purpose; a usage message means the example is wrong.
                    Assert.DoesNotContain("--help", result.Error, StringComparison.Ordinal);
                }
            }
        }
        finally
        {
            // The link first, on its own: deleting the folder recursively must never reach the repository's samples.
            string link = Path.Combine(work, "samples");
            if (Directory.Exists(link) && new DirectoryInfo(link).LinkTarget is not null)
            {
                Directory.Delete(link);
            }

            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The example commands of one help text: the lines after "Examples:", continuation lines joined.</summary>
    private static IEnumerable<string> ExamplesIn(string help)
    {
        int start = help.IndexOf("Examples:", StringComparison.Ordinal);
        if (start < 0)
        {
            yield break;
        }

        string pending = string.Empty;
        foreach (string raw in help[(start + "Examples:".Length)..].Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }

            string example = pending + line;
            pending = string.Empty;
            if (example.Contains("registry-policy", StringComparison.Ordinal))
            {
                yield return example;
            }
        }
    }
}
