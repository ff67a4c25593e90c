using System.Collections.Immutable;

namespace RegistryPolicy.Policies;

/// <summary>
/// A validated policy compiled into an immutable evaluation plan: selectors into arrays and sets, names into hash sets.
/// Compile once, evaluate many times, from any thread.
/// </summary>
public sealed class CompiledPolicy
{
    internal CompiledPolicy(RegistryPolicyDocument document, string? text)
    {
        Document = document;
        Text = text;
        Propagation = [.. document.Spec.Propagation.Select(r => new CompiledPropagation(r))];
        if (document.Spec.Resolution is { } resolution)
        {
            Candidates = [.. resolution.Candidates.Select(c => new CompiledCandidate(c))];
        }

        if (document.Spec.Admission is { } admission)
        {
            AdmissionSelector = SelectorMatcher.Compile(admission.Selector);
            AdmissionNamespaceSelector = SelectorMatcher.Compile(admission.NamespaceSelector);
        }

        Links = [.. document.Spec.ServiceAccountLinks.Select(l => new CompiledLink(l))];
        if (document.Spec.Pulls is { } pulls)
        {
            PullScope = new CompiledScope(pulls.Namespaces, null);
        }

        Vocabulary = PolicyVocabulary.Of(document);
        SecretFilter = CreateFilter(Vocabulary);
    }

    /// <summary>Everything the policy mentions (namespaces, Secret names, selectors, keys...), gathered once.</summary>
    public PolicyVocabulary Vocabulary { get; }

    /// <summary>
    /// Keeps every Secret this policy can read, propagate or lint: candidate names, everything in a base namespace, base
    /// names, and Secrets carrying a label key any of its selectors mentions (all Secrets, when a selector matches Secrets
    /// without labels). Pass it to <see cref="Snapshots.SnapshotReader"/> to load only those, so that memory is proportional
    /// to what the policy can match. Resolution and lints are unchanged by it; the plan omits updates to same-named Secrets
    /// of bases that carry none of those labels (use an unfiltered snapshot for <c>plan</c>).
    /// </summary>
    public Snapshots.SecretFilter SecretFilter { get; }

    private static Snapshots.SecretFilter CreateFilter(PolicyVocabulary vocabulary)
    {
        if (vocabulary.ReadsUnnamedSecrets)
        {
            return static (_, _, _) => true;
        }

        var names = new HashSet<string>(vocabulary.SecretNames, StringComparer.Ordinal);
        var namespaces = new HashSet<string>(vocabulary.BaseNamespaces, StringComparer.Ordinal);
        var labelKeys = new HashSet<string>(vocabulary.SecretLabelKeys, StringComparer.Ordinal);
        return (ns, name, labels) =>
        {
            if (names.Contains(name) || namespaces.Contains(ns))
            {
                return true;
            }

            foreach (var (key, _) in labels)
            {
                if (labelKeys.Contains(key))
                {
                    return true;
                }
            }

            return false;
        };
    }

    /// <summary>The policy's name.</summary>
    public string Name => Document.Metadata.Name;

    /// <summary>The document the policy was compiled from.</summary>
    public RegistryPolicyDocument Document { get; }

    /// <summary>The document's text, when it was loaded from text.</summary>
    public string? Text { get; }

    internal ImmutableArray<CompiledPropagation> Propagation { get; }

    internal ImmutableArray<CompiledCandidate> Candidates { get; } = [];

    internal ImmutableArray<CompiledLink> Links { get; } = [];

    internal CompiledScope? PullScope { get; }

    internal SelectorMatcher? AdmissionSelector { get; }

    internal SelectorMatcher? AdmissionNamespaceSelector { get; }

    /// <summary>Formats as <c>RegistryPolicy name</c>.</summary>
    /// <returns>The policy's name.</returns>
    public override string ToString() => $"RegistryPolicy {Name}";
}

