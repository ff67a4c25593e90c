using System.Diagnostics.CodeAnalysis;

namespace RegistryPolicy.Policies;

/// <summary>
/// The wire names of policy enums, as policy documents, JSON output and people write them (<c>user-managed</c>,
/// <c>cluster-wide</c>, ...): the one table. The JSON Schema's names come from the same values (a test compares them).
/// Stateless: safe to call from any thread.
/// </summary>
public static class PolicyNames
{
    private static readonly (ResolutionSource Source, string Name)[] SourceTable =
    [
        (ResolutionSource.None, "none"),
        (ResolutionSource.Default, "default"),
        (ResolutionSource.Namespace, "namespace"),
        (ResolutionSource.ClusterWide, "cluster-wide"),
        (ResolutionSource.UserManaged, "user-managed"),
    ];

    /// <summary>The names, in declaration order, for parsers.</summary>
    internal static IReadOnlyDictionary<string, ResolutionSource> Sources { get; } = SourceTable.ToDictionary(e => e.Name, e => e.Source, StringComparer.Ordinal);

    /// <summary>The wire name of a source: <c>none</c>, <c>default</c>, <c>namespace</c>, <c>cluster-wide</c> or <c>user-managed</c>.</summary>
    /// <param name="source">The source.</param>
    /// <returns>Its name.</returns>
    public static string Of(ResolutionSource source)
    {
        foreach (var (value, name) in SourceTable)
        {
            if (value == source)
            {
                return name;
            }
        }

        return source.ToString();
    }

    /// <summary>The source a wire name stands for.</summary>
    /// <param name="name">The name (case-sensitive).</param>
    /// <param name="source">The source.</param>
    /// <returns>Whether the name is one of the table.</returns>
    public static bool TryParse([NotNullWhen(true)] string? name, out ResolutionSource source) =>
        Sources.TryGetValue(name ?? string.Empty, out source);
}
