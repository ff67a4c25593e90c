using RegistryPolicy.Diagnostics;

namespace RegistryPolicy.Policies;

/// <summary>Checks a bound policy for what the structure alone cannot show. Reports every problem with its fix.</summary>
internal static class PolicyValidator
{
    public static void Validate(RegistryPolicyDocument doc, Dictionary<string, SourceLocation> locations, string source, List<Diagnostic> diagnostics)
    {
        void Report(DiagnosticSeverity severity, string path, string code, string message)
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

        if (doc.ApiVersion != RegistryPolicyDocument.CurrentApiVersion)
        {
            Report(DiagnosticSeverity.Error, "apiVersion", "unsupported-api-version", $"use 'apiVersion: {RegistryPolicyDocument.CurrentApiVersion}'");
        }

        if (doc.Kind != RegistryPolicyDocument.DocumentKind)
        {
            Report(DiagnosticSeverity.Error, "kind", "wrong-kind", $"use 'kind: {RegistryPolicyDocument.DocumentKind}'");
        }

        if (!Names.IsDnsLabel(doc.Metadata.Name))
        {
            Report(DiagnosticSeverity.Error, "metadata.name", "bad-name",
                $"'{doc.Metadata.Name}' is not a valid name; use lower-case letters, digits and '-', at most 63 characters");
        }

        var ruleNames = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < doc.Spec.Propagation.Length; i++)
        {
            PropagationRule rule = doc.Spec.Propagation[i];
            string path = $"spec.propagation[{i}]";
            if (!ruleNames.Add(rule.Name))
            {
                Report(DiagnosticSeverity.Error, path + ".name", "duplicate-name", $"two propagation rules are named '{rule.Name}'; give each a unique name");
            }

            if (!Names.IsDnsLabel(rule.Base.Namespace))
            {
                Report(DiagnosticSeverity.Error, path + ".base.namespace", "bad-name", $"'{rule.Base.Namespace}' is not a valid namespace name");
            }

            CheckSelector(rule.Base.Selector, path + ".base.selector");
            CheckSelector(rule.Shield, path + ".shield");
            CheckSelector(rule.Targets.NamespaceSelector, path + ".targets.namespaceSelector");
            if (rule.Base.Selector is null && rule.Base.Names.IsEmpty)
            {
                Report(DiagnosticSeverity.Error, path + ".base", "base-unbounded",
                    "the base has neither a selector nor names, so every Secret of the namespace would be copied everywhere; add 'selector' or 'names'");
            }

            if (rule.Targets.ExcludeNamespaces.Contains(rule.Base.Namespace))
            {
                Report(DiagnosticSeverity.Info, path + ".targets.excludeNamespaces", "redundant-exclusion",
                    $"the base namespace '{rule.Base.Namespace}' is always excluded; listing it changes nothing");
            }

            if (rule.Finalizer is { } finalizer && !Names.IsQualifiedName(finalizer))
            {
                Report(DiagnosticSeverity.Error, path + ".finalizer", "bad-name", $"'{finalizer}' is not a valid finalizer name (prefix/name)");
            }

            if (rule.OnBaseUnlabeled == CopyFate.DeleteUnshieldedCopies && rule.Finalizer is null)
            {
                Report(DiagnosticSeverity.Error, path + ".onBaseUnlabeled", "needs-finalizer",
                    "a controller can only tell that a Secret stopped being a base by the finalizer it put on it; set 'finalizer' or use OrphanCopies");
            }

            if (rule.Targets.Namespaces.Contains(rule.Base.Namespace))
            {
                Report(DiagnosticSeverity.Warning, path + ".targets.namespaces", "base-namespace-target",
                    $"the base namespace '{rule.Base.Namespace}' is never a target (nothing is copied into the namespace it comes from); remove it from the list");
            }

            CheckScope(rule.Targets, path + ".targets");
            bool catchAll = false;
            var renamed = new HashSet<string>(StringComparer.Ordinal);
            for (int r = 0; r < rule.Rename.Length; r++)
            {
                RenameRule rename = rule.Rename[r];
                string at = $"{path}.rename[{r}]";
                if (catchAll || (rename.From is { } from && !renamed.Add(from)))
                {
                    Report(DiagnosticSeverity.Warning, at, "rename-unreachable", "an earlier rename rule already applies to every base this one names; remove it or move it up");
                }

                catchAll |= rename.From is null;
                if (rename.From is { } f && !Names.IsDnsSubdomain(f))
                {
                    Report(DiagnosticSeverity.Error, at + ".from", "bad-name", $"'{f}' is not a valid Secret name");
                }

                if (UnknownPlaceholder(rename.To) is { } unknown)
                {
                    Report(DiagnosticSeverity.Error, at + ".to", "unknown-placeholder", $"'{unknown}' is not a placeholder; use {{name}} (the base's name) or {{namespace}} (the target namespace)");
                }
                else if (!Names.IsDnsSubdomain(rename.Apply("base", "target")))
                {
                    Report(DiagnosticSeverity.Error, at + ".to", "bad-name",
                        $"'{rename.To}' does not give a valid Secret name; use lower-case letters, digits, '-' and '.' around the placeholders");
                }
                else if (rename.From is null && !rename.To.Contains("{name}", StringComparison.Ordinal) && (rule.Base.Names.Length != 1))
                {
                    Report(DiagnosticSeverity.Warning, at + ".to", "rename-collides",
                        "every base gets the same copy name, so two bases write the same Secret; add {name}, set 'from', or select a single base by 'names'");
                }
            }

            if (!rule.Copy.Contains(CopiedField.Data))
            {
                Report(DiagnosticSeverity.Warning, path + ".copy", "data-not-copied", "the copies will not carry the base's data; add Data to 'copy' unless that is intended");
            }
        }

