using RegistryPolicy.Diagnostics;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Policies;

/// <summary><c>spec.resolution</c>: candidates that can be reached and read, with address rules that cover every case.</summary>
internal static class ResolutionValidator
{
    public static void Validate(ResolutionRule resolution, ValidationContext context)
    {
        if (resolution.Candidates.IsEmpty)
        {
            context.Report(DiagnosticSeverity.Error, "spec.resolution.candidates", "no-candidates", "list at least one candidate Secret");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < resolution.Candidates.Length; i++)
        {
            ResolutionCandidate c = resolution.Candidates[i];
            string path = $"spec.resolution.candidates[{i}]";
            if (c.Name is null && c.Selector is null)
            {
                context.Report(DiagnosticSeverity.Error, path, "candidate-unbounded", "a candidate needs a 'name', a 'selector', or both");
            }

            if (c.Name is not null && c.Selector is null && !seen.Add(c.Name))
            {
                context.Report(DiagnosticSeverity.Warning, path + ".name", "candidate-unreachable",
                    $"an earlier candidate already takes every Secret named '{c.Name}', so this one is never used; remove it");
            }

            if (c.Name is not null && !KubernetesNames.IsDns1123Subdomain(c.Name))
            {
                context.Report(DiagnosticSeverity.Error, path + ".name", "bad-name", $"'{c.Name}' is not a valid Secret name");
            }

            context.CheckSelector(c.Selector, path + ".selector");
            if (c.Source == ResolutionSource.None)
            {
                context.Report(DiagnosticSeverity.Error, path + ".source", "bad-value", "'none' is the result when no candidate applies; a candidate's source must be default, namespace, cluster-wide or user-managed");
            }

            if (c.Addresses.IsEmpty)
            {
                context.Report(DiagnosticSeverity.Error, path + ".addresses", "no-address-rule", "list at least one address rule (push and pull keys)");
            }
            else if (c.Addresses[^1].When is not null)
            {
                context.Report(DiagnosticSeverity.Warning, path + ".addresses", "address-gap",
                    "the last address rule has a condition, so when no condition holds both addresses are empty; end with a rule without 'when'");
            }
        }
    }
}
