using System.Diagnostics;
using System.Text;

namespace RegistryPolicy.Tests.Support;

/// <summary>
/// Finds and runs the real programs differential tests compare against. A missing tool skips the test with its reason on a
/// developer's machine, and fails it when <c>CI=true</c>: CI must never pass by skipping what it was meant to check.
/// </summary>
internal static class RealTools
{
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The full path of <paramref name="tool"/> on PATH; skips (or fails in CI) when it is missing.</summary>
    public static string Require(string tool, string installHint)
    {
        string? path = Find(tool);
        RequireThat(path is not null, $"'{tool}' is not installed ({installHint}; .ci/run installs it).");
        return path!;
    }

    /// <summary>Skips (or fails in CI) unless <paramref name="condition"/> holds.</summary>
    public static void RequireThat(bool condition, string reason) => RequireThat(condition, reason, InCi);

    /// <summary>The rule itself, with CI given explicitly so it can be tested without changing the environment.</summary>
    internal static void RequireThat(bool condition, string reason, bool inCi)
    {
        if (condition)
        {
            return;
        }

        if (inCi)
        {
            Assert.Fail($"CI=true and a real-component test cannot run: {reason}");
        }

        Skip.If(true, reason);
    }

    public static string? Find(string tool)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = System.IO.Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Runs a program to completion with the given standard input; returns exit code, stdout and stderr.</summary>
    public static ProcessResult Run(string fileName, IEnumerable<string> arguments, string? stdin = null,
        IDictionary<string, string>? environment = null, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
            StandardInputEncoding = new UTF8Encoding(false),
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }

        if (environment is not null)
        {
            foreach ((string key, string value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }

        process.StandardInput.Close();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish in time");
        }

        return new ProcessResult(process.ExitCode, output.Result, error.Result);
    }
}

internal sealed record ProcessResult(int ExitCode, string Output, string Error);
