using System.Collections.Immutable;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Swap;

namespace RegistryPolicy.WhatIf;

/// <summary>One side of a comparison: a policy, a snapshot, and optionally an image-swap rule set. Immutable and thread-safe.</summary>
/// <param name="Policy">The policy.</param>
/// <param name="Snapshot">The snapshot.</param>
public sealed record WhatIfSide(CompiledPolicy Policy, ClusterSnapshot Snapshot)
{
    /// <summary>The image rewrite applied to the snapshot's workloads, if any.</summary>
    public ImageSwapper? Swap { get; init; }

    /// <summary>The view evaluated (converged by default).</summary>
    public EvaluationView View { get; init; } = EvaluationView.Converged;
}

/// <summary>A namespace whose outcome differs, with both resolutions (each with its reason; <see cref="Resolution.Evaluation.Explain"/> on either evaluation gives the full trace). Immutable and thread-safe.</summary>
/// <param name="Namespace">The namespace.</param>
/// <param name="Before">The resolution before.</param>
/// <param name="After">The resolution after.</param>
/// <param name="Changed">The fields that differ: <c>source</c>, <c>secret</c>, <c>pushAddress</c>, <c>pullAddress</c>, <c>registryAddress</c>, <c>serverAddress</c>, <c>username</c>, <c>credentialFingerprint</c>.</param>
/// <param name="Rebuild">Whether the after-policy's rebuild rule says Functions in the namespace must be rebuilt.</param>
/// <param name="Functions">The Functions in the namespace (after), which the rebuild concerns.</param>
public sealed record NamespaceChange(string Namespace, NamespaceResolution Before, NamespaceResolution After, ImmutableArray<string> Changed, bool Rebuild, ImmutableArray<string> Functions);

/// <summary>A propagation action that appears in (or disappears from) the plan. Immutable and thread-safe.</summary>
/// <param name="Action">The action.</param>
/// <param name="Appears">True when only the after-plan has it; false when only the before-plan had it.</param>
public sealed record PlanChange(PlanAction Action, bool Appears);

/// <summary>A pull secret that the plan links to a ServiceAccount on one side only. Immutable and thread-safe.</summary>
/// <param name="ServiceAccount">The ServiceAccount.</param>
/// <param name="Secret">The pull secret.</param>
/// <param name="Appears">True when only the after-plan links it; false when only the before-plan did.</param>
public sealed record LinkChange(ObjectReference ServiceAccount, string Secret, bool Appears)
{
    /// <summary>Formats as one line.</summary>
    /// <returns>The change as text.</returns>
    public override string ToString() => $"link {Secret} to ServiceAccount {ServiceAccount.Namespace}/{ServiceAccount.Name}";
}

/// <summary>A container whose rewritten image, or whose pull credential, differs. Immutable and thread-safe.</summary>
/// <param name="Workload">The workload.</param>
/// <param name="Container">The container's name.</param>
/// <param name="Image">The image as written (after).</param>
/// <param name="Before">The image the webhook produced before.</param>
/// <param name="After">The image it produces after.</param>
public sealed record ImageChange(ObjectReference Workload, string Container, string Image, string Before, string After)
{
    /// <summary>The credential the kubelet used before (<c>key (fingerprint)</c>), or null.</summary>
    public string? CredentialBefore { get; init; }

    /// <summary>The credential it uses after, or null.</summary>
    public string? CredentialAfter { get; init; }
}

/// <summary>What changes between two sides. Empty when nothing does. Immutable and thread-safe.</summary>
/// <param name="Namespaces">Namespaces whose resolution changes, sorted.</param>
/// <param name="Plan">Plan actions that appear or disappear.</param>
/// <param name="Images">Containers whose rewritten image changes.</param>
public sealed record OutcomeDiff(ImmutableArray<NamespaceChange> Namespaces, ImmutableArray<PlanChange> Plan, ImmutableArray<ImageChange> Images)
{
    /// <summary>ServiceAccount links the plan makes on one side only.</summary>
    public ImmutableArray<LinkChange> Links { get; init; } = [];

    /// <summary>Whether nothing changes.</summary>
    public bool IsEmpty => Namespaces.IsEmpty && Plan.IsEmpty && Images.IsEmpty && Links.IsEmpty;
}