        if (doc.Spec.Resolution is { } resolution)
        {
            if (resolution.Candidates.IsEmpty)
            {
                Report(DiagnosticSeverity.Error, "spec.resolution.candidates", "no-candidates", "list at least one candidate Secret");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < resolution.Candidates.Length; i++)
            {
                ResolutionCandidate c = resolution.Candidates[i];
                string path = $"spec.resolution.candidates[{i}]";
                if (c.Name is null && c.Selector is null)
                {
                    Report(DiagnosticSeverity.Error, path, "candidate-unbounded", "a candidate needs a 'name', a 'selector', or both");
                }

                if (c.Name is not null && c.Selector is null && !seen.Add(c.Name))
                {
                    Report(DiagnosticSeverity.Warning, path + ".name", "candidate-unreachable",
                        $"an earlier candidate already takes every Secret named '{c.Name}', so this one is never used; remove it");
                }

                if (c.Name is not null && !Names.IsDnsSubdomain(c.Name))
                {
                    Report(DiagnosticSeverity.Error, path + ".name", "bad-name", $"'{c.Name}' is not a valid Secret name");
                }

                CheckSelector(c.Selector, path + ".selector");
                if (c.Source == ResolutionSource.None)
                {
                    Report(DiagnosticSeverity.Error, path + ".source", "bad-value", "'none' is the result when no candidate applies; a candidate's source must be default, namespace, cluster-wide or user-managed");
                }

                if (c.Addresses.IsEmpty)
                {
                    Report(DiagnosticSeverity.Error, path + ".addresses", "no-address-rule", "list at least one address rule (push and pull keys)");
                }
                else if (c.Addresses[^1].When is not null)
                {
                    Report(DiagnosticSeverity.Warning, path + ".addresses", "address-gap",
                        "the last address rule has a condition, so when no condition holds both addresses are empty; end with a rule without 'when'");
                }
            }
        }

