using System.Collections.Immutable;
using System.Runtime.InteropServices;
using RegistryPolicy.Diagnostics;

namespace RegistryPolicy.Snapshots;

/// <summary>
/// An immutable, indexed set of Kubernetes objects: Secrets, Namespaces, ServiceAccounts, ConfigMaps, Kyma Functions, Pods
/// and workloads. Every list is sorted (namespace, then name, ordinal), so that everything computed from a snapshot is
/// independent of the order the objects were read in. Namespaces come from Namespace objects and, for namespaces that
/// objects live in but no Namespace object declares, are inferred (<see cref="NamespaceObject.IsDeclared"/> is false).
/// Immutable and thread-safe.
/// </summary>
public sealed class ClusterSnapshot
{
    private readonly Lazy<Dictionary<string, ImmutableArray<SecretObject>>> _secretsByName;
    private readonly Dictionary<string, (int Start, int Count)> _secretsByNamespace;
    private readonly Dictionary<string, List<SecretObject>> _secretsByLabel = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NamespaceObject> _namespaces;
    private readonly Dictionary<(string Namespace, string Name), ServiceAccountObject> _serviceAccounts;
    private readonly Lazy<Dictionary<ObjectReference, SourceLocation>> _locations;

    private ClusterSnapshot(List<KubeObject> objects, Func<Dictionary<ObjectReference, SourceLocation>> locations, ImmutableArray<Diagnostic> diagnostics,
        IEnumerable<string>? otherNamespaces = null)
    {
        _locations = new(locations);
        Diagnostics = diagnostics;
        var secrets = new List<SecretObject>();
        var namespaces = new List<NamespaceObject>();
        var accounts = new List<ServiceAccountObject>();
        var configMaps = new List<ConfigMapObject>();
        var functions = new List<FunctionObject>();
        var workloads = new List<WorkloadObject>();
        foreach (KubeObject o in objects)
        {
            switch (o)
            {
                case SecretObject s: secrets.Add(s); break;
                case NamespaceObject n: namespaces.Add(n); break;
                case ServiceAccountObject a: accounts.Add(a); break;
                case ConfigMapObject c: configMaps.Add(c); break;
                case FunctionObject f: functions.Add(f); break;
                case WorkloadObject w: workloads.Add(w); break;
            }
        }

        Secrets = Sorted(secrets);
        ServiceAccounts = Sorted(accounts);
        ConfigMaps = Sorted(configMaps);
        Functions = Sorted(functions);
        WorkloadObject[] sortedWorkloads = [.. workloads];
        Array.Sort(sortedWorkloads, static (a, b) =>
        {
            int c = string.CompareOrdinal(a.Namespace, b.Namespace);
            c = c != 0 ? c : string.CompareOrdinal(a.Kind, b.Kind);
            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });
        Workloads = ImmutableCollectionsMarshal.AsImmutableArray(sortedWorkloads);

        _secretsByNamespace = new(StringComparer.Ordinal);
        for (int i = 0; i < Secrets.Length; i++)
        {
            SecretObject s = Secrets[i];
            ref (int Start, int Count) range = ref CollectionsMarshal.GetValueRefOrAddDefault(_secretsByNamespace, s.Namespace!, out bool exists);
            range = exists ? (range.Start, range.Count + 1) : (i, 1);
            foreach (var (key, _) in s.Metadata.Labels)
            {
                ref List<SecretObject>? list = ref CollectionsMarshal.GetValueRefOrAddDefault(_secretsByLabel, key, out _);
                (list ??= []).Add(s);
            }
        }

        ImmutableArray<SecretObject> all = Secrets;
        _secretsByName = new(() => all.GroupBy(s => s.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToImmutableArray(), StringComparer.Ordinal));
        _serviceAccounts = ServiceAccounts.ToDictionary(a => (a.Namespace!, a.Name));

        _namespaces = new(StringComparer.Ordinal);
        foreach (NamespaceObject n in namespaces)
        {
            _namespaces[n.Name] = n;
        }

        foreach (string ns in objects.Select(o => o.Namespace).OfType<string>().Concat(otherNamespaces ?? []))
        {
            if (!_namespaces.ContainsKey(ns))
            {
                _namespaces[ns] = NamespaceObject.Named(ns) with { IsDeclared = false };
            }
        }

        Namespaces = [.. _namespaces.Values.OrderBy(n => n.Name, StringComparer.Ordinal)];
    }

    /// <summary>A snapshot with nothing in it.</summary>
    public static ClusterSnapshot Empty { get; } = new([], static () => [], []);

    /// <summary>Every Secret, sorted by namespace and name.</summary>
    public ImmutableArray<SecretObject> Secrets { get; }

    /// <summary>Every Namespace, declared or inferred, sorted by name.</summary>
    public ImmutableArray<NamespaceObject> Namespaces { get; }

