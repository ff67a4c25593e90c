using System.Collections.Immutable;
using System.Text;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Resolution;

/// <summary>
/// Evaluates a <see cref="CompiledPolicy"/> on a <see cref="ClusterSnapshot"/>: per-namespace resolution with a decision
/// trace, the propagation plan, admission, and lints. Pure: the same inputs give the same outputs, whatever order the
/// snapshot's objects were read in; nothing is read or written outside the arguments.
/// </summary>
public static class PolicyEngine
{
    /// <summary>Evaluates a policy on a snapshot in the given view, for every namespace of the snapshot.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="view">The view (converged by default).</param>
    /// <returns>The evaluation.</returns>
    public static Evaluation Evaluate(CompiledPolicy policy, ClusterSnapshot snapshot, EvaluationView view = EvaluationView.Converged) =>
        Evaluate(policy, snapshot, EvaluationOptions.Default with { View = view });

    /// <summary>Evaluates a policy on a snapshot.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="options">The view and the namespaces to report.</param>
    /// <returns>The evaluation.</returns>
    public static Evaluation Evaluate(CompiledPolicy policy, ClusterSnapshot snapshot, EvaluationOptions options) =>
        Evaluate(policy, snapshot, options, caches: null, lints: true);

    /// <summary>Evaluates, optionally sharing caches with another evaluation under the same policy and without lints (what-if).</summary>
    internal static Evaluation Evaluate(CompiledPolicy policy, ClusterSnapshot snapshot, EvaluationOptions options, ResolverCaches? caches, bool lints)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(options);
        PropagationPlan plan = Planner.Plan(policy, snapshot, options.Namespaces);
        var view = new SecretView(snapshot, options.View == EvaluationView.Converged ? plan : null);
        var resolver = new Resolver(policy, view, options.View, plan.Actions.ToLookup(a => a.Secret.Namespace, StringComparer.Ordinal),
            plan.ServiceAccountPatches.IsEmpty ? null : plan.ServiceAccountPatches.ToLookup(p => p.ServiceAccount.Namespace, StringComparer.Ordinal), caches);

        IEnumerable<NamespaceObject> scope = options.Namespaces.IsEmpty
            ? snapshot.Namespaces
            : (IsSortedAndDistinct(options.Namespaces) ? (IEnumerable<string>)options.Namespaces : options.Namespaces.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
                .Select(n => snapshot.GetNamespace(n) ?? NamespaceObject.Named(n));
        var results = ImmutableArray.CreateBuilder<NamespaceResolution>(options.Namespaces.IsEmpty ? snapshot.Namespaces.Length : options.Namespaces.Length);
        foreach (NamespaceObject ns in scope)
        {
            results.Add(resolver.Resolve(ns));
        }

        ImmutableArray<NamespaceResolution> namespaces = results.Count == results.Capacity ? results.MoveToImmutable() : results.ToImmutable();
        return new Evaluation
        {
            Policy = policy.Name,
            View = options.View,
            Namespaces = namespaces,
            Plan = plan,
            Diagnostics = lints ? Lints.Find(policy, snapshot, plan, namespaces) : [],
        };
    }

    private static bool IsSortedAndDistinct(ImmutableArray<string> names)
    {
        for (int i = 1; i < names.Length; i++)
        {
            if (string.CompareOrdinal(names[i - 1], names[i]) >= 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The actions that bring the snapshot to the converged state, with hazards as warnings.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="snapshot">The snapshot.</param>
    /// <returns>The plan; empty when the snapshot is converged.</returns>
    public static PropagationPlan Plan(CompiledPolicy policy, ClusterSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(snapshot);
        return Planner.Plan(policy, snapshot, []);
    }

    /// <summary>What the policy's defaulting webhook answers for a Secret create or update.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="request">The request.</param>
    /// <returns>Allowed with a patch and the mutated object, or refused with the reason.</returns>
    public static AdmissionResult Admit(CompiledPolicy policy, AdmissionRequest request)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(request);
        return Admission.Admit(policy, request);
    }

    /// <summary>Formats a namespace's decision for people: the result, then every step of the trace.</summary>
    /// <param name="resolution">The resolution.</param>
    /// <returns>Several lines of text, without credentials.</returns>
    public static string Explain(NamespaceResolution resolution)
    {
        ArgumentNullException.ThrowIfNull(resolution);
        var text = new StringBuilder();
        text.Append("namespace ").Append(resolution.Namespace).Append(": ").Append(SourceName(resolution.Source));
        if (resolution.Secret is { } secret)
        {
            text.Append(" (Secret ").Append(secret.ToString()).Append(')');
        }

        text.AppendLine();
        if (resolution.Source != ResolutionSource.None)
        {
            text.Append("  push address:     ").AppendLine(Show(resolution.PushAddress));
            text.Append("  pull address:     ").AppendLine(Show(resolution.PullAddress));
            text.Append("  registryAddress:  ").AppendLine(Show(resolution.RegistryAddress));
            text.Append("  serverAddress:    ").AppendLine(Show(resolution.ServerAddress));
            text.Append("  username:         ").AppendLine(Show(resolution.Username));
            text.Append("  credential:       ").AppendLine(resolution.CredentialFingerprint ?? "(none)");
        }

        text.Append("  reason: ").AppendLine(resolution.Reason);
        text.AppendLine("  trace:");
        int step = 1;
        foreach (TraceStep t in resolution.Trace)
        {
            text.Append("    ").Append(step++).Append(". ").AppendLine(t.ToString());
        }

        return text.ToString();

        static string Show(string? value) => value is null ? "(not set)" : value.Length == 0 ? "\"\" (empty)" : value;
    }

    /// <summary>The name of a source as it appears in output: <c>user-managed</c>, <c>cluster-wide</c>, <c>namespace</c>, <c>default</c>, <c>none</c>.</summary>
    /// <param name="source">The source.</param>
    /// <returns>Its name.</returns>
    public static string SourceName(ResolutionSource source) => source switch
    {
        ResolutionSource.UserManaged => "user-managed",
        ResolutionSource.ClusterWide => "cluster-wide",
        ResolutionSource.Namespace => "namespace",
        ResolutionSource.Default => "default",
        _ => "none",
    };
}

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
            foreach (SecretObject secret in snapshot.GetSecretsIn(rule.Rule.Base.Namespace))
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

                string? missing = admission.RequiredKeys.FirstOrDefault(k => !secret.Data.ContainsKey(k));
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
