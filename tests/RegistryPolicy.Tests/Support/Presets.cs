using RegistryPolicy.Policies;

namespace RegistryPolicy.Tests.Support;

/// <summary>Theory data: every built-in preset, so that a new preset is covered by every preset test.</summary>
public static class Presets
{
    public static TheoryData<string> Names => [.. PolicyPresets.Names];
}
