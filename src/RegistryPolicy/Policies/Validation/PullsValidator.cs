using RegistryPolicy.Diagnostics;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Policies;

/// <summary><c>spec.pulls</c>: the default pull policy and its namespaces.</summary>
internal static class PullsValidator
{
    public static void Validate(PullRule pulls, ValidationContext context)
    {
        if (pulls.DefaultPullPolicy is { } policy && policy is not ("Always" or "IfNotPresent" or "Never"))
        {
            context.Report(DiagnosticSeverity.Error, "spec.pulls.defaultPullPolicy", "bad-value", $"'{policy}' is not a pull policy; use Always, IfNotPresent or Never");
        }

        context.CheckScope(pulls.Namespaces, "spec.pulls.namespaces");
    }
}
