using RegistryPolicy.Primitives;

namespace RegistryPolicy.Policies;

/// <summary>
/// Everything a policy mentions, gathered by one walk over the document: the namespaces, Secret names, selectors, data keys,
/// conditions, types, ServiceAccounts, finalizers and renames. What reads a snapshot for a policy (the Secret filter),
/// what builds snapshots for it (the difference search, the test generators) and what checks it all draw from this one
/// list, so that they cannot drift apart. Sets are sorted and distinct. Immutable and thread-safe.
/// </summary>
public sealed record PolicyVocabulary
{
    private PolicyVocabulary()
    {
    }

    /// <summary>The base namespaces of the propagation rules.</summary>
    public ValueArray<string> BaseNamespaces { get; private init; } = [];

    /// <summary>Namespaces listed by name in a scope (propagation targets, ServiceAccount links, pulls).</summary>
    public ValueArray<string> ListedNamespaces { get; private init; } = [];

    /// <summary>Namespaces excluded by name from a scope.</summary>
    public ValueArray<string> ExcludedNamespaces { get; private init; } = [];

    /// <summary>Secret names: the propagation bases', the named resolution candidates' and the linked Secrets'.</summary>
    public ValueArray<string> SecretNames { get; private init; } = [];

    /// <summary>
    /// The selectors of Secrets, in document order: propagation bases and shields, resolution candidates, linked Secrets,
    /// admission.
    /// </summary>
    public ValueArray<LabelSelector> SecretSelectors { get; private init; } = [];

    /// <summary>The data keys a rule reads: address keys, condition keys, the credential keys and the keys admission requires.</summary>
    public ValueArray<string> DataKeys { get; private init; } = [];

    /// <summary>The conditions of the address rules, in document order.</summary>
    public ValueArray<KeyCondition> Conditions { get; private init; } = [];

    /// <summary>The Secret types ServiceAccount links select.</summary>
    public ValueArray<string> SecretTypes { get; private init; } = [];

    /// <summary>The ServiceAccounts the links patch.</summary>
    public ValueArray<string> ServiceAccounts { get; private init; } = [];

    /// <summary>The finalizers the propagation rules put on their bases.</summary>
    public ValueArray<string> Finalizers { get; private init; } = [];

    /// <summary>
    /// Whether the policy may read a Secret that no name, base namespace or selector label key identifies: a renamed copy (its
    /// name depends on the target namespace), a link by type only, or a selector that matches Secrets without labels.
    /// </summary>
    public bool ReadsUnnamedSecrets { get; private init; }

    /// <summary>Every label key the Secret selectors mention (match labels and expressions).</summary>
    public IEnumerable<string> SecretLabelKeys =>
        SecretSelectors.SelectMany(s => s.MatchLabels.Keys.Concat(s.MatchExpressions.Select(e => e.Key))).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);

    /// <summary>The names the renaming rules give copies in <paramref name="namespace"/>, for every base name they name.</summary>
    /// <param name="namespace">A target namespace.</param>
    /// <returns>The copy names, sorted and distinct.</returns>
    public IEnumerable<string> RenamedCopyNames(string @namespace) => Renames
        .SelectMany(r => (r.Rename.From is { } from ? [from] : r.Rule.Base.Names.AsEnumerable()).Select(name => r.Rename.Apply(name, @namespace)))
        .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);

    private ValueArray<(PropagationRule Rule, RenameRule Rename)> Renames { get; init; } = [];

    /// <summary>Walks a policy document once.</summary>
    /// <param name="document">The document.</param>
    /// <returns>What it mentions.</returns>
    public static PolicyVocabulary Of(RegistryPolicyDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        RegistryPolicySpec spec = document.Spec;
        var baseNamespaces = new SortedSet<string>(StringComparer.Ordinal);
        var listed = new SortedSet<string>(StringComparer.Ordinal);
        var excluded = new SortedSet<string>(StringComparer.Ordinal);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        var selectors = new List<LabelSelector>();
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        var conditions = new List<KeyCondition>();
        var types = new SortedSet<string>(StringComparer.Ordinal);
        var accounts = new SortedSet<string>(StringComparer.Ordinal);
        var finalizers = new SortedSet<string>(StringComparer.Ordinal);
        var renames = new List<(PropagationRule, RenameRule)>();
        bool unnamed = false;

        void Selector(LabelSelector? selector)
        {
            if (selector is not null)
            {
                selectors.Add(selector);
                unnamed |= SelectorMatcher.Compile(selector).Matches(Snapshots.StringMap.Empty);
            }
        }

        void Scope(NamespaceScope scope)
        {
            listed.UnionWith(scope.Namespaces);
            excluded.UnionWith(scope.ExcludeNamespaces);
        }

        foreach (PropagationRule rule in spec.Propagation)
        {
            baseNamespaces.Add(rule.Base.Namespace);
            Scope(rule.Targets);
            names.UnionWith(rule.Base.Names);
            Selector(rule.Base.Selector);
            Selector(rule.Shield);
            if (rule.Finalizer is { } finalizer)
            {
                finalizers.Add(finalizer);
            }

            renames.AddRange(rule.Rename.Select(r => (rule, r)));
            unnamed |= !rule.Rename.IsEmpty;
        }

        if (spec.Resolution is { } resolution)
        {
            foreach (ResolutionCandidate candidate in resolution.Candidates)
            {
                if (candidate.Name is { } name)
                {
                    names.Add(name);
                }

                Selector(candidate.Selector);
                unnamed |= candidate.Name is null && candidate.Selector is null;
                foreach (AddressRule address in candidate.Addresses)
                {
                    keys.Add(address.Push);
                    keys.Add(address.Pull);
                    if (address.When is { } when)
                    {
                        keys.Add(when.Key);
                        conditions.Add(when);
                    }
                }
            }

            keys.Add(resolution.Keys.Username);
            keys.Add(resolution.Keys.Password);
            keys.Add(resolution.Keys.ServerAddress);
        }

        foreach (ServiceAccountLinkRule link in spec.ServiceAccountLinks)
        {
            accounts.Add(link.ServiceAccount);
            names.UnionWith(link.Secrets.Names);
            types.UnionWith(link.Secrets.Types);
            Selector(link.Secrets.Selector);
            Scope(link.Namespaces);
            unnamed |= !link.Secrets.Types.IsEmpty && link.Secrets.Selector is null && link.Secrets.Names.IsEmpty;
        }

        if (spec.Pulls is { } pulls)
        {
            Scope(pulls.Namespaces);
        }

        if (spec.Admission is { } admission)
        {
            Selector(admission.Selector);
            keys.UnionWith(admission.RequiredKeys);
        }

        return new PolicyVocabulary
        {
            BaseNamespaces = [.. baseNamespaces],
            ListedNamespaces = [.. listed],
            ExcludedNamespaces = [.. excluded],
            SecretNames = [.. names],
            SecretSelectors = [.. selectors],
            DataKeys = [.. keys],
            Conditions = [.. conditions],
            SecretTypes = [.. types],
            ServiceAccounts = [.. accounts],
            Finalizers = [.. finalizers],
            ReadsUnnamedSecrets = unnamed,
            Renames = [.. renames],
        };
    }
}
