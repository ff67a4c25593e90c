using RegistryPolicy.Diagnostics;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Policies;

/// <summary>
/// Checks a bound policy for what the structure alone cannot show, one validator per section, in document order. Reports
/// every problem with its fix.
/// </summary>
internal static class PolicyValidator
{
    public static void Validate(RegistryPolicyDocument doc, Dictionary<string, SourceLocation> locations, List<Diagnostic> diagnostics)
    {
        var context = new ValidationContext(locations, diagnostics);
        DocumentValidator.Validate(doc, context);
        PropagationValidator.Validate(doc.Spec.Propagation, context);
        if (doc.Spec.Resolution is { } resolution)
        {
            ResolutionValidator.Validate(resolution, context);
        }

        ServiceAccountLinkValidator.Validate(doc.Spec.ServiceAccountLinks, context);
        if (doc.Spec.Pulls is { } pulls)
        {
            PullsValidator.Validate(pulls, context);
        }

        if (doc.Spec.Admission is { } admission)
        {
            AdmissionValidator.Validate(admission, context);
        }
    }
}
