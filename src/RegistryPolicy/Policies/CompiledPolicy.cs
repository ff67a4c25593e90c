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
