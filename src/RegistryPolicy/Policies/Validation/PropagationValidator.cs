using RegistryPolicy.Diagnostics;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Policies;

/// <summary><c>spec.propagation</c>: unique names, bounded bases, valid names, finalizers, renames and scopes.</summary>
internal static class PropagationValidator
{
    public static void Validate(ValueArray<PropagationRule> rules, ValidationContext context)
    {
        var ruleNames = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < rules.Length; i++)
        {
            PropagationRule rule = rules[i];
            string path = $"spec.propagation[{i}]";
            if (!ruleNames.Add(rule.Name))
            {
                context.Report(DiagnosticSeverity.Error, path + ".name", "duplicate-name", $"two propagation rules are named '{rule.Name}'; give each a unique name");
            }

            if (!KubernetesNames.IsDns1123Label(rule.Base.Namespace))
            {
                context.Report(DiagnosticSeverity.Error, path + ".base.namespace", "bad-name", $"'{rule.Base.Namespace}' is not a valid namespace name");
            }

            context.CheckSelector(rule.Base.Selector, path + ".base.selector");
            context.CheckSelector(rule.Shield, path + ".shield");
            context.CheckSelector(rule.Targets.NamespaceSelector, path + ".targets.namespaceSelector");
            if (rule.Base.Selector is null && rule.Base.Names.IsEmpty)
            {
                context.Report(DiagnosticSeverity.Error, path + ".base", "base-unbounded",
                    "the base has neither a selector nor names, so every Secret of the namespace would be copied everywhere; add 'selector' or 'names'");
            }

            if (rule.Targets.ExcludeNamespaces.Contains(rule.Base.Namespace))
            {
                context.Report(DiagnosticSeverity.Info, path + ".targets.excludeNamespaces", "redundant-exclusion",
                    $"the base namespace '{rule.Base.Namespace}' is always excluded; listing it changes nothing");
            }

            if (rule.Finalizer is { } finalizer && !KubernetesNames.IsQualifiedName(finalizer))
            {
                context.Report(DiagnosticSeverity.Error, path + ".finalizer", "bad-name", $"'{finalizer}' is not a valid finalizer name (prefix/name)");
            }

            if (rule.OnBaseUnlabeled == CopyFate.DeleteUnshieldedCopies && rule.Finalizer is null)
            {
                context.Report(DiagnosticSeverity.Error, path + ".onBaseUnlabeled", "needs-finalizer",
                    "a controller can only tell that a Secret stopped being a base by the finalizer it put on it; set 'finalizer' or use OrphanCopies");
            }

            if (rule.Targets.Namespaces.Contains(rule.Base.Namespace))
            {
                context.Report(DiagnosticSeverity.Warning, path + ".targets.namespaces", "base-namespace-target",
                    $"the base namespace '{rule.Base.Namespace}' is never a target (nothing is copied into the namespace it comes from); remove it from the list");
            }

            context.CheckScope(rule.Targets, path + ".targets");
            bool catchAll = false;
            var renamed = new HashSet<string>(StringComparer.Ordinal);
            for (int r = 0; r < rule.Rename.Length; r++)
            {
                RenameRule rename = rule.Rename[r];
                string at = $"{path}.rename[{r}]";
                if (catchAll || (rename.From is { } from && !renamed.Add(from)))
                {
                    context.Report(DiagnosticSeverity.Warning, at, "rename-unreachable", "an earlier rename rule already applies to every base this one names; remove it or move it up");
                }

                catchAll |= rename.From is null;
                if (rename.From is { } f && !KubernetesNames.IsDns1123Subdomain(f))
                {
                    context.Report(DiagnosticSeverity.Error, at + ".from", "bad-name", $"'{f}' is not a valid Secret name");
                }

                if (UnknownPlaceholder(rename.To) is { } unknown)
                {
                    context.Report(DiagnosticSeverity.Error, at + ".to", "unknown-placeholder", $"'{unknown}' is not a placeholder; use {{name}} (the base's name) or {{namespace}} (the target namespace)");
                }
                else if (!KubernetesNames.IsDns1123Subdomain(rename.Apply("base", "target")))
                {
                    context.Report(DiagnosticSeverity.Error, at + ".to", "bad-name",
                        $"'{rename.To}' does not give a valid Secret name; use lower-case letters, digits, '-' and '.' around the placeholders");
                }
                else if (rename.From is null && !rename.To.Contains("{name}", StringComparison.Ordinal) && (rule.Base.Names.Length != 1))
                {
                    context.Report(DiagnosticSeverity.Warning, at + ".to", "rename-collides",
                        "every base gets the same copy name, so two bases write the same Secret; add {name}, set 'from', or select a single base by 'names'");
                }
            }

            if (!rule.Copy.Contains(CopiedField.Data))
            {
                context.Report(DiagnosticSeverity.Warning, path + ".copy", "data-not-copied", "the copies will not carry the base's data; add Data to 'copy' unless that is intended");
            }
        }
    }

    private static string? UnknownPlaceholder(string template)
    {
        for (int open = template.IndexOf('{', StringComparison.Ordinal); open >= 0; open = template.IndexOf('{', open + 1))
        {
            int close = template.IndexOf('}', open);
            string token = close < 0 ? template[open..] : template[open..(close + 1)];
            if (token is not ("{name}" or "{namespace}"))
            {
                return token;
            }
        }

        return null;
    }
}
