using System.Collections.Immutable;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Testing;

namespace RegistryPolicy.Tests.Snapshots;

/// <summary>
/// <see cref="ClusterSnapshot.With"/>, through its overlay path (a few Secret changes) and its rebuild path alike, gives
/// the snapshot <see cref="ClusterSnapshot.Create(IEnumerable{KubeObject})"/> gives for the resulting objects, and leaves
/// the snapshot it was called on unchanged.
/// </summary>
public sealed class SnapshotWithProperties
{
    private static readonly SnapshotShape Shape = SnapshotShape.KymaServerless;

    private static readonly Arbitrary<(ImmutableArray<KubeObject> Start, ImmutableArray<(KubeObject? Upsert, int Remove)> Events)> Cases = Arb.From(
        from start in SnapshotGenerators.Objects(Shape)
        from later in SnapshotGenerators.Objects(Shape)
        from removals in Gen.Choose(0, Math.Max(0, start.Length - 1)).ListOf()
        from order in SnapshotGenerators.Shuffle([.. later.Select(o => ((KubeObject?)o, -1)).Concat(removals.Take(start.IsEmpty ? 0 : 10).Select(r => ((KubeObject?)null, r)))])
        select (start, order));

    private static string Describe(ClusterSnapshot s)
    {
        var parts = new List<string>
        {
            "secrets: " + string.Join(", ", s.Secrets.Select(x => $"{x.Reference}#{x.GetHashCode()}")),
            "namespaces: " + string.Join(", ", s.Namespaces.Select(n => $"{n.Name}:{n.IsDeclared}")),
            "accounts: " + string.Join(", ", s.ServiceAccounts.Select(a => a.Reference.ToString())),
            "objects: " + string.Join(", ", s.Objects.Select(o => o.Reference.ToString())),
        };
        foreach (NamespaceObject n in s.Namespaces)
        {
            parts.Add($"in {n.Name}: " + string.Join(", ", s.GetSecretsIn(n.Name).Select(x => x.Name)));
        }

        foreach (string key in s.Secrets.SelectMany(x => x.Metadata.Labels.Keys).Distinct().Order(StringComparer.Ordinal))
        {
            parts.Add($"label {key}: " + string.Join(", ", s.GetSecretsWithLabel(key).Select(x => x.Reference.ToString())));
        }

        foreach (string name in s.Secrets.Select(x => x.Name).Distinct().Order(StringComparer.Ordinal))
        {
            parts.Add($"named {name}: " + string.Join(", ", s.GetSecretsNamed(name).Select(x => x.Reference.ToString())));
        }

        foreach (SecretObject x in s.Secrets)
        {
            parts.Add($"get {x.Reference}: {ReferenceEquals(s.GetSecret(x.Namespace!, x.Name), x)}");
        }

        PropagationPlan plan = PolicyEngine.Plan(PolicyPresets.Default, s);
        parts.Add("plan: " + string.Join("; ", plan.Actions) + " | " + string.Join("; ", plan.ServiceAccountPatches.Select(p => p.ToJson())));
        parts.Add("resolve: " + string.Join("; ", PolicyEngine.Evaluate(PolicyPresets.Default, s).Namespaces.Select(n => $"{n.Namespace} {n.Source} {n.Secret}")));
        return string.Join("\n", parts);
    }

    [Property(MaxTest = 300)]
    public Property Any_sequence_of_with_calls_gives_the_snapshot_create_gives_for_the_same_objects() =>
        Prop.ForAll(Cases, c =>
        {
            ClusterSnapshot chained = ClusterSnapshot.Create(c.Start);
            // As Create reads them: a later duplicate replaces an earlier one, in the earlier one's place.
            var truth = new Dictionary<ObjectReference, KubeObject>();
            var order = new List<ObjectReference>();
            foreach (KubeObject o in c.Start)
            {
                if (truth.TryAdd(o.Reference, o))
                {
                    order.Add(o.Reference);
                }
                else
                {
                    truth[o.Reference] = o;
                }
            }

            ClusterSnapshot first = chained;
            string firstBefore = Describe(first);
            int step = 0;
            foreach (var (upsert, remove) in c.Events)
            {
                step++;
                if (upsert is not null)
                {
                    chained = chained.With([upsert]);
                    if (!truth.ContainsKey(upsert.Reference))
                    {
                        order.Add(upsert.Reference);
                    }

                    truth[upsert.Reference] = upsert;
                }
                else
                {
                    ObjectReference gone = c.Start[remove].Reference;
                    chained = chained.With([], [gone]);
                    truth.Remove(gone);
                }

                string expected = Describe(ClusterSnapshot.Create(order.Where(truth.ContainsKey).Select(r => truth[r])));
                string actual = Describe(chained);
                if (expected != actual)
                {
                    return false.Label($"after event {step}:\nexpected\n{expected}\nactual\n{actual}");
                }
            }

            return (Describe(first) == firstBefore).Label("the first snapshot changed");
        });

    [Fact]
    public void A_secret_change_in_a_known_namespace_shares_the_rest_and_a_new_namespace_rebuilds()
    {
        var snapshot = ClusterSnapshot.Create(
            NamespaceObject.Named("a"), NamespaceObject.Named("b"),
            new SecretObject(new ObjectMetadata("s1", "a"), "Opaque", SecretData.FromStrings("k", "v")));
        var changed = new SecretObject(new ObjectMetadata("s2", "a"), "Opaque", SecretData.FromStrings("k", "w"));

        ClusterSnapshot next = snapshot.With([changed]);

        Assert.Same(snapshot.Namespaces.First(), next.Namespaces.First());
        Assert.Equal(["s1", "s2"], next.GetSecretsIn("a").Select(s => s.Name));
        Assert.Equal(["s1"], snapshot.GetSecretsIn("a").Select(s => s.Name));
        Assert.Same(changed, next.GetSecret("a", "s2"));

        ClusterSnapshot elsewhere = next.With([new SecretObject(new ObjectMetadata("s", "new-ns"), "Opaque", SecretData.Empty)]);
        Assert.Contains(elsewhere.Namespaces, n => n.Name == "new-ns" && !n.IsDeclared);
        Assert.Equal(["s1", "s2"], elsewhere.GetSecretsIn("a").Select(s => s.Name));
    }
}
