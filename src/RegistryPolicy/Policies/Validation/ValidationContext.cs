using RegistryPolicy.Diagnostics;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Policies;

/// <summary>
/// What the section validators share (as YARP's per-kind validators share one context): where each field of the document
/// is, the list that collects every problem, and the checks of the structures several sections use (selectors, scopes).
/// </summary>
internal sealed class ValidationContext(Dictionary<string, SourceLocation> locations, List<Diagnostic> diagnostics)
{
    /// <summary>Reports a problem at <paramref name="path"/>, located at the nearest field the document wrote.</summary>
    public void Report(DiagnosticSeverity severity, string path, string code, string message)
    {
        SourceLocation? at = null;
        for (string p = path; ; p = Parent(p))
        {
            if (locations.TryGetValue(p, out var l))
            {
                at = l;
                break;
            }

            if (p.Length == 0)
            {
                break;
            }
        }

        diagnostics.Add(new Diagnostic(code, severity, message) { Field = path, Location = at });
    }

    public void CheckScope(NamespaceScope scope, string path)
    {
        CheckSelector(scope.NamespaceSelector, path + ".namespaceSelector");
        foreach (string ns in scope.Namespaces.Concat(scope.ExcludeNamespaces).Where(n => !KubernetesNames.IsDns1123Label(n)).Distinct(StringComparer.Ordinal))
        {
            Report(DiagnosticSeverity.Error, path, "bad-name", $"'{ns}' is not a valid namespace name");
        }

        foreach (string ns in scope.Namespaces.Intersect(scope.ExcludeNamespaces, StringComparer.Ordinal))
        {
            Report(DiagnosticSeverity.Warning, path + ".excludeNamespaces", "scope-contradiction", $"'{ns}' is both listed and excluded, so it is out of scope; remove one");
        }
    }

    public void CheckSelector(LabelSelector? selector, string path)
    {
        if (selector is null)
        {
            return;
        }

        foreach (var (key, value) in selector.MatchLabels)
        {
            if (!KubernetesNames.IsQualifiedName(key))
            {
                Report(DiagnosticSeverity.Error, $"{path}.matchLabels[{key}]", "bad-label-key",
                    $"'{key}' is not a valid label key: an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric");
            }

            if (!KubernetesNames.IsLabelValue(value))
            {
                Report(DiagnosticSeverity.Error, $"{path}.matchLabels[{key}]", "bad-label-value",
                    $"'{value}' is not a valid label value: at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric (or empty)");
            }
        }

        for (int i = 0; i < selector.MatchExpressions.Length; i++)
        {
            LabelSelectorRequirement e = selector.MatchExpressions[i];
            string at = $"{path}.matchExpressions[{i}]";
            if (!KubernetesNames.IsQualifiedName(e.Key))
            {
                Report(DiagnosticSeverity.Error, at + ".key", "bad-label-key", $"'{e.Key}' is not a valid label key");
            }

            if (e.Operator is SelectorOperator.In or SelectorOperator.NotIn && e.Values.IsEmpty)
            {
                Report(DiagnosticSeverity.Error, at + ".values", "selector-values-required", $"'{e.Operator}' needs at least one value (Kubernetes refuses it without)");
            }

            if (e.Operator is SelectorOperator.Exists or SelectorOperator.DoesNotExist && !e.Values.IsEmpty)
            {
                Report(DiagnosticSeverity.Error, at + ".values", "selector-values-forbidden", $"'{e.Operator}' takes no values; remove 'values'");
            }
        }

        if (SelectorMatcher.WhyNeverMatches(selector) is { } why)
        {
            Report(DiagnosticSeverity.Error, path, "selector-never-matches", $"this selector can never match: {why}. Fix the conflicting requirements");
        }
    }

    private static string Parent(string path)
    {
        int cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut <= 0 ? string.Empty : path[..cut];
    }
}