    /// <summary>Every ServiceAccount, sorted.</summary>
    public ImmutableArray<ServiceAccountObject> ServiceAccounts { get; }

    /// <summary>Every ConfigMap, sorted.</summary>
    public ImmutableArray<ConfigMapObject> ConfigMaps { get; }

    /// <summary>Every Kyma Function, sorted.</summary>
    public ImmutableArray<FunctionObject> Functions { get; }

    /// <summary>Every Pod and workload, sorted by namespace, kind and name.</summary>
    public ImmutableArray<WorkloadObject> Workloads { get; }

    /// <summary>What was found while reading the sources and building the snapshot (duplicates, for example).</summary>
    public ImmutableArray<Diagnostic> Diagnostics { get; }

    /// <summary>
    /// Objects of the sources that the API server would refuse to store (an invalid name, a label value that is not a
    /// string, data that is not base64, a pull secret without its key): they are not in the snapshot, because they
    /// cannot exist in a cluster. Each with where it was read and the first reason.
    /// </summary>
    public ImmutableArray<RefusedObject> Refused { get; private set; } = [];

    /// <summary>Every object, in a stable order.</summary>
    public IEnumerable<KubeObject> Objects =>
        Namespaces.Where(n => n.IsDeclared).Cast<KubeObject>().Concat(Secrets).Concat(ServiceAccounts).Concat(ConfigMaps).Concat(Functions).Concat(Workloads);

    /// <summary>Builds a snapshot from what was read. A later object with the same kind, namespace and name replaces an earlier one, with a warning naming both places.</summary>
    /// <param name="sources">The sources, in order.</param>
    /// <returns>The snapshot.</returns>
    public static ClusterSnapshot Create(params IEnumerable<SnapshotSource> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var diagnostics = new List<Diagnostic>();
        var located = new List<LocatedObject>();
        var other = new List<string>();
        var refused = new List<RefusedObject>();
        foreach (SnapshotSource source in sources)
        {
            diagnostics.AddRange(source.Diagnostics);
            located.AddRange(source.Objects);
            other.AddRange(source.OtherNamespaces);
            refused.AddRange(source.Refused);
        }

        ClusterSnapshot snapshot = Build(located, diagnostics, other);
        snapshot.Refused = [.. refused]; // set once, before anyone else sees the snapshot
        return snapshot;
    }

    /// <summary>Builds a snapshot from objects (for example from KubernetesClient models, or in tests).</summary>
    /// <param name="objects">The objects; a later duplicate replaces an earlier one, with a warning.</param>
    /// <returns>The snapshot.</returns>
    public static ClusterSnapshot Create(params IEnumerable<KubeObject> objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        return Build([.. objects.Select(o => new LocatedObject(o, default))], [], []);
    }

    private static ClusterSnapshot Build(List<LocatedObject> located, List<Diagnostic> diagnostics, List<string> otherNamespaces)
    {
        var byReference = new Dictionary<ObjectReference, (int Index, SourceLocation First)>(located.Count);
        var objects = new List<KubeObject>(located.Count);
        foreach (LocatedObject item in located)
        {
            ObjectReference reference = item.Item.Reference;
            if (byReference.TryGetValue(reference, out var seen))
            {
                int index = seen.Index;
                SourceLocation? first = seen.First.Source is not null ? seen.First : null;
                diagnostics.Add(new Diagnostic("duplicate-object", DiagnosticSeverity.Warning,
                    $"the snapshot holds this object twice (first at {(first is { } f ? f.ToString() : "an earlier object")}); the later one is used, as 'kubectl apply' of both files in order would leave it")
                {
                    Subject = reference,
                    Location = item.Location.Source is null ? null : item.Location,
                });
                objects[index] = item.Item;
            }
            else
            {
                byReference[reference] = (objects.Count, item.Location);
                objects.Add(item.Item);
            }
        }

        // Where each object was read is needed only for diagnostics: indexed on first use.
        return new ClusterSnapshot(objects, () =>
        {
            var locations = new Dictionary<ObjectReference, SourceLocation>(located.Count);
            foreach (LocatedObject item in located)
            {
                if (item.Location.Source is not null)
                {
                    locations[item.Item.Reference] = item.Location;
                }
            }

            return locations;
        }, [.. diagnostics], otherNamespaces);
    }

