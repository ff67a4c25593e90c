using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace RegistryPolicy.Policies;

/// <summary>
/// The built-in policies, each an ordinary policy document embedded in the library (print one with
/// <c>registry-policy policy show NAME</c> and copy it to change it).
/// Stateless: safe to call from any thread.
/// </summary>
public static class PolicyPresets
{
    /// <summary>The default policy: Kyma 2.x Serverless.</summary>
    public const string DefaultName = "kyma-serverless";

    private static readonly ImmutableSortedDictionary<string, Lazy<(string Text, CompiledPolicy Policy)>> Presets = Load();

    /// <summary>The presets' names, sorted.</summary>
    public static ImmutableArray<string> Names { get; } = [.. Presets.Keys];

    /// <summary>The default policy, compiled.</summary>
    public static CompiledPolicy Default => Presets[DefaultName].Value.Policy;

    /// <summary>Gets a preset by name.</summary>
    /// <param name="name">The preset's name.</param>
    /// <param name="policy">The compiled preset.</param>
    /// <returns>Whether there is a preset with this name.</returns>
    public static bool TryGet(string name, [NotNullWhen(true)] out CompiledPolicy? policy)
    {
        policy = Presets.TryGetValue(name, out var preset) ? preset.Value.Policy : null;
        return policy is not null;
    }

    /// <summary>Gets a preset's document text.</summary>
    /// <param name="name">The preset's name.</param>
    /// <param name="text">The YAML document.</param>
    /// <returns>Whether there is a preset with this name.</returns>
    public static bool TryGetText(string name, [NotNullWhen(true)] out string? text)
    {
        text = Presets.TryGetValue(name, out var preset) ? preset.Value.Text : null;
        return text is not null;
    }

    private static ImmutableSortedDictionary<string, Lazy<(string, CompiledPolicy)>> Load()
    {
        Assembly assembly = typeof(PolicyPresets).Assembly;
        const string prefix = "RegistryPolicy.Presets.";
        var builder = ImmutableSortedDictionary.CreateBuilder<string, Lazy<(string, CompiledPolicy)>>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(prefix, StringComparison.Ordinal) && r.EndsWith(".yaml", StringComparison.Ordinal)))
        {
            string name = resource[prefix.Length..^".yaml".Length];
            builder[name] = new Lazy<(string, CompiledPolicy)>(() =>
            {
                // The YAML is what users read and copy; the same document as JSON (kept equal by a test) compiles faster at start-up.
                string yaml = ReadResource(assembly, resource);
                string json = ReadResource(assembly, prefix + name + ".json");
                CompiledPolicy compiled = PolicyLoader.Parse(json, $"preset:{name}");
                return (yaml, new CompiledPolicy(compiled.Document, yaml));
            });
        }

        return builder.ToImmutable();
    }

    private static string ReadResource(Assembly assembly, string name)
    {
        using Stream stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"The preset resource {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
