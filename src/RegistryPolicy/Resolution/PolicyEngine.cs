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
/// Stateless: safe to call from any thread.
/// </summary>
public static class PolicyEngine
{
    /// <summary>Evaluates a policy on a snapshot in the converged view, for every namespace of the snapshot.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="snapshot">The snapshot.</param>
    /// <returns>The evaluation.</returns>
    public static Evaluation Evaluate(CompiledPolicy policy, ClusterSnapshot snapshot) => Evaluate(policy, snapshot, EvaluationOptions.Default);

    /// <summary>Evaluates a policy on a snapshot in the given view, for every namespace of the snapshot.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="view">The view.</param>
    /// <returns>The evaluation.</returns>
    public static Evaluation Evaluate(CompiledPolicy policy, ClusterSnapshot snapshot, EvaluationView view) =>
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
        return new Evaluation(new EvaluationInputs(policy, snapshot, options.View, plan, view))
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

    /// <summary>
    /// The plan for some namespaces only: exactly the actions and ServiceAccount patches of the full
    /// <see cref="Plan(CompiledPolicy, ClusterSnapshot)"/> whose object is in one of them (a base's own finalizer action
    /// belongs to the base's namespace), computed without visiting the other namespaces. With
    /// <see cref="AffectedNamespaces"/>, what a controller re-plans after one watch event.
    /// </summary>
    /// <param name="policy">The policy.</param>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="namespaces">The namespaces to plan; names the snapshot does not have plan nothing.</param>
    /// <returns>The plan for those namespaces; its warnings are those found on the way.</returns>
    public static PropagationPlan Plan(CompiledPolicy policy, ClusterSnapshot snapshot, IEnumerable<string> namespaces)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(namespaces);
        return Planner.Plan(policy, snapshot, [], new HashSet<string>(namespaces, StringComparer.Ordinal));
    }

    /// <summary>
    /// The namespaces whose plan a change to one object (added, changed or removed) can change: its own namespace, or,
    /// for anything in a base namespace of the policy's propagation rules (a base changes every copy), every namespace.
    /// </summary>
    /// <param name="policy">The policy.</param>
    /// <param name="changed">The object that changed (a Namespace's own reference names it).</param>
    /// <returns>The namespaces, or <see langword="null"/> for all of them.</returns>
    public static IReadOnlySet<string>? AffectedNamespaces(CompiledPolicy policy, ObjectReference changed)
    {
        ArgumentNullException.ThrowIfNull(policy);
        string? ns = changed.Kind == "Namespace" ? changed.Name : changed.Namespace;
        if (ns is null || policy.Document.Spec.Propagation.Any(r => r.Base.Namespace == ns))
        {
            return null;
        }

        return new HashSet<string>([ns], StringComparer.Ordinal);
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
}