    /// <summary>Returns a snapshot with <paramref name="upserts"/> added or replacing same-named objects, and <paramref name="deletes"/> removed.</summary>
    /// <param name="upserts">Objects to add or replace.</param>
    /// <param name="deletes">Objects to remove.</param>
    /// <returns>The new snapshot; this one is unchanged.</returns>
    public ClusterSnapshot With(IEnumerable<KubeObject> upserts, IEnumerable<ObjectReference>? deletes = null)
    {
        ArgumentNullException.ThrowIfNull(upserts);
        var map = new Dictionary<ObjectReference, KubeObject>();
        var order = new List<ObjectReference>();
        foreach (KubeObject o in Objects)
        {
            map[o.Reference] = o;
            order.Add(o.Reference);
        }

        foreach (KubeObject o in upserts)
        {
            if (!map.ContainsKey(o.Reference))
            {
                order.Add(o.Reference);
            }

            map[o.Reference] = o;
        }

        foreach (ObjectReference d in deletes ?? [])
        {
            map.Remove(d);
        }

        var objects = order.Where(map.ContainsKey).Select(r => map[r]).ToList();
        Lazy<Dictionary<ObjectReference, SourceLocation>> previous = _locations;
        return new ClusterSnapshot(objects, () => previous.Value.Where(l => map.ContainsKey(l.Key)).ToDictionary(l => l.Key, l => l.Value), Diagnostics);
    }

    /// <summary>Finds a Secret.</summary>
    /// <param name="namespace">Its namespace.</param>
    /// <param name="name">Its name.</param>
    /// <returns>The Secret, or <see langword="null"/>.</returns>
    public SecretObject? GetSecret(string @namespace, string name)
    {
        // The namespace's Secrets are a slice of the sorted array: a binary search by name (objects are unique by then).
        if (!_secretsByNamespace.TryGetValue(@namespace, out var range))
        {
            return null;
        }

        ReadOnlySpan<SecretObject> slice = Secrets.AsSpan(range.Start, range.Count);
        int low = 0, high = slice.Length - 1;
        while (low <= high)
        {
            int mid = (low + high) >>> 1;
            int c = string.CompareOrdinal(slice[mid].Name, name);
            if (c == 0)
            {
                return slice[mid];
            }

            if (c < 0)
            {
                low = mid + 1;
            }
            else
            {
                high = mid - 1;
            }
        }

        return null;
    }

    /// <summary>Every Secret with this name, in any namespace, sorted by namespace.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The Secrets.</returns>
    public ImmutableArray<SecretObject> GetSecretsNamed(string name) => _secretsByName.Value.GetValueOrDefault(name, []);

    /// <summary>Every Secret in a namespace, sorted by name.</summary>
    /// <param name="namespace">The namespace.</param>
    /// <returns>The Secrets.</returns>
    public ImmutableArray<SecretObject> GetSecretsIn(string @namespace) =>
        _secretsByNamespace.TryGetValue(@namespace, out var range) ? Secrets.Slice(range.Start, range.Count) : [];

    /// <summary>As <see cref="GetSecretsIn"/>, without copying (for the evaluation's inner loops).</summary>
    internal ReadOnlySpan<SecretObject> SecretsIn(string @namespace) =>
        _secretsByNamespace.TryGetValue(@namespace, out var range) ? Secrets.AsSpan(range.Start, range.Count) : [];

    /// <summary>Every Secret that carries a label with this key (any value), sorted by namespace and name.</summary>
    /// <param name="labelKey">The label key.</param>
    /// <returns>The Secrets.</returns>
    public IReadOnlyList<SecretObject> GetSecretsWithLabel(string labelKey) =>
        _secretsByLabel.TryGetValue(labelKey, out List<SecretObject>? list) ? list : [];

    /// <summary>Finds a Namespace (declared or inferred).</summary>
    /// <param name="name">Its name.</param>
    /// <returns>The Namespace, or <see langword="null"/>.</returns>
    public NamespaceObject? GetNamespace(string name) => _namespaces.GetValueOrDefault(name);

    /// <summary>Finds a ServiceAccount.</summary>
    /// <param name="namespace">Its namespace.</param>
    /// <param name="name">Its name.</param>
    /// <returns>The ServiceAccount, or <see langword="null"/>.</returns>
    public ServiceAccountObject? GetServiceAccount(string @namespace, string name) => _serviceAccounts.GetValueOrDefault((@namespace, name));

    /// <summary>Where an object was read from, when it was read from a source.</summary>
    /// <param name="reference">The object.</param>
    /// <returns>Its location, or <see langword="null"/>.</returns>
    public SourceLocation? LocationOf(ObjectReference reference) => _locations.Value.TryGetValue(reference, out var l) ? l : null;

    private static ImmutableArray<T> Sorted<T>(List<T> items)
        where T : KubeObject
    {
        T[] array = [.. items];
        Array.Sort(array, static (a, b) =>
        {
            int c = string.CompareOrdinal(a.Metadata.Namespace, b.Metadata.Namespace);
            return c != 0 ? c : string.CompareOrdinal(a.Metadata.Name, b.Metadata.Name);
        });
        return ImmutableCollectionsMarshal.AsImmutableArray(array);
    }
}
