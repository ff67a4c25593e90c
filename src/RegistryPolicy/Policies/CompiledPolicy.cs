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

        SecretFilter = CreateFilter(document);
    }

    /// <summary>
    /// Keeps every Secret this policy can read, propagate or lint: candidate names, everything in a base namespace, base
    /// names, and Secrets carrying a label key any of its selectors mentions (all Secrets, when a selector matches Secrets
    /// without labels). Pass it to <see cref="Snapshots.SnapshotReader"/> to load only those, so that memory is proportional
    /// to what the policy can match. Resolution and lints are unchanged by it; the plan omits updates to same-named Secrets
    /// of bases that carry none of those labels (use an unfiltered snapshot for <c>plan</c>).
    /// </summary>
    public Snapshots.SecretFilter SecretFilter { get; }

    private static Snapshots.SecretFilter CreateFilter(RegistryPolicyDocument document)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var namespaces = new HashSet<string>(StringComparer.Ordinal);
        var labelKeys = new HashSet<string>(StringComparer.Ordinal);
        bool everything = false;
        void Selector(LabelSelector? selector)
        {
            if (selector is null)
            {
                return;
            }

            if (SelectorMatcher.Compile(selector).Matches(Snapshots.StringMap.Empty))
            {
                everything = true;
            }

            labelKeys.UnionWith(selector.MatchLabels.Keys);
            labelKeys.UnionWith(selector.MatchExpressions.Select(e => e.Key));
        }

        foreach (PropagationRule rule in document.Spec.Propagation)
        {
            namespaces.Add(rule.Base.Namespace);
            names.UnionWith(rule.Base.Names);
            Selector(rule.Base.Selector);
            Selector(rule.Shield);
        }

        foreach (ResolutionCandidate candidate in document.Spec.Resolution?.Candidates ?? [])
        {
            if (candidate.Name is { } name)
            {
                names.Add(name);
            }
            else
            {
                Selector(candidate.Selector ?? new LabelSelector());
            }
        }

        Selector(document.Spec.Admission?.Selector);
        if (everything)
        {
            return static (_, _, _) => true;
        }

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

    internal SelectorMatcher? AdmissionSelector { get; }

    internal SelectorMatcher? AdmissionNamespaceSelector { get; }

    /// <summary>Formats as <c>RegistryPolicy name</c>.</summary>
    /// <returns>The policy's name.</returns>
    public override string ToString() => $"RegistryPolicy {Name}";
}

internal sealed class CompiledPropagation(PropagationRule rule)
{
    public PropagationRule Rule { get; } = rule;

    public SelectorMatcher BaseSelector { get; } = SelectorMatcher.Compile(rule.Base.Selector);

    public HashSet<string>? BaseNames { get; } = rule.Base.Names.IsEmpty ? null : new HashSet<string>(rule.Base.Names, StringComparer.Ordinal);

    public SelectorMatcher? Shield { get; } = rule.Shield is null ? null : SelectorMatcher.Compile(rule.Shield);

    public HashSet<string> Excluded { get; } = new(rule.Targets.ExcludeNamespaces.Append(rule.Base.Namespace), StringComparer.Ordinal);

    public SelectorMatcher? NamespaceSelector { get; } = rule.Targets.NamespaceSelector is null ? null : SelectorMatcher.Compile(rule.Targets.NamespaceSelector);

    public bool Copies(CopiedField field) => Rule.Copy.Contains(field);
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