/// <summary>
/// What-if evaluation: the difference in outcomes between two snapshots, two policies, or both — what users run in CI
/// before they change a Secret or a rule. Every entry carries both resolutions, whose reasons (and, from each evaluation, traces) say why it changed.
/// Stateless: safe to call from any thread.
/// </summary>
public static class WhatIfEngine
{
    /// <summary>Compares two sides. Namespaces known to either side are evaluated on both (a missing one as an existing, label-less namespace).</summary>
    /// <param name="before">The state now.</param>
    /// <param name="after">The state after the change.</param>
    /// <returns>The differences.</returns>
    public static OutcomeDiff Compare(WhatIfSide before, WhatIfSide after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        ImmutableArray<string> names = MergeNames(before.Snapshot.Namespaces, after.Snapshot.Namespaces);
        // Lints are not compared; under one policy, both sides share what was read from each Secret content.
        var caches = new ResolverCaches();
        Evaluation a = PolicyEngine.Evaluate(before.Policy, before.Snapshot, new EvaluationOptions { View = before.View, Namespaces = names }, caches, lints: false);
        Evaluation b = PolicyEngine.Evaluate(after.Policy, after.Snapshot, new EvaluationOptions { View = after.View, Namespaces = names },
            ReferenceEquals(before.Policy, after.Policy) ? caches : null, lints: false);
        var rebuildOn = (after.Policy.Document.Spec.Rebuild?.OnChange ?? []).Select(FieldName).ToHashSet(StringComparer.Ordinal);
        var functions = after.Snapshot.Functions.GroupBy(f => f.Namespace!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(f => f.Name).ToImmutableArray(), StringComparer.Ordinal);

        var namespaces = ImmutableArray.CreateBuilder<NamespaceChange>();
        for (int i = 0; i < names.Length; i++)
        {
            NamespaceResolution x = a.Namespaces[i], y = b.Namespaces[i];
            ImmutableArray<string> changed = Differences(x, y);
            if (!changed.IsEmpty)
            {
                namespaces.Add(new NamespaceChange(names[i], x, y, changed, changed.Any(rebuildOn.Contains), functions.GetValueOrDefault(names[i], [])));
            }
        }

        // Actions are the same when they do the same thing (operation, Secret, desired content), whatever rule or words.
        var plan = ImmutableArray.CreateBuilder<PlanChange>();
        var beforeActions = a.Plan.Actions.Select(Effect).ToHashSet();
        var afterActions = b.Plan.Actions.Select(Effect).ToHashSet();
        plan.AddRange(a.Plan.Actions.Where(p => !afterActions.Contains(Effect(p))).Select(p => new PlanChange(p, Appears: false)));
        plan.AddRange(b.Plan.Actions.Where(p => !beforeActions.Contains(Effect(p))).Select(p => new PlanChange(p, Appears: true)));

        static IEnumerable<(ObjectReference Account, string Secret)> LinksOf(PropagationPlan p) =>
            p.ServiceAccountPatches.SelectMany(patch => patch.Secrets.Select(secret => (patch.ServiceAccount, secret)));
        var linksBefore = LinksOf(a.Plan).ToHashSet();
        var linksAfter = LinksOf(b.Plan).ToHashSet();
        ImmutableArray<LinkChange> links =
        [
            .. linksBefore.Where(l => !linksAfter.Contains(l)).Select(l => new LinkChange(l.Account, l.Secret, Appears: false)),
            .. linksAfter.Where(l => !linksBefore.Contains(l)).Select(l => new LinkChange(l.Account, l.Secret, Appears: true)),
        ];

        return new OutcomeDiff(namespaces.ToImmutable(), plan.ToImmutable(), Images(before, after, a.Plan, b.Plan)) { Links = links };
    }

    /// <summary>The union of two namespace lists that are sorted already (snapshots keep them sorted), without sorting again.</summary>
    private static ImmutableArray<string> MergeNames(ImmutableArray<NamespaceObject> x, ImmutableArray<NamespaceObject> y)
    {
        var merged = ImmutableArray.CreateBuilder<string>(x.Length + y.Length);
        int i = 0, j = 0;
        while (i < x.Length || j < y.Length)
        {
            int c = i == x.Length ? 1 : j == y.Length ? -1 : string.CompareOrdinal(x[i].Name, y[j].Name);
            merged.Add(c <= 0 ? x[i].Name : y[j].Name);
            i += c <= 0 ? 1 : 0;
            j += c >= 0 ? 1 : 0;
        }

        return merged.ToImmutable();
    }

    private static (PlanOperation, SecretReference, SecretObject?) Effect(PlanAction action) => (action.Operation, action.Secret, action.Desired);

