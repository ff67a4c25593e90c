using System.Collections.Immutable;
using System.Text;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.WhatIf;

/// <summary>Bounds of <see cref="WhatIfEngine.FindPolicyDifference"/>. Immutable and thread-safe.</summary>
public sealed record DifferenceSearchOptions
{
    /// <summary>Namespaces besides the base namespaces (default 2).</summary>
    public int MaxNamespaces { get; init; } = 2;

    /// <summary>The most Secrets in one snapshot (default 2).</summary>
    public int MaxSecrets { get; init; } = 2;
}

/// <summary>The outcome of a search for a snapshot where two policies disagree. Immutable and thread-safe.</summary>
/// <param name="Counterexample">The smallest snapshot found where they disagree, or <see langword="null"/>.</param>
/// <param name="Diff">How they disagree on it.</param>
/// <param name="SnapshotsTried">How many snapshots were evaluated.</param>
/// <param name="Bounds">The bounds searched, for people ("no difference within ...").</param>
public sealed record DifferenceSearchResult(ClusterSnapshot? Counterexample, OutcomeDiff? Diff, long SnapshotsTried, string Bounds)
{
    /// <summary>Whether a difference was found.</summary>
    public bool Found => Counterexample is not null;
}

/// <summary>
/// "Do these two policies ever disagree?" An exhaustive, deterministic search over small snapshots drawn from the values
/// the two policies mention (their namespaces, Secret names, selector labels, data keys and condition values), smallest
/// first; the first difference is shrunk (Secrets, labels, data keys removed while the difference stays) and returned. A
/// difference in resolution is preferred; when there is none, the first difference in what the controller writes (Secret
/// copies, ServiceAccount links) is returned instead. Snapshots hold the ServiceAccounts the policies link, in every namespace.
/// For random search beyond these bounds, use the FsCheck generators in <c>RegistryPolicy.Testing</c>.
/// </summary>
internal static class PolicyComparison
{
    /// <summary>Searches for a snapshot where <paramref name="a"/> and <paramref name="b"/> give different outcomes.</summary>
    /// <param name="a">One policy.</param>
    /// <param name="b">The other.</param>
    /// <param name="options">The bounds.</param>
    /// <returns>The counterexample, or none within the stated bounds.</returns>
    public static DifferenceSearchResult FindDifference(CompiledPolicy a, CompiledPolicy b, DifferenceSearchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        options ??= new DifferenceSearchOptions();
        var namespaces = new SortedSet<string>(StringComparer.Ordinal);
        var names = new SortedSet<string>(StringComparer.Ordinal) { "other" };
        var labelSets = new List<StringMap> { StringMap.Empty };
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        var conditions = new Dictionary<string, string>(StringComparer.Ordinal);
        var types = new SortedSet<string>(StringComparer.Ordinal) { "Opaque" };
        var accounts = new SortedSet<string>(StringComparer.Ordinal);
        var vocabularies = new[] { a.Vocabulary, b.Vocabulary };
        foreach (PolicyVocabulary vocabulary in vocabularies)
        {
            namespaces.UnionWith(vocabulary.BaseNamespaces);
            namespaces.UnionWith(vocabulary.ListedNamespaces);
            names.UnionWith(vocabulary.SecretNames);
            foreach (LabelSelector selector in vocabulary.SecretSelectors)
            {
                AddLabels(selector);
            }

            accounts.UnionWith(vocabulary.ServiceAccounts);
            types.UnionWith(vocabulary.SecretTypes);
            keys.UnionWith(vocabulary.DataKeys);
            foreach (KeyCondition condition in vocabulary.Conditions)
            {
                conditions[condition.Key] = condition.EqualsValue ?? "present";
            }
        }

        // Combinations of two label sets (a base carrying the shield label, for example).
        int single = labelSets.Count;
        for (int i = 1; i < single; i++)
        {
            for (int j = i + 1; j < single; j++)
            {
                labelSets.Add(StringMap.Create(labelSets[i].Concat(labelSets[j])));
            }
        }

        for (int i = 0; i < options.MaxNamespaces; i++)
        {
            namespaces.Add($"team-{(char)('a' + i)}");
        }

        // Renamed copies: the names they get in the team namespaces, so that an existing copy can be met.
        for (int i = 0; i < options.MaxNamespaces; i++)
        {
            foreach (PolicyVocabulary vocabulary in vocabularies)
            {
                names.UnionWith(vocabulary.RenamedCopyNames($"team-{(char)('a' + i)}"));
            }
        }

        // Policies that read no key (only copy and link) still need Secrets whose contents differ.
        if (keys.Count == 0)
        {
            keys.Add(".dockerconfigjson");
        }

        // Three data variants: nothing; every key set (conditions false); every key set with the conditions' values (conditions true).
        SecretData[] data =
        [
            SecretData.Empty,
            SecretData.Create(keys.Select(k => new KeyValuePair<string, byte[]>(k, Encoding.UTF8.GetBytes("r1.example.com")))),
            SecretData.Create(keys.Select(k => new KeyValuePair<string, byte[]>(k, Encoding.UTF8.GetBytes(conditions.GetValueOrDefault(k, "r2.example.com"))))),
        ];
        var templates = new List<SecretObject>();
        foreach (string ns in namespaces)
        {
            foreach (string name in names)
            {
                foreach (StringMap labels in labelSets.Distinct())
                {
                    foreach (SecretData d in data.Distinct())
                    {
                        foreach (string type in types)
                        {
                            templates.Add(new SecretObject(new ObjectMetadata(name, ns) { Labels = labels }, type, d));
                        }
                    }
                }
            }
        }

        // Every namespace has the ServiceAccounts the policies link, without pull secrets (as a new namespace's 'default' has).
        ImmutableArray<KubeObject> nsObjects =
        [
            .. namespaces.Select(n => (KubeObject)NamespaceObject.Named(n)),
            .. namespaces.SelectMany(n => accounts.Select(sa => (KubeObject)new ServiceAccountObject(new ObjectMetadata(sa, n), default))),
        ];
        string bounds = $"{namespaces.Count} namespaces ({string.Join(", ", namespaces)}), up to {options.MaxSecrets} Secrets from {templates.Count} templates " +
            $"(names {string.Join(", ", names)}; {labelSets.Distinct().Count()} label sets; {data.Distinct().Count()} data variants)";
        long tried = 0;
        List<SecretObject>? planOnly = null;
        foreach (List<SecretObject> secrets in Subsets(templates, options.MaxSecrets))
        {
            tried++;
            ClusterSnapshot snapshot = ClusterSnapshot.Create(nsObjects.Concat(secrets));
            OutcomeDiff diff = Compare(a, b, snapshot);
            if (!diff.Namespaces.IsEmpty)
            {
                (ClusterSnapshot small, OutcomeDiff smallDiff) = Shrink(a, b, nsObjects, secrets, diff, ResolutionDiffers);
                return new DifferenceSearchResult(small, smallDiff, tried, bounds);
            }

            // A difference only in what the controller writes (copies, ServiceAccount links) is kept in case no resolution differs.
            if (planOnly is null && PlanDiffers(diff))
            {
                planOnly = secrets;
            }
        }

        if (planOnly is not null)
        {
            (ClusterSnapshot small, OutcomeDiff smallDiff) = Shrink(a, b, nsObjects, planOnly, Compare(a, b, ClusterSnapshot.Create(nsObjects.Concat(planOnly))), PlanDiffers);
            return new DifferenceSearchResult(small, smallDiff, tried, bounds);
        }

        return new DifferenceSearchResult(null, null, tried, bounds);

        void AddLabels(LabelSelector? selector)
        {
            if (selector is { MatchLabels.Count: > 0 } && StringMap.Create(selector.MatchLabels) is var set && !labelSets.Contains(set))
            {
                labelSets.Add(set);
            }
        }
    }

