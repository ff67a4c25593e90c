using System.Collections.Immutable;
using RegistryPolicy.Policies;

namespace RegistryPolicy.Testing;

/// <summary>
/// The vocabulary generated snapshots are drawn from: namespace names, Secret names, labels, data keys and values. Small
/// pools make collisions (the same name in two namespaces, a shield label on an override) frequent, which is where policies
/// differ. <see cref="ForPolicy"/> draws the vocabulary from what a policy mentions.
/// Immutable and thread-safe.
/// </summary>
public sealed record SnapshotShape
{
    /// <summary>Namespace names.</summary>
    public ImmutableArray<string> Namespaces { get; init; } = ["kyma-system", "default", "team-a", "team-b", "kube-system"];

    /// <summary>Secret names.</summary>
    public ImmutableArray<string> SecretNames { get; init; } = ["serverless-registry-config", "serverless-registry-config-default", "my-registry"];

    /// <summary>Labels a Secret may carry (each independently).</summary>
    public ImmutableArray<KeyValuePair<string, string>> SecretLabels { get; init; } =
    [
        new("serverless.kyma-project.io/config", "credentials"),
        new("serverless.kyma-project.io/managed-by", "user"),
        new("serverless.kyma-project.io/remote-registry", "config"),
    ];

    /// <summary>Labels a Namespace may carry (each independently).</summary>
    public ImmutableArray<KeyValuePair<string, string>> NamespaceLabels { get; init; } = [new("team", "platform")];

    /// <summary>Data keys a Secret may hold (each independently).</summary>
    public ImmutableArray<string> DataKeys { get; init; } = ["registryAddress", "isInternal", "pushRegAddr", "pullRegAddr", "serverAddress", "username", "password"];

    /// <summary>Data values.</summary>
    public ImmutableArray<string> DataValues { get; init; } = ["true", "false", "True", "r1.example.com", "r2.example.com:5000", "localhost:32137", ""];

    /// <summary>Secret types.</summary>
    public ImmutableArray<string> SecretTypes { get; init; } = ["kubernetes.io/dockerconfigjson", "Opaque"];

    /// <summary>Finalizers a Secret may carry.</summary>
    public ImmutableArray<string> Finalizers { get; init; } = ["serverless.kyma-project.io/finalizer-registry-config"];

    /// <summary>The most Secrets in one snapshot.</summary>
    public int MaxSecrets { get; init; } = 12;

    /// <summary>Whether Namespaces may be terminating and Secrets being deleted.</summary>
    public bool IncludeDeletion { get; init; } = true;

    /// <summary>ServiceAccount names; when not empty, snapshots hold ServiceAccounts listing some of <see cref="SecretNames"/> as pull secrets.</summary>
    public ImmutableArray<string> ServiceAccountNames { get; init; } = [];

    /// <summary>The Kyma Serverless vocabulary (the default).</summary>
    public static SnapshotShape KymaServerless { get; } = new();

    /// <summary>
    /// A vocabulary from what <paramref name="policy"/> mentions (base and excluded namespaces, Secret names, selector labels,
    /// data keys and condition values), plus one name, label and value it does not mention.
    /// </summary>
    /// <param name="policy">The policy.</param>
    /// <returns>The shape.</returns>
    public static SnapshotShape ForPolicy(CompiledPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        PolicyVocabulary vocabulary = policy.Vocabulary;
        var namespaces = new SortedSet<string>(StringComparer.Ordinal) { "team-a", "team-b" };
        namespaces.UnionWith(vocabulary.BaseNamespaces);
        namespaces.UnionWith(vocabulary.ListedNamespaces);
        namespaces.UnionWith(vocabulary.ExcludedNamespaces);
        var names = new SortedSet<string>(vocabulary.SecretNames, StringComparer.Ordinal) { "unrelated" };

        // Renamed copies: the names they get in the two team namespaces, so that snapshots hold existing copies and clashes
        // (all namespaces would dilute the vocabulary too much to meet a base often).
        names.UnionWith(vocabulary.RenamedCopyNames("team-a"));
        names.UnionWith(vocabulary.RenamedCopyNames("team-b"));
        var labels = new SortedSet<string>(StringComparer.Ordinal) { "other=x" };
        foreach (LabelSelector selector in vocabulary.SecretSelectors)
        {
            foreach (var (k, v) in selector.MatchLabels)
            {
                labels.Add($"{k}={v}");
            }

            foreach (LabelSelectorRequirement e in selector.MatchExpressions)
            {
                foreach (string v in e.Values.IsEmpty ? ["x"] : e.Values)
                {
                    labels.Add($"{e.Key}={v}");
                }
            }
        }

        var keys = new SortedSet<string>(vocabulary.DataKeys, StringComparer.Ordinal);
        var values = new SortedSet<string>(StringComparer.Ordinal) { "r1.example.com", "" };
        foreach (KeyCondition condition in vocabulary.Conditions)
        {
            if (condition.EqualsValue is { } e)
            {
                values.Add(e);
                values.Add(e.ToUpperInvariant());
            }
        }

        var finalizers = new SortedSet<string>(vocabulary.Finalizers, StringComparer.Ordinal);
        var types = new SortedSet<string>(vocabulary.SecretTypes, StringComparer.Ordinal) { "kubernetes.io/dockerconfigjson", "Opaque" };
        var accounts = new SortedSet<string>(vocabulary.ServiceAccounts, StringComparer.Ordinal);
        return new SnapshotShape
        {
            Namespaces = [.. namespaces],
            SecretNames = [.. names],
            SecretLabels = [.. labels.Select(l => new KeyValuePair<string, string>(l[..l.IndexOf('=', StringComparison.Ordinal)], l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..]))],
            DataKeys = [.. keys],
            DataValues = [.. values],
            Finalizers = [.. finalizers],
            SecretTypes = [.. types],
            ServiceAccountNames = [.. accounts],
        };
    }
}
