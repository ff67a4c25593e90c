using System.Collections.Immutable;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Resolution;

/// <summary>The checks users need before a change lands.</summary>
internal static class Lints
{
    public static ImmutableArray<Diagnostic> Find(CompiledPolicy policy, ClusterSnapshot snapshot, PropagationPlan plan, ImmutableArray<NamespaceResolution> namespaces)
    {
        var found = new List<Diagnostic>(plan.Warnings);
        Diagnostic Make(string code, DiagnosticSeverity severity, string message, ObjectReference? subject) =>
            new(code, severity, message) { Subject = subject, Location = subject is { } s ? snapshot.LocationOf(s) : null };

        var candidateNames = policy.Candidates.Where(c => c.Selector is null).Select(c => c.Candidate.Name!).ToHashSet(StringComparer.Ordinal);
        bool selectorCandidates = policy.Candidates.Any(c => c.Selector is not null);
        foreach (CompiledPropagation rule in policy.Propagation)
        {
            foreach (SecretObject secret in snapshot.SecretsIn(rule.Rule.Base.Namespace))
            {
                if (Planner.IsBase(rule, secret) && Planner.IsShielded(rule, secret))
                {
                    found.Add(Make("base-carries-shield", DiagnosticSeverity.Warning,
                        $"this base carries the shield label ({rule.Shield!.Text}) of rule '{rule.Rule.Name}', and labels are copied: every copy is shielded " +
                        "from the moment it is created, so later changes of the base never reach it. Remove the shield label from the base", secret.Reference));
                }

                // A copy name that depends on the target namespace ('{namespace}-icr-io') is not checked against fixed candidate names.
                string copyName = rule.TargetName(secret.Name, "\0");
                if (Planner.IsBase(rule, secret) && !secret.Metadata.IsDeleting && !copyName.Contains('\0', StringComparison.Ordinal) &&
                    !candidateNames.Contains(copyName) && !selectorCandidates && policy.Document.Spec.Resolution is not null)
                {
                    found.Add(Make("base-never-read", DiagnosticSeverity.Warning,
                        $"this base is copied into every target namespace by rule '{rule.Rule.Name}', but resolution reads only Secrets named " +
                        $"{string.Join(" or ", candidateNames.Order(StringComparer.Ordinal).Select(n => $"'{n}'"))}: the copies are never used. " +
                        "Rename it to one of those names, or remove the base label", secret.Reference));
                }
            }
        }

        foreach (PlanAction action in plan.Actions)
        {
            if (action.Operation == PlanOperation.Update && action.Desired is { } desired && desired.Namespace != FindRule(policy, action.Rule)?.Rule.Base.Namespace &&
                snapshot.GetSecret(action.Secret.Namespace, action.Secret.Name) is { } existing && !existing.Data.Equals(desired.Data))
            {
                found.Add(Make("override-overwritten", DiagnosticSeverity.Warning,
                    $"this namespace Secret differs from the cluster-wide base and is not shielded, so propagation (rule '{action.Rule}') overwrites it " +
                    "within minutes (Kyma re-propagates every 5 minutes and on every change of the base). To keep it, label it as the rule's shield says" +
                    (FindRule(policy, action.Rule)?.Shield is { } shield ? $" ({shield.Text})" : string.Empty),
                    new ObjectReference("Secret", action.Secret.Namespace, action.Secret.Name)));
            }
        }

        if (policy.Document.Spec.Admission is { } admission)
        {
            // Only Secrets carrying a label the selector requires can match: use the snapshot's label index when there is one.
            string? requiredKey = admission.Selector.MatchLabels.Keys.FirstOrDefault() ??
                admission.Selector.MatchExpressions.FirstOrDefault(e => e.Operator is SelectorOperator.In or SelectorOperator.Exists)?.Key;
            IEnumerable<SecretObject> candidates = requiredKey is null ? snapshot.Secrets : snapshot.GetSecretsWithLabel(requiredKey);
            foreach (SecretObject secret in candidates)
            {
                if (!policy.AdmissionSelector!.Matches(secret.Metadata.Labels))
                {
                    continue;
                }

                string? missing = null;
                foreach (string key in admission.RequiredKeys)
                {
                    if (!secret.Data.ContainsKey(key))
                    {
                        missing = key;
                        break;
                    }
                }

                if (missing is not null)
                {
                    found.Add(Make("webhook-refuses", DiagnosticSeverity.Warning,
                        $"the defaulting webhook selects this Secret but it has no '{missing}' key, so its next create or update is refused " +
                        $"(\"{admission.MissingKeyMessage.Replace("{key}", missing, StringComparison.Ordinal)}\"). Add the keys {string.Join(", ", admission.RequiredKeys)}",
                        secret.Reference));
                }
            }
        }

        var functionsByNamespace = snapshot.Functions.GroupBy(f => f.Namespace!).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        foreach (NamespaceResolution resolution in namespaces)
        {
            int functions = functionsByNamespace.GetValueOrDefault(resolution.Namespace);
            if (resolution.Source == ResolutionSource.None && functions > 0)
            {
                found.Add(Make("cannot-build", DiagnosticSeverity.Error,
                    $"{functions} Function(s) in this namespace cannot build: {resolution.Reason}",
                    new ObjectReference("Namespace", null, resolution.Namespace)));
            }
            else if (resolution.Source != ResolutionSource.None && (resolution.PushAddress?.Length == 0 || resolution.PullAddress?.Length == 0))
            {
                found.Add(Make("empty-address", DiagnosticSeverity.Warning,
                    $"the registry Secret {resolution.Secret} gives an empty {(resolution.PushAddress?.Length == 0 ? "push" : "pull")} address, so image names start with '/'; add the address key",
                    new ObjectReference("Namespace", null, resolution.Namespace)));
            }
        }

        return [.. found];
    }

    private static CompiledPropagation? FindRule(CompiledPolicy policy, string name) => policy.Propagation.FirstOrDefault(p => p.Rule.Name == name);
}
