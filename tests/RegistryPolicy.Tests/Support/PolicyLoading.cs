using System.Diagnostics.CodeAnalysis;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Tests.Support;

/// <summary>Tests read best as "it loads, with these diagnostics": a thin helper over <see cref="PolicyLoader.Load"/>.</summary>
internal static class PolicyLoading
{
    public static bool TryLoad(string text, string source, [NotNullWhen(true)] out CompiledPolicy? policy, out ValueArray<Diagnostic> diagnostics)
    {
        PolicyLoadResult result = PolicyLoader.Load(text, source);
        policy = result.Policy;
        diagnostics = result.Diagnostics;
        return !result.HasErrors;
    }
}
