using System.Collections.Immutable;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Resolution;

/// <summary>Which state of the cluster an evaluation describes.</summary>
public enum EvaluationView
{
    /// <summary>
    /// The state once the controller has propagated everything (the plan applied). This is where the documented precedence
    /// (user-managed, then cluster-wide, then namespace, then default) shows.
    /// </summary>
    Converged,

    /// <summary>What the controller would read from the snapshot right now, before propagation catches up.</summary>
    AsIs,
}

/// <summary>A Secret's namespace and name. Immutable and thread-safe.</summary>
/// <param name="Namespace">The namespace.</param>
/// <param name="Name">The name.</param>
public readonly record struct SecretReference(string Namespace, string Name)
{
    /// <summary>Formats as <c>namespace/name</c>.</summary>
    /// <returns>The reference as text.</returns>
    public override string ToString() => $"{Namespace}/{Name}";
}

/// <summary>How a step of a decision trace ended.</summary>
public enum TraceOutcome
{
    /// <summary>The step decided the result.</summary>
    Applied,

    /// <summary>The step was considered and did not apply.</summary>
    Skipped,

    /// <summary>Context: what propagation does to this namespace, which rule read which key.</summary>
    Note,
}

/// <summary>One step of a decision trace. Immutable and thread-safe.</summary>
/// <param name="Step">What was considered (for example <c>candidate 1: Secret 'serverless-registry-config'</c>).</param>
/// <param name="Outcome">Whether it applied.</param>
/// <param name="Detail">Why, for people. Never contains credentials.</param>
public sealed record TraceStep(string Step, TraceOutcome Outcome, string Detail)
{
    /// <summary>Formats as one line.</summary>
    /// <returns>The step as text.</returns>
    public override string ToString() => $"[{Outcome.ToString().ToLowerInvariant()}] {Step}: {Detail}";
}

/// <summary>
/// The registry a namespace uses under a policy: where it comes from, the Secret, the addresses, the username, a fingerprint
/// of the credential (never the password) and why. Plain data with value equality: it holds nothing of the evaluation that
/// made it, so it is safe to keep, share across threads and change with <c>with</c>. The decision trace is
/// <see cref="Evaluation.Explain(string)"/>.
/// </summary>
public sealed record NamespaceResolution
{
    /// <summary>The namespace.</summary>
    public required string Namespace { get; init; }

    /// <summary>Where the configuration comes from; <see cref="ResolutionSource.None"/> when nothing applies.</summary>
    public required ResolutionSource Source { get; init; }

    /// <summary>The Secret used, or <see langword="null"/> when none.</summary>
    public SecretReference? Secret { get; init; }

    /// <summary>Where images are pushed (Kyma: the Kaniko destination's registry part).</summary>
    public string? PushAddress { get; init; }

    /// <summary>Where images are pulled from (Kyma: the Deployment image's registry part).</summary>
    public string? PullAddress { get; init; }

    /// <summary>The <c>registryAddress</c> value, if the Secret has one.</summary>
    public string? RegistryAddress { get; init; }

    /// <summary>The <c>serverAddress</c> value (the <c>.dockerconfigjson</c> key), if the Secret has one.</summary>
    public string? ServerAddress { get; init; }

    /// <summary>The username, if the Secret has one.</summary>
    public string? Username { get; init; }

    /// <summary>The password's fingerprint (<c>sha256:</c> and 12 hex characters), if the Secret has a credential.</summary>
    public string? CredentialFingerprint { get; init; }

    /// <summary>
    /// Why, in one clause: what makes <see cref="Secret"/> count as <see cref="Source"/> (for example "it is a copy of the base
    /// kyma-system/... (rule 'registry-config'), so it counts as cluster-wide"), or for <see cref="ResolutionSource.None"/> the
    /// controller's error. <see cref="ToString"/> and the explanation put the Secret in front of it.
    /// </summary>
    public string? Reason { get; init; }

    /// <summary>Formats as one line without credentials.</summary>
    /// <returns>The resolution as text.</returns>
    public override string ToString() =>
        $"{Namespace}: {Source}{(Secret is { } s ? $" {s}" : "")} push={PushAddress ?? "-"} pull={PullAddress ?? "-"}";

    /// <summary>Whether two resolutions give the same outcome (everything but the reason).</summary>
    /// <param name="other">The other resolution.</param>
    /// <returns>Whether the outcomes are equal.</returns>
    public bool SameOutcome(NamespaceResolution other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Namespace == other.Namespace && Source == other.Source && Secret == other.Secret && PushAddress == other.PushAddress &&
            PullAddress == other.PullAddress && RegistryAddress == other.RegistryAddress && ServerAddress == other.ServerAddress &&
            Username == other.Username && CredentialFingerprint == other.CredentialFingerprint;
    }
}

