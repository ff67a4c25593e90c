using System.Collections.Immutable;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;

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

/// <summary>A Secret's namespace and name.</summary>
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

/// <summary>One step of a decision trace.</summary>
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
/// The registry a namespace uses under a policy: where it comes from, the Secret, the addresses, the username and a
/// fingerprint of the credential (never the password), with the trace of every candidate considered.
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

    private string? _fingerprint;
    private (ReadOnlyMemory<byte> Password, FingerprintCache Cache)? _password;

    /// <summary>
    /// The password's fingerprint (<c>sha256:</c> and 12 hex characters), if the Secret has a password. Hashed when first
    /// read, so that evaluations that never show it do not pay for it.
    /// </summary>
    public string? CredentialFingerprint
    {
        get
        {
            if (_fingerprint is null && _password is { } password)
            {
                _fingerprint = password.Cache.Get(password.Password.Span);
            }

            return _fingerprint;
        }

        init => _fingerprint = value;
    }

    /// <summary>Whether two results have the same credential, comparing password bytes when both have them (no hashing).</summary>
    internal bool SameCredential(NamespaceResolution other)
    {
        if (_fingerprint is null && other._fingerprint is null && _password is { } mine && other._password is { } theirs)
        {
            return mine.Password.Span.SequenceEqual(theirs.Password.Span);
        }

        return CredentialFingerprint == other.CredentialFingerprint;
    }

    /// <summary>The password bytes the fingerprint is computed from, on first use.</summary>
    internal (ReadOnlyMemory<byte> Password, FingerprintCache Cache)? PasswordForFingerprint
    {
        init => _password = value;
    }

    private string? _reason;
    private Func<NamespaceObjectKey, string?>? _reasonOf;
    private ImmutableArray<TraceStep>? _trace;
    private Func<NamespaceObjectKey, (string? Reason, ImmutableArray<TraceStep> Trace)>? _explain;
    private NamespaceObjectKey _key;
    private (string? Reason, ImmutableArray<TraceStep> Trace)? _explained;

    /// <summary>Why the result is what it is, in one sentence (for <see cref="ResolutionSource.None"/>, the controller's error).</summary>
    public string? Reason
    {
        get
        {
            if (_reason is null && _explained is null && _reasonOf is not null)
            {
                _reason = _reasonOf(_key); // the decision re-run without a trace: idempotent, a race computes it twice
            }

            return _reason ?? Explained()?.Reason;
        }

        init => _reason = value;
    }

    /// <summary>Computes <see cref="Reason"/> alone on first use, without the trace.</summary>
    internal Func<NamespaceObjectKey, string?>? ReasonExplanation
    {
        init => _reasonOf = value;
    }

    /// <summary>
    /// Every step of the decision, in order. The engine writes the trace only when it is read (evaluation re-runs the decision
    /// for this namespace with tracing on: inputs are immutable, so the result is the same), so evaluating many namespaces
    /// does not pay for text nobody reads.
    /// </summary>
    public ImmutableArray<TraceStep> Trace
    {
        get => _trace ?? Explained()?.Trace ?? [];
        init => _trace = value;
    }

    /// <summary>Computes <see cref="Reason"/> and <see cref="Trace"/> on first use (the decision re-run with tracing on).</summary>
    internal (Func<NamespaceObjectKey, (string? Reason, ImmutableArray<TraceStep> Trace)> Explain, NamespaceObjectKey Key) Explanation
    {
        init => (_explain, _key) = value;
    }

    private (string? Reason, ImmutableArray<TraceStep> Trace)? Explained()
    {
        if (_explained is null && _explain is not null)
        {
            _explained = _explain(_key); // idempotent: a race computes the same value twice
        }

        return _explained;
    }

    /// <summary>Compares outcome, reason and trace.</summary>
    /// <param name="other">The other resolution.</param>
    /// <returns>Whether they are equal.</returns>
    public bool Equals(NamespaceResolution? other) =>
        other is not null && SameOutcome(other) && Reason == other.Reason && Trace.SequenceEqual(other.Trace);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Namespace, Source, Secret, PushAddress, PullAddress, CredentialFingerprint);

    /// <summary>Formats as one line without credentials.</summary>
    /// <returns>The resolution as text.</returns>
    public override string ToString() =>
        $"{Namespace}: {Source}{(Secret is { } s ? $" {s}" : "")} push={PushAddress ?? "-"} pull={PullAddress ?? "-"}";

    /// <summary>Whether two resolutions give the same outcome (everything but the trace and reason).</summary>
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

/// <summary>The namespace a deferred explanation is about.</summary>
/// <param name="Namespace">The namespace object.</param>
internal readonly record struct NamespaceObjectKey(NamespaceObject Namespace);

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

/// <summary>One action of a propagation plan.</summary>
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

/// <summary>The result of evaluating a policy on a snapshot.</summary>
public sealed record Evaluation
{
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

    /// <summary>Finds a namespace's resolution.</summary>
    /// <param name="namespace">The namespace.</param>
    /// <returns>The resolution, or <see langword="null"/> when the namespace was not in scope.</returns>
    public NamespaceResolution? Find(string @namespace) => Namespaces.FirstOrDefault(n => n.Namespace == @namespace);
}

/// <summary>Options for <see cref="PolicyEngine.Evaluate(Policies.CompiledPolicy, Snapshots.ClusterSnapshot, EvaluationOptions)"/>.</summary>
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
