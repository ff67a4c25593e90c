using System.CommandLine;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Cli;

/// <summary>The <c>-f</c>, <c>--policy</c> and <c>--preset</c> options, and loading what they name.</summary>
internal static class SnapshotInput
{
    public static Option<string[]> FilesOption(string what = "Snapshot files or directories (kubectl get -A -o yaml|json output, several YAML documents, single objects); '-' reads standard input. Directories are read for *.yaml, *.yml and *.json, sorted.") =>
        new("--filename", "-f") { Description = what, Required = true, AllowMultipleArgumentsPerToken = true, Arity = ArgumentArity.OneOrMore, HelpName = "file" };

    public static Option<string?> PolicyOption() => new("--policy") { Description = "A policy document (YAML or JSON). Default: the built-in preset kyma-serverless.", HelpName = "file" };

    public static Option<string?> PresetOption() => new("--preset")
    {
        Description = $"A built-in policy: {string.Join(", ", PolicyPresets.Names)} (default {PolicyPresets.DefaultName}). See 'registry-policy policy list'.",
        HelpName = "name",
    };

    /// <summary>Loads every file; diagnostics are in the snapshot. Unreadable files are usage-level input errors.</summary>
    public static ClusterSnapshot Load(IEnumerable<string> paths, CliStreams streams, SecretFilter? keep = null)
    {
        var sources = new List<SnapshotSource>();
        foreach (string path in paths)
        {
            if (path == "-")
            {
                sources.Add(SnapshotReader.Read(streams.InStream(), "<stdin>", keep: keep));
                continue;
            }

            if (Directory.Exists(path))
            {
                foreach (string file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                             .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))
                             .Order(StringComparer.Ordinal))
                {
                    sources.Add(ReadFile(file, keep));
                }

                continue;
            }

            sources.Add(ReadFile(path, keep));
        }

        return ClusterSnapshot.Create(sources);
    }

    private static SnapshotSource ReadFile(string path, SecretFilter? keep)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            return SnapshotReader.Read(stream, path, keep: keep);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{path}: cannot read the file: {e.Message}");
        }
    }

    public static CompiledPolicy LoadPolicy(string? file, string? preset, CliStreams streams, string optionName = "--policy", string presetOptionName = "--preset")
    {
        if (file is not null && preset is not null)
        {
            throw new UsageException($"use either {optionName} or {presetOptionName}, not both");
        }

        if (file is null)
        {
            string name = preset ?? PolicyPresets.DefaultName;
            return PolicyPresets.TryGet(name, out CompiledPolicy? builtIn)
                ? builtIn
                : throw new UsageException($"there is no preset '{name}'; the presets are: {string.Join(", ", PolicyPresets.Names)}");
        }

        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{file}: cannot read the file: {e.Message}");
        }

        if (!PolicyLoader.TryLoad(text, file, out CompiledPolicy? policy, out var diagnostics))
        {
            DiagnosticOutput.WriteText(streams.Error, diagnostics);
            throw new InputException($"{file}: the policy has errors (listed above); nothing was evaluated");
        }

        DiagnosticOutput.WriteText(streams.Error, diagnostics);
        return policy;
    }

    public static bool HasErrors(IEnumerable<Diagnostic> diagnostics) => diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
}