/// <summary>
/// A namespace's decision for people: the resolution and every step that led to it, in order. Plain data with value
/// equality; <see cref="ToString"/> is the text <c>registry-policy explain</c> prints. Never holds credentials.
/// Immutable and thread-safe.
/// </summary>
/// <param name="Resolution">The resolution (equal to the one in <see cref="Evaluation.Namespaces"/>).</param>
/// <param name="Trace">Every step considered, in order.</param>
public sealed record NamespaceExplanation(NamespaceResolution Resolution, ValueArray<TraceStep> Trace)
{
    /// <summary>The result, then every step of the trace, as several lines.</summary>
    /// <returns>The explanation as text.</returns>
    public override string ToString()
    {
        NamespaceResolution resolution = Resolution;
        var text = new System.Text.StringBuilder();
        text.Append("namespace ").Append(resolution.Namespace).Append(": ").Append(PolicyNames.Of(resolution.Source));
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

        text.Append("  reason: ").AppendLine(resolution.Secret is { } s ? $"Secret {s}: {resolution.Reason}" : resolution.Reason);
        text.AppendLine("  trace:");
        int step = 1;
        foreach (TraceStep t in Trace)
        {
            text.Append("    ").Append(step++).Append(". ").AppendLine(t.ToString());
        }

        return text.ToString();

        static string Show(string? value) => value is null ? "(not set)" : value.Length == 0 ? "\"\" (empty)" : value;
    }
}

/// <summary>What a propagation action does.</summary>
public enum PlanOperation
{
    /// <summary>Create the Secret.</summary>
    Create,

    /// <summary>Update the Secret (content, or a base's finalizers).</summary>
    Update,

    /// <summary>Delete the Secret.</summary>
    Delete,
}

/// <summary>One action of a propagation plan. Immutable and thread-safe.</summary>
/// <param name="Operation">Create, update or delete.</param>
/// <param name="Secret">The Secret acted on.</param>
/// <param name="Rule">The propagation rule that wants it.</param>
/// <param name="Reason">Why, for people.</param>
public sealed record PlanAction(PlanOperation Operation, SecretReference Secret, string Rule, string Reason)
{
    /// <summary>The Secret as it should be after the action; <see langword="null"/> for a delete.</summary>
    public SecretObject? Desired { get; init; }

    /// <summary>
    /// For a delete, the <c>kubectl delete</c> command that carries it out (every word shell-quoted where needed); for a create
    /// or update, <see langword="null"/> (those are manifests for <c>kubectl apply</c>).
    /// </summary>
    /// <returns>One command line, or null.</returns>
    public string? ToKubectlCommand() => Operation == PlanOperation.Delete
        ? Primitives.ShellWords.Join("kubectl", "delete", "secret", "-n", Secret.Namespace, Secret.Name)
        : null;

    /// <summary>Formats as one line without content.</summary>
    /// <returns>The action as text.</returns>
    public override string ToString() => $"{Operation.ToString().ToLowerInvariant()} {Secret}: {Reason}";
}

/// <summary>
/// The actions that bring a snapshot to the converged state, and the hazards found on the way. Applying the plan and planning
/// again gives no actions.
/// Immutable and thread-safe.
/// </summary>
/// <param name="Actions">The actions, in a stable order (rule, then Secret name, then namespace).</param>
/// <param name="Warnings">Hazards: finalizers that will hang a delete, type changes the API server refuses, rule conflicts.</param>
public sealed record PropagationPlan(ImmutableArray<PlanAction> Actions, ImmutableArray<Diagnostic> Warnings)
{
    /// <summary>
    /// The ServiceAccount patches that link pull secrets (the policy's <c>serviceAccountLinks</c>), planned against the
    /// Secrets as they are after <see cref="Actions"/>, sorted by namespace and ServiceAccount.
    /// </summary>
    public ImmutableArray<ServiceAccountPatch> ServiceAccountPatches { get; init; } = [];

    /// <summary>Whether there is nothing to do.</summary>
    public bool IsEmpty => Actions.IsEmpty && ServiceAccountPatches.IsEmpty;

    /// <summary>Applies the actions to a snapshot (purely: the snapshot is not changed).</summary>
    /// <param name="snapshot">The snapshot the plan was made for.</param>
    /// <returns>
    /// The snapshot after the actions, then the ServiceAccount patches. A Secret being deleted whose last finalizer is removed disappears.
    /// </returns>
    public ClusterSnapshot ApplyTo(ClusterSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var upserts = new List<KubeObject>();
        var deletes = new List<ObjectReference>();
        foreach (PlanAction action in Actions)
        {
            if (action.Desired is { } desired && !(desired.Metadata.IsDeleting && desired.Metadata.Finalizers.Count == 0))
            {
                upserts.Add(desired);
            }
            else
            {
                deletes.Add(new ObjectReference("Secret", action.Secret.Namespace, action.Secret.Name));
            }
        }

        ClusterSnapshot after = snapshot.With(upserts, deletes);
        return ServiceAccountPatches.IsEmpty ? after : ServiceAccountLinks.Apply(after, ServiceAccountPatches);
    }
}