    private static bool ResolutionDiffers(OutcomeDiff diff) => !diff.Namespaces.IsEmpty;

    private static bool PlanDiffers(OutcomeDiff diff) => !diff.Plan.IsEmpty || !diff.Links.IsEmpty;

    private static OutcomeDiff Compare(CompiledPolicy a, CompiledPolicy b, ClusterSnapshot snapshot) =>
        WhatIfEngine.Compare(new WhatIfSide(a, snapshot), new WhatIfSide(b, snapshot));

    /// <summary>Every set of distinct-object Secrets of size 0..max, smallest first.</summary>
    private static IEnumerable<List<SecretObject>> Subsets(List<SecretObject> templates, int max)
    {
        for (int size = 0; size <= max; size++)
        {
            foreach (List<SecretObject> set in Choose(templates, size, 0))
            {
                yield return set;
            }
        }
    }

    private static IEnumerable<List<SecretObject>> Choose(List<SecretObject> templates, int size, int start)
    {
        if (size == 0)
        {
            yield return [];
            yield break;
        }

        for (int i = start; i < templates.Count; i++)
        {
            foreach (List<SecretObject> rest in Choose(templates, size - 1, i + 1))
            {
                if (rest.All(r => r.Reference != templates[i].Reference))
                {
                    rest.Insert(0, templates[i]);
                    yield return rest;
                }
            }
        }
    }

    private static (ClusterSnapshot, OutcomeDiff) Shrink(CompiledPolicy a, CompiledPolicy b, ImmutableArray<KubeObject> namespaces, List<SecretObject> secrets, OutcomeDiff diff,
        Func<OutcomeDiff, bool> differs)
    {
        var current = new List<KubeObject>(namespaces.Concat(secrets));
        bool progress = true;
        while (progress)
        {
            progress = false;
            foreach (List<KubeObject> candidate in Smaller(current))
            {
                OutcomeDiff d = Compare(a, b, ClusterSnapshot.Create(candidate));
                if (differs(d))
                {
                    current = candidate;
                    diff = d;
                    progress = true;
                    break;
                }
            }
        }

        return (ClusterSnapshot.Create(current), diff);
    }

    private static IEnumerable<List<KubeObject>> Smaller(List<KubeObject> objects)
    {
        for (int i = 0; i < objects.Count; i++)
        {
            yield return [.. objects.Where((_, j) => j != i)];
        }

        for (int i = 0; i < objects.Count; i++)
        {
            KubeObject o = objects[i];
            foreach (string label in o.Metadata.Labels.Keys)
            {
                yield return [.. objects.Select((x, j) => j != i ? x : x with { Metadata = x.Metadata with { Labels = x.Metadata.Labels.Without(label) } })];
            }

            if (o is SecretObject s)
            {
                foreach (string key in s.Data.Keys)
                {
                    yield return [.. objects.Select((x, j) => j != i ? x : s with { Data = s.Data.Without(key) })];
                }
            }
        }
    }
}
