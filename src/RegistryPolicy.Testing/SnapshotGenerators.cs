using System.Collections.Immutable;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Testing;

/// <summary>
/// FsCheck generators for snapshots and their parts. Every generator is pure and shrinks towards fewer objects, fewer
/// labels and fewer keys, so a failing property reports a small snapshot.
/// Stateless: safe to call from any thread.
/// </summary>
public static class SnapshotGenerators
{
    /// <summary>A subset of <paramref name="pool"/>, in pool order.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="pool">The pool.</param>
    /// <returns>The generator.</returns>
    public static Gen<ImmutableArray<T>> SubsetOf<T>(ImmutableArray<T> pool) =>
        Gen.ArrayOf(Gen.Elements(true, false), pool.Length).Select(picks => pool.Where((_, i) => picks[i]).ToImmutableArray());

    /// <summary>A label set drawn from <paramref name="pool"/>.</summary>
    /// <param name="pool">The labels.</param>
    /// <returns>The generator.</returns>
    public static Gen<StringMap> Labels(ImmutableArray<KeyValuePair<string, string>> pool) =>
        SubsetOf(pool).Select(labels => StringMap.Create(labels));

    /// <summary>Secret data: a subset of the shape's keys, each with one of its values.</summary>
    /// <param name="shape">The vocabulary.</param>
    /// <returns>The generator.</returns>
    public static Gen<SecretData> Data(SnapshotShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return from keys in SubsetOf(shape.DataKeys)
               from values in Gen.ArrayOf(Gen.Elements(shape.DataValues.ToArray()), keys.Length)
               select SecretData.Create(keys.Select((k, i) => new KeyValuePair<string, byte[]>(k, Encoding.UTF8.GetBytes(values[i]))));
    }

    /// <summary>A Secret in one of the shape's namespaces.</summary>
    /// <param name="shape">The vocabulary.</param>
    /// <returns>The generator.</returns>
    public static Gen<SecretObject> Secret(SnapshotShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        Gen<ImmutableArray<string>> finalizers = shape.Finalizers.IsEmpty ? Gen.Constant(ImmutableArray<string>.Empty) : SubsetOf(shape.Finalizers);
        Gen<string?> deletion = shape.IncludeDeletion
            ? Gen.Frequency((6, Gen.Constant<string?>(null)), (1, Gen.Constant<string?>("2026-01-01T00:00:00Z")))
            : Gen.Constant<string?>(null);
        return from ns in Gen.Elements(shape.Namespaces.ToArray())
               from name in Gen.Elements(shape.SecretNames.ToArray())
               from labels in Labels(shape.SecretLabels)
               from type in Gen.Elements(shape.SecretTypes.ToArray())
               from data in Data(shape)
               from fin in finalizers
               from deleting in deletion
               select new SecretObject(
                   new ObjectMetadata(name, ns)
                   {
                       Labels = labels,
                       Finalizers = fin,
                       // A deletion timestamp without finalizers cannot be observed: the API server removes the object at once.
                       DeletionTimestamp = fin.IsEmpty ? null : deleting,
                   },
                   type,
                   data);
    }

    /// <summary>A Namespace from the shape, possibly terminating.</summary>
    /// <param name="shape">The vocabulary.</param>
    /// <param name="name">The namespace's name.</param>
    /// <returns>The generator.</returns>
    public static Gen<NamespaceObject> Namespace(SnapshotShape shape, string name)
    {
        ArgumentNullException.ThrowIfNull(shape);
        Gen<string> phase = shape.IncludeDeletion ? Gen.Frequency((5, Gen.Constant("Active")), (1, Gen.Constant("Terminating"))) : Gen.Constant("Active");
        return from labels in Labels(shape.NamespaceLabels)
               from p in phase
               select new NamespaceObject(new ObjectMetadata(name, null) { Labels = labels }, p);
    }

    /// <summary>A ServiceAccount listing some of the shape's Secret names as pull secrets, in any order.</summary>
    /// <param name="shape">The vocabulary.</param>
    /// <param name="ns">The namespace.</param>
    /// <param name="name">The ServiceAccount's name.</param>
    /// <returns>The generator.</returns>
    public static Gen<ServiceAccountObject> ServiceAccount(SnapshotShape shape, string ns, string name)
    {
        ArgumentNullException.ThrowIfNull(shape);
        // Without pull secrets a third of the time: a subset of a large vocabulary is almost never empty.
        Gen<ImmutableArray<string>> listed = Gen.Frequency((1, Gen.Constant(ImmutableArray<string>.Empty)), (2, SubsetOf(shape.SecretNames)));
        return from names in listed
               from ordered in Shuffle(names)
               select new ServiceAccountObject(new ObjectMetadata(name, ns), new ValueArray<string>(ordered));
    }

    /// <summary>
    /// The objects of a snapshot: a subset of the shape's Namespaces, up to <see cref="SnapshotShape.MaxSecrets"/> Secrets, and
    /// (when the shape names ServiceAccounts) ServiceAccounts in some namespaces.
    /// </summary>
    /// <param name="shape">The vocabulary.</param>
    /// <returns>The generator.</returns>
    public static Gen<ImmutableArray<KubeObject>> Objects(SnapshotShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        Gen<ImmutableArray<KubeObject>> namespaces = SubsetOf(shape.Namespaces)
            .SelectMany(names => Gen.CollectToSequence(names, n => Namespace(shape, n)))
            .Select(ns => ns.Cast<KubeObject>().ToImmutableArray());
        Gen<ImmutableArray<KubeObject>> secrets = Gen.Choose(0, shape.MaxSecrets)
            .SelectMany(n => Gen.ArrayOf(Secret(shape), n))
            .Select(s => s.Cast<KubeObject>().ToImmutableArray());
        ImmutableArray<(string Ns, string Name)> accountSlots = [.. shape.Namespaces.SelectMany(ns => shape.ServiceAccountNames.Select(a => (ns, a)))];
        Gen<ImmutableArray<KubeObject>> accounts = SubsetOf(accountSlots)
            .SelectMany(slots => Gen.CollectToSequence(slots, slot => ServiceAccount(shape, slot.Ns, slot.Name)))
            .Select(a => a.Cast<KubeObject>().ToImmutableArray());
        return from n in namespaces
               from s in secrets
               from a in accounts
               select n.AddRange(s).AddRange(a);
    }

    /// <summary>A snapshot drawn from the shape.</summary>
    /// <param name="shape">The vocabulary.</param>
    /// <returns>The generator.</returns>
    public static Gen<ClusterSnapshot> Snapshot(SnapshotShape shape) => Objects(shape).Select(objects => ClusterSnapshot.Create(objects));

    /// <summary>An arbitrary (generator and shrinker) of snapshot objects, for <c>Prop.ForAll</c>.</summary>
    /// <param name="shape">The vocabulary.</param>
    /// <returns>The arbitrary; shrinking removes objects.</returns>
    public static Arbitrary<ImmutableArray<KubeObject>> ObjectsArbitrary(SnapshotShape shape) =>
        Arb.From(Objects(shape), objects => Enumerable.Range(0, objects.Length).Select(objects.RemoveAt));

    /// <summary>A permutation of <paramref name="items"/>.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="items">The items.</param>
    /// <returns>The generator.</returns>
    public static Gen<ImmutableArray<T>> Shuffle<T>(ImmutableArray<T> items) =>
        Gen.ArrayOf(Gen.Choose(0, int.MaxValue), items.Length).Select(keys => items.Select((x, i) => (x, k: keys[i])).OrderBy(p => p.k).Select(p => p.x).ToImmutableArray());
}