/// <summary>What an evaluation was made from: kept so that <see cref="Evaluation.Explain(string)"/> can re-run one decision.</summary>
internal sealed record EvaluationInputs(CompiledPolicy Policy, ClusterSnapshot Snapshot, EvaluationView View, PropagationPlan Plan, SecretView Secrets);

/// <summary>
/// The result of evaluating a policy on a snapshot. Immutable and thread-safe: results are plain data, and
/// <see cref="Explain(string)"/> re-runs one decision from the evaluation's own immutable inputs, so one evaluation can
/// serve many threads (a webhook's or controller's requests).
/// </summary>
public sealed record Evaluation
{
    private readonly EvaluationInputs _inputs;

    internal Evaluation(EvaluationInputs inputs) => _inputs = inputs;

    /// <summary>The policy's name.</summary>
    public required string Policy { get; init; }

    /// <summary>The view evaluated.</summary>
    public required EvaluationView View { get; init; }

    /// <summary>One resolution per namespace in scope, sorted by namespace.</summary>
    public required ImmutableArray<NamespaceResolution> Namespaces { get; init; }

    /// <summary>The propagation plan for the snapshot.</summary>
    public required PropagationPlan Plan { get; init; }

    /// <summary>Lints: bases copied but never read, overrides about to be overwritten, Secrets the webhook refuses, namespaces that cannot build.</summary>
    public ImmutableArray<Diagnostic> Diagnostics { get; init; } = [];

    /// <summary>Finds a namespace's resolution (a binary search: the namespaces are sorted).</summary>
    /// <param name="namespace">The namespace.</param>
    /// <returns>The resolution, or <see langword="null"/> when the namespace was not in scope.</returns>
    public NamespaceResolution? Find(string @namespace)
    {
        ArgumentNullException.ThrowIfNull(@namespace);
        int low = 0, high = Namespaces.Length - 1;
        while (low <= high)
        {
            int mid = (low + high) >>> 1;
            int c = string.CompareOrdinal(Namespaces[mid].Namespace, @namespace);
            if (c == 0)
            {
                return Namespaces[mid];
            }

            if (c < 0)
            {
                low = mid + 1;
            }
            else
            {
                high = mid - 1;
            }
        }

        return null;
    }

    /// <summary>
    /// How a namespace's registry is decided: every candidate in order, why it applied or was skipped, what propagation does
    /// to the namespace, and which keys gave the addresses. Computed on demand from this evaluation's inputs; thread-safe.
    /// </summary>
    /// <param name="namespace">The namespace (one the snapshot does not have is explained as an existing namespace without labels).</param>
    /// <returns>The resolution (equal to the one in <see cref="Namespaces"/>) and its trace.</returns>
    public NamespaceExplanation Explain(string @namespace)
    {
        ArgumentNullException.ThrowIfNull(@namespace);
        PropagationPlan plan = _inputs.Plan;
        var resolver = new Resolver(_inputs.Policy, _inputs.Secrets, _inputs.View, plan.Actions.ToLookup(a => a.Secret.Namespace, StringComparer.Ordinal),
            plan.ServiceAccountPatches.ToLookup(p => p.ServiceAccount.Namespace, StringComparer.Ordinal), new ResolverCaches());
        return resolver.Explain(_inputs.Snapshot.GetNamespace(@namespace) ?? NamespaceObject.Named(@namespace));
    }

    /// <summary>Compares the results (policy, view, every resolution, the plan's actions and patches, the diagnostics), not the inputs.</summary>
    /// <param name="other">The other evaluation.</param>
    /// <returns>Whether the results are equal.</returns>
    public bool Equals(Evaluation? other) =>
        other is not null && Policy == other.Policy && View == other.View && Namespaces.SequenceEqual(other.Namespaces) &&
        Plan.Actions.SequenceEqual(other.Plan.Actions) && Plan.ServiceAccountPatches.SequenceEqual(other.Plan.ServiceAccountPatches) &&
        Diagnostics.SequenceEqual(other.Diagnostics);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Policy, View, Namespaces.Length);
}

/// <summary>Options for <see cref="PolicyEngine.Evaluate(Policies.CompiledPolicy, Snapshots.ClusterSnapshot, EvaluationOptions)"/>. Immutable and thread-safe.</summary>
public sealed record EvaluationOptions
{
    /// <summary>The defaults: the converged view, every namespace of the snapshot.</summary>
    public static EvaluationOptions Default { get; } = new();

    /// <summary>Which view to evaluate.</summary>
    public EvaluationView View { get; init; } = EvaluationView.Converged;

    /// <summary>
    /// If not empty, only these namespaces are reported; a namespace the snapshot does not mention is treated as an
    /// existing, active namespace without labels and is reported too.
    /// </summary>
    public ImmutableArray<string> Namespaces { get; init; } = [];
}