    private static ImmutableArray<ImageChange> Images(WhatIfSide before, WhatIfSide after, PropagationPlan planBefore, PropagationPlan planAfter)
    {
        // The credential the kubelet would use for each container, on both sides (matched by workload and container), in each
        // side's view: in the converged view, after that side's plan (its Secret copies and ServiceAccount links).
        static string? Credential(RegistryPolicy.Pulls.ContainerPull? p) => p?.CredentialKey is { } key ? $"{key} ({p.CredentialFingerprint})" : null;
        static ImmutableArray<RegistryPolicy.Pulls.ContainerPull> Pulls(WhatIfSide side, PropagationPlan plan)
        {
            if (side.Snapshot.Workloads.IsEmpty)
            {
                return [];
            }

            ClusterSnapshot seen = side.View == EvaluationView.Converged && !plan.IsEmpty ? plan.ApplyTo(side.Snapshot) : side.Snapshot;
            return RegistryPolicy.Pulls.PullEngine.Analyze(seen, RegistryPolicy.Pulls.PullEngine.OptionsFor(side.Policy, seen));
        }

        var pullsBefore = Pulls(before, planBefore).ToDictionary(p => (p.Workload, p.Container.Role, p.Container.Index));
        var changes = ImmutableArray.CreateBuilder<ImageChange>();
        foreach (RegistryPolicy.Pulls.ContainerPull pull in Pulls(after, planAfter))
        {
            ContainerSpec container = pull.Container;
            string x = before.Swap?.Rewrite(container.Image).Result ?? container.Image;
            string y = after.Swap?.Rewrite(container.Image).Result ?? container.Image;
            string? credentialBefore = Credential(pullsBefore.GetValueOrDefault((pull.Workload, container.Role, container.Index)));
            string? credentialAfter = Credential(pull);
            if (x != y || credentialBefore != credentialAfter)
            {
                changes.Add(new ImageChange(pull.Workload, container.Name, container.Image, x, y) { CredentialBefore = credentialBefore, CredentialAfter = credentialAfter });
            }
        }

        return changes.ToImmutable();
    }

    /// <summary>
    /// "Do these two policies ever disagree?" A deterministic, exhaustive search over small snapshots built from the values
    /// both policies mention, smallest first; the first difference found is shrunk to a minimal counterexample.
    /// </summary>
    /// <param name="a">One policy.</param>
    /// <param name="b">The other.</param>
    /// <param name="options">The bounds of the search.</param>
    /// <returns>The counterexample and how the policies differ on it, or none within the bounds.</returns>
    public static DifferenceSearchResult FindPolicyDifference(CompiledPolicy a, CompiledPolicy b, DifferenceSearchOptions? options = null) =>
        PolicyComparison.FindDifference(a, b, options);

    /// <summary>Reads a change document (YAML or JSON: put/delete objects, set/remove labels and data). Never throws.</summary>
    /// <param name="text">The document.</param>
    /// <param name="source">The name used in diagnostics.</param>
    /// <returns>The changes that could be read, and every problem with its line and column.</returns>
    public static ChangeDocument LoadChanges(string text, string source)
    {
        ImmutableArray<SnapshotChange> changes = SnapshotChanges.Parse(text, source, out ImmutableArray<Diagnostic> diagnostics);
        return new ChangeDocument(new Primitives.ValueArray<SnapshotChange>(changes), new Primitives.ValueArray<Diagnostic>(diagnostics));
    }

    /// <summary>Applies changes in order, purely (the snapshot is not changed). A change whose target does not exist is skipped with a diagnostic.</summary>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="changes">The changes.</param>
    /// <returns>The changed snapshot, the inverse changes (applying them gives the snapshot back) and diagnostics.</returns>
    public static ChangeResult ApplyChanges(ClusterSnapshot snapshot, IEnumerable<SnapshotChange> changes) => SnapshotChanges.Apply(snapshot, changes);

    /// <summary>The names of the outcome fields that differ.</summary>
    /// <param name="x">One resolution.</param>
    /// <param name="y">The other.</param>
    /// <returns>The fields, in a fixed order.</returns>
    internal static ImmutableArray<string> Differences(NamespaceResolution x, NamespaceResolution y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        // Most namespaces do not change: allocate only when something does.
        List<string>? changed = null;
        if (x.Source != y.Source)
        {
            (changed ??= []).Add("source");
        }

        if (x.Secret != y.Secret)
        {
            (changed ??= []).Add("secret");
        }

        Add(ref changed, "pushAddress", x.PushAddress, y.PushAddress);
        Add(ref changed, "pullAddress", x.PullAddress, y.PullAddress);
        Add(ref changed, "registryAddress", x.RegistryAddress, y.RegistryAddress);
        Add(ref changed, "serverAddress", x.ServerAddress, y.ServerAddress);
        Add(ref changed, "username", x.Username, y.Username);
        if (x.CredentialFingerprint != y.CredentialFingerprint)
        {
            (changed ??= []).Add("credentialFingerprint");
        }

        return changed is null ? [] : [.. changed];

        static void Add(ref List<string>? changed, string name, string? p, string? q)
        {
            if (!string.Equals(p, q, StringComparison.Ordinal))
            {
                (changed ??= []).Add(name);
            }
        }
    }

    private static string FieldName(ResolutionField field) => field switch
    {
        ResolutionField.Source => "source",
        ResolutionField.Secret => "secret",
        ResolutionField.PushAddress => "pushAddress",
        ResolutionField.PullAddress => "pullAddress",
        ResolutionField.RegistryAddress => "registryAddress",
        ResolutionField.ServerAddress => "serverAddress",
        ResolutionField.Username => "username",
        _ => "credentialFingerprint",
    };
}