        var linkNames = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < doc.Spec.ServiceAccountLinks.Length; i++)
        {
            ServiceAccountLinkRule link = doc.Spec.ServiceAccountLinks[i];
            string path = $"spec.serviceAccountLinks[{i}]";
            if (!linkNames.Add(link.Name))
            {
                Report(DiagnosticSeverity.Error, path + ".name", "duplicate-name", $"two ServiceAccount links are named '{link.Name}'; give each a unique name");
            }

            if (!Names.IsDnsSubdomain(link.ServiceAccount))
            {
                Report(DiagnosticSeverity.Error, path + ".serviceAccount", "bad-name", $"'{link.ServiceAccount}' is not a valid ServiceAccount name");
            }

            if (link.Secrets.Names.IsEmpty && link.Secrets.Selector is null && link.Secrets.Types.IsEmpty)
            {
                Report(DiagnosticSeverity.Error, path + ".secrets", "link-unbounded",
                    "name the Secrets to link: give 'names', a 'selector', or 'types' (for example kubernetes.io/dockerconfigjson)");
            }

            foreach (string name in link.Secrets.Names.Where(n => !Names.IsDnsSubdomain(n)))
            {
                Report(DiagnosticSeverity.Error, path + ".secrets.names", "bad-name", $"'{name}' is not a valid Secret name");
            }

            foreach (string type in link.Secrets.Types.Where(t => t is not ("kubernetes.io/dockerconfigjson" or "kubernetes.io/dockercfg")))
            {
                Report(DiagnosticSeverity.Warning, path + ".secrets.types", "not-a-pull-secret-type",
                    $"the kubelet ignores Secrets of type '{type}' for pulls; link kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg Secrets");
            }

            CheckSelector(link.Secrets.Selector, path + ".secrets.selector");
            CheckScope(link.Namespaces, path + ".namespaces");
        }

        if (doc.Spec.Pulls is { } pulls)
        {
            if (pulls.DefaultPullPolicy is { } policy && policy is not ("Always" or "IfNotPresent" or "Never"))
            {
                Report(DiagnosticSeverity.Error, "spec.pulls.defaultPullPolicy", "bad-value", $"'{policy}' is not a pull policy; use Always, IfNotPresent or Never");
            }

            CheckScope(pulls.Namespaces, "spec.pulls.namespaces");
        }

        if (doc.Spec.Admission is { } admission)
        {
            CheckSelector(admission.Selector, "spec.admission.selector");
            CheckSelector(admission.NamespaceSelector, "spec.admission.namespaceSelector");
            if (SelectorMatcher.Compile(admission.Selector).IsEmpty)
            {
                Report(DiagnosticSeverity.Warning, "spec.admission.selector", "admission-everything",
                    "an empty selector sends every Secret in the cluster to the webhook; select the registry Secrets by label");
            }

            if (admission.Operations.IsEmpty)
            {
                Report(DiagnosticSeverity.Warning, "spec.admission.operations", "admission-never", "with no operations the webhook never runs");
            }
        }

        void CheckScope(NamespaceScope scope, string path)
        {
            CheckSelector(scope.NamespaceSelector, path + ".namespaceSelector");
            foreach (string ns in scope.Namespaces.Concat(scope.ExcludeNamespaces).Where(n => !Names.IsDnsLabel(n)).Distinct(StringComparer.Ordinal))
            {
                Report(DiagnosticSeverity.Error, path, "bad-name", $"'{ns}' is not a valid namespace name");
            }

            foreach (string ns in scope.Namespaces.Intersect(scope.ExcludeNamespaces, StringComparer.Ordinal))
            {
                Report(DiagnosticSeverity.Warning, path + ".excludeNamespaces", "scope-contradiction", $"'{ns}' is both listed and excluded, so it is out of scope; remove one");
            }
        }

        void CheckSelector(LabelSelector? selector, string path)
        {
            if (selector is null)
            {
                return;
            }

            foreach (var (key, value) in selector.MatchLabels)
            {
                if (!Names.IsQualifiedName(key))
                {
                    Report(DiagnosticSeverity.Error, $"{path}.matchLabels[{key}]", "bad-label-key",
                        $"'{key}' is not a valid label key: an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric");
                }

                if (!Names.IsLabelValue(value))
                {
                    Report(DiagnosticSeverity.Error, $"{path}.matchLabels[{key}]", "bad-label-value",
                        $"'{value}' is not a valid label value: at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric (or empty)");
                }
            }

            for (int i = 0; i < selector.MatchExpressions.Length; i++)
            {
                LabelSelectorRequirement e = selector.MatchExpressions[i];
                string at = $"{path}.matchExpressions[{i}]";
                if (!Names.IsQualifiedName(e.Key))
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

    private static string Parent(string path)
    {
        int cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut <= 0 ? string.Empty : path[..cut];
    }
}

/// <summary>Kubernetes name rules, without regular expressions.</summary>
internal static class Names
{
    public static bool IsDnsLabel(string s) =>
        s.Length is > 0 and <= 63 && IsLowerAlnum(s[0]) && IsLowerAlnum(s[^1]) && s.All(c => IsLowerAlnum(c) || c == '-');

    public static bool IsDnsSubdomain(string s) =>
        s.Length is > 0 and <= 253 && IsLowerAlnum(s[0]) && IsLowerAlnum(s[^1]) && s.All(c => IsLowerAlnum(c) || c is '-' or '.');

    /// <summary>A label key or finalizer: optional DNS-subdomain prefix and '/', then a name part.</summary>
    public static bool IsQualifiedName(string s)
    {
        int slash = s.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            if (!IsDnsSubdomain(s[..slash]))
            {
                return false;
            }

            s = s[(slash + 1)..];
        }

        return s.Length is > 0 and <= 63 && char.IsAsciiLetterOrDigit(s[0]) && char.IsAsciiLetterOrDigit(s[^1]) &&
            s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
    }

    public static bool IsLabelValue(string s) => s.Length == 0 || (s.Length <= 63 && char.IsAsciiLetterOrDigit(s[0]) &&
        char.IsAsciiLetterOrDigit(s[^1]) && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'));

    private static bool IsLowerAlnum(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);
}
