using System.Collections.Immutable;

namespace RegistryPolicy.Fuzz;

/// <summary>
/// The names of the targets of <see cref="Targets"/>, apart from it: the fork server reads them before AFL's coverage map
/// is attached, when touching <see cref="Targets"/> (whose statics call into instrumented code) would crash it.
/// </summary>
internal static class TargetNames
{
    /// <summary>The names, in the order <c>fuzz/run.sh</c> runs them; each has a folder under <c>fuzz/corpus</c>.</summary>
    public static ImmutableArray<string> All { get; } =
        ["snapshot-json", "snapshot-json-limits", "snapshot-yaml", "policy", "swap-map", "mirror-registries", "dockerconfigjson", "changes", "registry-info", "image-reference", "admission-review", "test-suite", "watch-event", "kubeconfig"];
}
