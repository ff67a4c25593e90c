using RegistryPolicy.Diagnostics;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Policies;

/// <summary><c>spec.admission</c>: selectors that select something, and operations.</summary>
internal static class AdmissionValidator
{
    public static void Validate(AdmissionRule admission, ValidationContext context)
    {
        context.CheckSelector(admission.Selector, "spec.admission.selector");
        context.CheckSelector(admission.NamespaceSelector, "spec.admission.namespaceSelector");
        if (SelectorMatcher.Compile(admission.Selector).IsEmpty)
        {
            context.Report(DiagnosticSeverity.Warning, "spec.admission.selector", "admission-everything",
                "an empty selector sends every Secret in the cluster to the webhook; select the registry Secrets by label");
        }

        if (admission.Operations.IsEmpty)
        {
            context.Report(DiagnosticSeverity.Warning, "spec.admission.operations", "admission-never", "with no operations the webhook never runs");
        }
    }
}
