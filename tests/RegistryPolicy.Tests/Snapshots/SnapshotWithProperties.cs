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
/// <see cref="ClusterSnapshot.With"/>, through its overlay path (a few Secret, ServiceAccount and Namespace changes) and its rebuild path alike, gives
/// the snapshot <see cref="ClusterSnapshot.Create(IEnumerable{KubeObject})"/> gives for the resulting objects, and leaves
/// the snapshot it was called on unchanged.
/// </summary>
public sealed class SnapshotWithProperties
{
    // ServiceAccounts too, so that every kind the overlay takes is changed.
    private static readonly SnapshotShape Shape = SnapshotShape.KymaServerless with
    {
        Namespaces = [.. SnapshotShape.KymaServerless.Namespaces, "openfaas-fn"],
        ServiceAccountNames = ["default", "builder"],
    };

    // A policy with ServiceAccount links, so that the plan reads the ServiceAccounts.
    private static readonly CompiledPolicy Linking = PolicyPresets.TryGet("openfaas", out CompiledPolicy? p) ? p : throw new InvalidOperationException();

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

        // Every key and name of the vocabulary, so that one the changes removed is asked for too.
        foreach (string key in s.Secrets.SelectMany(x => x.Metadata.Labels.Keys).Concat(Shape.SecretLabels.Select(l => l.Key)).Distinct().Order(StringComparer.Ordinal))
        {
            parts.Add($"label {key}: " + string.Join(", ", s.GetSecretsWithLabel(key).Select(x => x.Reference.ToString())));
        }

        foreach (string name in s.Secrets.Select(x => x.Name).Concat(Shape.SecretNames).Distinct().Order(StringComparer.Ordinal))
        {
            parts.Add($"named {name}: " + string.Join(", ", s.GetSecretsNamed(name).Select(x => x.Reference.ToString())));
        }

        foreach (SecretObject x in s.Secrets)
        {
            parts.Add($"get {x.Reference}: {ReferenceEquals(s.GetSecret(x.Namespace!, x.Name), x)}");
        }

        // Lookups of every name the shape can produce, present or not.
        foreach (string ns in Shape.Namespaces)
        {
            parts.Add($"namespace {ns}: {(s.GetNamespace(ns) is { } n ? $"{n.IsDeclared} {n.Phase} {string.Join(",", n.Metadata.Labels)}" : "none")}");
            foreach (string a in Shape.ServiceAccountNames)
            {
                parts.Add($"account {ns}/{a}: {(s.GetServiceAccount(ns, a) is { } sa ? string.Join(",", sa.ImagePullSecrets) : "none")}");
            }
        }

        foreach (CompiledPolicy policy in new[] { PolicyPresets.Default, Linking })
        {
            PropagationPlan plan = PolicyEngine.Plan(policy, s);
            parts.Add("plan: " + string.Join("; ", plan.Actions) + " | " + string.Join("; ", plan.ServiceAccountPatches.Select(p => p.ToJson())));
        }

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
    public void A_secret_change_shares_the_rest_and_a_secret_in_a_new_namespace_makes_it_inferred()
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

        ClusterSnapshot gone = elsewhere.With([], [new ObjectReference("Secret", "new-ns", "s")]);
        Assert.Null(gone.GetNamespace("new-ns"));
        Assert.NotNull(elsewhere.GetNamespace("new-ns"));
    }

    [Fact]
    public void Deleting_a_namespace_object_leaves_it_inferred_while_objects_live_in_it()
    {
        var snapshot = ClusterSnapshot.Create(
            NamespaceObject.Named("a"), NamespaceObject.Named("b"),
            new SecretObject(new ObjectMetadata("s1", "a"), "Opaque", SecretData.Empty),
            new ServiceAccountObject(new ObjectMetadata("default", "a"), []));

        ClusterSnapshot next = snapshot.With([], [new ObjectReference("Namespace", null, "a"), new ObjectReference("Namespace", null, "b")]);

        Assert.Equal(["a"], next.Namespaces.Select(n => n.Name));
        Assert.False(next.GetNamespace("a")!.IsDeclared);
        Assert.Null(next.GetNamespace("b"));
        Assert.DoesNotContain(next.Objects, o => o is NamespaceObject);

        ClusterSnapshot emptied = next.With([], [new ObjectReference("Secret", "a", "s1")]);
        Assert.NotNull(emptied.GetNamespace("a")); // its ServiceAccount is still there
        Assert.Null(emptied.With([], [new ObjectReference("ServiceAccount", "a", "default")]).GetNamespace("a"));
    }
}
