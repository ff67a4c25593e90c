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
    public static ClusterSnapshot Load(IEnumerable<string> paths, CliStreams streams, SecretFilter? keep = null, string option = "-f")
    {
        var sources = new List<SnapshotSource>();
        foreach (SnapshotSource source in Read(paths, streams, keep, option))
        {
            sources.Add(source);
        }

        return ClusterSnapshot.Create(sources);
    }

    /// <summary>
    /// Reads every file, each as one source. A snapshot with no objects at all (what a failed <c>kubectl get &gt; file</c>
    /// leaves) is an input error, not an empty answer.
    /// </summary>
    public static List<SnapshotSource> Read(IEnumerable<string> paths, CliStreams streams, SecretFilter? keep = null, string option = "-f")
    {
        var sources = new List<SnapshotSource>();
        var names = new List<string>();
        foreach (string path in paths)
        {
            CliFiles.CheckName(path, option);
            names.Add(path == "-" ? "<stdin>" : path);
            if (path == "-")
            {
                sources.Add(SnapshotReader.Read(streams.InStream(), "<stdin>", new SnapshotReadOptions { Keep = keep }));
                continue;
            }

            if (Directory.Exists(path))
            {
                // Symbolic links to directories are not followed: a link back to a parent would never end.
                var enumeration = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = false };
                foreach (string file in Directory.EnumerateFiles(path, "*", enumeration)
                             .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))
                             .Order(StringComparer.Ordinal))
                {
                    sources.Add(ReadFile(file, keep, option));
                }

                continue;
            }

            sources.Add(ReadFile(path, keep, option));
        }

        bool anything = sources.Any(s => s.Objects.Length > 0 || s.OtherNamespaces.Length > 0 ||
            s.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error || d.Code is "kinds-ignored" or "secrets-filtered"));
        if (!anything)
        {
            throw new InputException($"no objects in {string.Join(", ", names)}: is it the output of 'kubectl get ... -o yaml|json'? (A failed 'kubectl get > file' leaves an empty file.)");
        }

        return sources;
    }

    private static SnapshotSource ReadFile(string path, SecretFilter? keep, string option)
    {
        using FileStream stream = CliFiles.Open(path, option);
        try
        {
            return SnapshotReader.Read(stream, path, new SnapshotReadOptions { Keep = keep });
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

        string text = CliFiles.ReadText(file, optionName, streams);

        PolicyLoadResult loaded = PolicyLoader.Load(text, file);
        var diagnostics = loaded.Diagnostics;
        if (loaded.Policy is not { } policy)
        {
            DiagnosticOutput.WriteText(streams.Error, diagnostics);
            throw new InputException($"{file}: the policy has errors (listed above); nothing was evaluated");
        }

        DiagnosticOutput.WriteText(streams.Error, diagnostics);
        return policy;
    }

    public static bool HasErrors(IEnumerable<Diagnostic> diagnostics) => diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
}