/// <summary>A <see cref="NamespaceScope"/> as sets and a matcher.</summary>
internal sealed class CompiledScope(NamespaceScope scope, string? alsoExcluded)
{
    private readonly HashSet<string>? _included = scope.Namespaces.IsEmpty ? null : new HashSet<string>(scope.Namespaces, StringComparer.Ordinal);
    private readonly SelectorMatcher? _selector = scope.NamespaceSelector is null ? null : SelectorMatcher.Compile(scope.NamespaceSelector);

    public HashSet<string> Excluded { get; } = new(alsoExcluded is null ? scope.ExcludeNamespaces : scope.ExcludeNamespaces.Append(alsoExcluded), StringComparer.Ordinal);

    public bool Contains(Snapshots.NamespaceObject ns) =>
        !Excluded.Contains(ns.Name) &&
        (_included is null || _included.Contains(ns.Name)) &&
        !(scope.SkipTerminating && ns.IsTerminating) &&
        (_selector is null || _selector.Matches(ns.Metadata.Labels));
}

internal sealed class CompiledLink(ServiceAccountLinkRule rule)
{
    public ServiceAccountLinkRule Rule { get; } = rule;

    public CompiledScope Scope { get; } = new(rule.Namespaces, null);

    public SelectorMatcher? Selector { get; } = rule.Secrets.Selector is null ? null : SelectorMatcher.Compile(rule.Secrets.Selector);

    /// <summary>Whether a Secret passes the selector and types (each only when given).</summary>
    public bool Accepts(Snapshots.SecretObject secret) =>
        !secret.Metadata.IsDeleting &&
        (Selector is null || Selector.Matches(secret.Metadata.Labels)) &&
        (Rule.Secrets.Types.IsEmpty || Rule.Secrets.Types.Contains(secret.Type));
}

internal sealed class CompiledPropagation(PropagationRule rule)
{
    public PropagationRule Rule { get; } = rule;

    public CompiledScope Targets { get; } = new(rule.Targets, rule.Base.Namespace);

    /// <summary>Whether copies may be named differently from their base.</summary>
    public bool Renames => !Rule.Rename.IsEmpty;

    /// <summary>The name of the copy of base <paramref name="baseName"/> in <paramref name="targetNamespace"/>.</summary>
    public string TargetName(string baseName, string targetNamespace)
    {
        foreach (RenameRule rename in Rule.Rename)
        {
            if (rename.From is null || rename.From == baseName)
            {
                return rename.Apply(baseName, targetNamespace);
            }
        }

        return baseName;
    }

    public SelectorMatcher BaseSelector { get; } = SelectorMatcher.Compile(rule.Base.Selector);

    public HashSet<string>? BaseNames { get; } = rule.Base.Names.IsEmpty ? null : new HashSet<string>(rule.Base.Names, StringComparer.Ordinal);

    public SelectorMatcher? Shield { get; } = rule.Shield is null ? null : SelectorMatcher.Compile(rule.Shield);


    // Indexed by the enum's value (Labels, Annotations, Data, Type).
    private readonly bool[] _copies =
        [rule.Copy.Contains(CopiedField.Labels), rule.Copy.Contains(CopiedField.Annotations), rule.Copy.Contains(CopiedField.Data), rule.Copy.Contains(CopiedField.Type)];

    public bool Copies(CopiedField field) => _copies[(int)field];
}

internal sealed class CompiledCandidate(ResolutionCandidate candidate)
{
    public ResolutionCandidate Candidate { get; } = candidate;

    public SelectorMatcher? Selector { get; } = candidate.Selector is null ? null : SelectorMatcher.Compile(candidate.Selector);

    public string Describe() => (Candidate.Name, Selector) switch
    {
        ({ } name, null) => $"Secret '{name}'",
        (null, { } s) => $"a Secret with labels {s.Text}",
        ({ } name, { } s) => $"Secret '{name}' with labels {s.Text}",
        _ => "(nothing)",
    };
}
