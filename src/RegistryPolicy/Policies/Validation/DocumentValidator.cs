using RegistryPolicy.Diagnostics;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Policies;

/// <summary>The document's own fields: <c>apiVersion</c>, <c>kind</c>, <c>metadata.name</c>.</summary>
internal static class DocumentValidator
{
    public static void Validate(RegistryPolicyDocument doc, ValidationContext context)
    {

        if (doc.ApiVersion != RegistryPolicyDocument.CurrentApiVersion)
        {
            context.Report(DiagnosticSeverity.Error, "apiVersion", "unsupported-api-version", $"use 'apiVersion: {RegistryPolicyDocument.CurrentApiVersion}'");
        }

        if (doc.Kind != RegistryPolicyDocument.DocumentKind)
        {
            context.Report(DiagnosticSeverity.Error, "kind", "wrong-kind", $"use 'kind: {RegistryPolicyDocument.DocumentKind}'");
        }

        if (!KubernetesNames.IsDns1123Label(doc.Metadata.Name))
        {
            context.Report(DiagnosticSeverity.Error, "metadata.name", "bad-name",
                $"'{doc.Metadata.Name}' is not a valid name; use lower-case letters, digits and '-', at most 63 characters");
        }
    }
}
