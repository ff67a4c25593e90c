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
    private readonly Lazy<Dictionary<string, List<SecretObject>>> _secretsByLabel;
    private readonly ImmutableArray<SecretObject> _secrets;

    // A snapshot made by With from a few Secret changes shares everything with its root and keeps, per changed namespace,
    // that namespace's new sorted Secrets: one change costs O(log m + k) (m changed namespaces, k Secrets in the namespace).
    private readonly ClusterSnapshot? _root;
    private readonly ImmutableDictionary<string, ImmutableArray<SecretObject>>? _overlay;
    private readonly Lazy<ImmutableArray<SecretObject>>? _overlaySecrets;
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

        _secrets = Sorted(secrets);
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
        for (int i = 0; i < _secrets.Length; i++)
        {
            SecretObject s = _secrets[i];
            ref (int Start, int Count) range = ref CollectionsMarshal.GetValueRefOrAddDefault(_secretsByNamespace, s.Namespace!, out bool exists);
            range = exists ? (range.Start, range.Count + 1) : (i, 1);
        }

        ImmutableArray<SecretObject> all = _secrets;
        _secretsByLabel = new(() => LabelIndex(all));
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

    /// <summary>A snapshot that is <paramref name="root"/> with the Secrets of some namespaces replaced.</summary>
    private ClusterSnapshot(ClusterSnapshot root, ImmutableDictionary<string, ImmutableArray<SecretObject>> overlay)
    {
        _root = root;
        _overlay = overlay;
        _secrets = root._secrets;
        _secretsByNamespace = root._secretsByNamespace;
        _overlaySecrets = new(MergeOverlay);
        _secretsByLabel = new(() => LabelIndex(Secrets));
        _secretsByName = new(() => Secrets.GroupBy(s => s.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToImmutableArray(), StringComparer.Ordinal));
        _namespaces = root._namespaces;
        _serviceAccounts = root._serviceAccounts;
        _locations = root._locations;
        Namespaces = root.Namespaces;
        ServiceAccounts = root.ServiceAccounts;
        ConfigMaps = root.ConfigMaps;
        Functions = root.Functions;
        Workloads = root.Workloads;
        Diagnostics = root.Diagnostics;
        Refused = root.Refused;
    }

    private static Dictionary<string, List<SecretObject>> LabelIndex(ImmutableArray<SecretObject> secrets)
    {
        var index = new Dictionary<string, List<SecretObject>>(StringComparer.Ordinal);
        foreach (SecretObject s in secrets)
        {
            foreach (var (key, _) in s.Metadata.Labels)
            {
                ref List<SecretObject>? list = ref CollectionsMarshal.GetValueRefOrAddDefault(index, key, out _);
                (list ??= []).Add(s);
            }
        }

        return index;
    }

    /// <summary>Every Secret of an overlay snapshot, sorted: the root's namespaces, each replaced by the overlay's where it has one.</summary>
    private ImmutableArray<SecretObject> MergeOverlay()
    {
        ClusterSnapshot root = _root!;
        var namespaces = new SortedSet<string>(root._secretsByNamespace.Keys, StringComparer.Ordinal);
        namespaces.UnionWith(_overlay!.Keys);
        var merged = new List<SecretObject>(root._secrets.Length);
        foreach (string ns in namespaces)
        {
            merged.AddRange(_overlay.TryGetValue(ns, out ImmutableArray<SecretObject> changed)
                ? changed
                : root._secrets.AsSpan(root._secretsByNamespace[ns].Start, root._secretsByNamespace[ns].Count).ToArray());
        }

        return [.. merged];
    }

    /// <summary>A namespace's Secrets, sorted by name, without copying.</summary>
    private ImmutableArray<SecretObject> NamespaceSecrets(string @namespace)
    {
        if (_overlay is not null && _overlay.TryGetValue(@namespace, out ImmutableArray<SecretObject> changed))
        {
            return changed;
        }

        ClusterSnapshot root = _root ?? this;
        return root._secretsByNamespace.TryGetValue(@namespace, out var range) ? root._secrets.Slice(range.Start, range.Count) : [];
    }

    /// <summary>A namespace's Secrets, sorted by name, as a span into the shared arrays (no copy: the evaluation's inner loops).</summary>
    private ReadOnlySpan<SecretObject> NamespaceSpan(string @namespace)
    {
        if (_overlay is not null && _overlay.TryGetValue(@namespace, out ImmutableArray<SecretObject> changed))
        {
            return changed.AsSpan();
        }

        ClusterSnapshot root = _root ?? this;
        return root._secretsByNamespace.TryGetValue(@namespace, out var range) ? root._secrets.AsSpan(range.Start, range.Count) : [];
    }

    /// <summary>A snapshot with nothing in it.</summary>
    public static ClusterSnapshot Empty { get; } = new([], static () => [], []);

    /// <summary>Every Secret, sorted by namespace and name.</summary>
    public ImmutableArray<SecretObject> Secrets => _overlaySecrets?.Value ?? _secrets;

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
    /// <remarks>
    /// A few changes to Secrets in namespaces the snapshot already has (a controller's watch events) make a snapshot that
    /// shares everything with this one but the changed namespaces' Secret lists: O(log m + k) for each change, with m the
    /// namespaces changed since the last rebuild and k the Secrets of the namespace). Anything else (other kinds, a new
    /// namespace, a delete in an inferred namespace, more than 64 changes at once) rebuilds, in O(n log n). Both give the same snapshot as
    /// <see cref="Create(IEnumerable{KubeObject})"/> of the resulting objects.
    /// </remarks>
    public ClusterSnapshot With(IEnumerable<KubeObject> upserts, IEnumerable<ObjectReference>? deletes = null)
    {
        ArgumentNullException.ThrowIfNull(upserts);
        IReadOnlyList<KubeObject> ups = upserts as IReadOnlyList<KubeObject> ?? [.. upserts];
        IReadOnlyList<ObjectReference> dels = deletes as IReadOnlyList<ObjectReference> ?? [.. deletes ?? []];
        if (TryWithSecrets(ups, dels) is { } fast)
        {
            return fast;
        }

        var map = new Dictionary<ObjectReference, KubeObject>();
        var order = new List<ObjectReference>();
        foreach (KubeObject o in Objects)
        {
            map[o.Reference] = o;
            order.Add(o.Reference);
        }

        foreach (KubeObject o in ups)
        {
            if (!map.ContainsKey(o.Reference))
            {
                order.Add(o.Reference);
            }

            map[o.Reference] = o;
        }

        foreach (ObjectReference d in dels)
        {
            map.Remove(d);
        }

        var objects = order.Where(map.ContainsKey).Select(r => map[r]).ToList();
        Lazy<Dictionary<ObjectReference, SourceLocation>> previous = _locations;
        return new ClusterSnapshot(objects, () => previous.Value.Where(l => map.ContainsKey(l.Key)).ToDictionary(l => l.Key, l => l.Value), Diagnostics);
    }

    /// <summary>The overlay path of <see cref="With"/>, or <see langword="null"/> when the changes need a rebuild.</summary>
    private ClusterSnapshot? TryWithSecrets(IReadOnlyList<KubeObject> upserts, IReadOnlyList<ObjectReference> deletes)
    {
        // The overlay holds at most one entry per namespace, so it never outgrows the snapshot.
        if (upserts.Count + deletes.Count is 0 or > 64)
        {
            return null;
        }

        foreach (KubeObject o in upserts)
        {
            // Upserts into a namespace the snapshot has (declared or inferred) keep the namespace list as it is.
            if (o is not SecretObject { Namespace: { } ns } || !_namespaces.ContainsKey(ns))
            {
                return null;
            }
        }

        foreach (ObjectReference d in deletes)
        {
            // A delete in an inferred namespace may remove its last object, and with it the namespace: rebuild.
            if (d.Kind != "Secret" || d.Namespace is not { } ns || !(_namespaces.TryGetValue(ns, out NamespaceObject? declared) && declared.IsDeclared))
            {
                return null;
            }
        }

        ImmutableDictionary<string, ImmutableArray<SecretObject>> overlay = _overlay ?? ImmutableDictionary.Create<string, ImmutableArray<SecretObject>>(StringComparer.Ordinal);
        ClusterSnapshot root = _root ?? this;
        ImmutableArray<SecretObject> Current(string ns) => overlay.TryGetValue(ns, out ImmutableArray<SecretObject> changed) ? changed
            : root._secretsByNamespace.TryGetValue(ns, out var range) ? root._secrets.Slice(range.Start, range.Count) : [];
        foreach (KubeObject o in upserts)
        {
            var secret = (SecretObject)o;
            ImmutableArray<SecretObject> list = Current(secret.Namespace!);
            int at = IndexOf(list.AsSpan(), secret.Name);
            overlay = overlay.SetItem(secret.Namespace!, at >= 0 ? list.SetItem(at, secret) : list.Insert(~at, secret));
        }

        foreach (ObjectReference d in deletes)
        {
            ImmutableArray<SecretObject> list = Current(d.Namespace!);
            int at = IndexOf(list.AsSpan(), d.Name);
            if (at >= 0)
            {
                overlay = overlay.SetItem(d.Namespace!, list.RemoveAt(at));
            }
        }

        return new ClusterSnapshot(root, overlay);
    }

    /// <summary>Binary search by name in a namespace's sorted Secrets: the index, or the complement of where it would go.</summary>
    private static int IndexOf(ReadOnlySpan<SecretObject> slice, string name)
    {
        int low = 0, high = slice.Length - 1;
        while (low <= high)
        {
            int mid = (low + high) >>> 1;
            int c = string.CompareOrdinal(slice[mid].Name, name);
            if (c == 0)
            {
                return mid;
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

        return ~low;
    }

    /// <summary>Finds a Secret.</summary>
    /// <param name="namespace">Its namespace.</param>
    /// <param name="name">Its name.</param>
    /// <returns>The Secret, or <see langword="null"/>.</returns>
    public SecretObject? GetSecret(string @namespace, string name)
    {
        // The namespace's Secrets are sorted by name: a binary search (objects are unique by then).
        ReadOnlySpan<SecretObject> slice = NamespaceSpan(@namespace);
        int at = IndexOf(slice, name);
        return at >= 0 ? slice[at] : null;
    }

    /// <summary>Every Secret with this name, in any namespace, sorted by namespace.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The Secrets.</returns>
    public ImmutableArray<SecretObject> GetSecretsNamed(string name) => _secretsByName.Value.GetValueOrDefault(name, []);

    /// <summary>Every Secret in a namespace, sorted by name.</summary>
    /// <param name="namespace">The namespace.</param>
    /// <returns>The Secrets.</returns>
    public ImmutableArray<SecretObject> GetSecretsIn(string @namespace) => NamespaceSecrets(@namespace);

    /// <summary>As <see cref="GetSecretsIn"/>, without copying (for the evaluation's inner loops).</summary>
    internal ReadOnlySpan<SecretObject> SecretsIn(string @namespace) => NamespaceSpan(@namespace);

    /// <summary>Every Secret that carries a label with this key (any value), sorted by namespace and name.</summary>
    /// <param name="labelKey">The label key.</param>
    /// <returns>The Secrets.</returns>
    public IReadOnlyList<SecretObject> GetSecretsWithLabel(string labelKey) =>
        _secretsByLabel.Value.TryGetValue(labelKey, out List<SecretObject>? list) ? list : [];

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
    public SourceLocation? LocationOf(ObjectReference reference)
    {
        if (_overlay is not null && reference.Kind == "Secret" && reference.Namespace is { } ns && _overlay.ContainsKey(ns) && GetSecret(ns, reference.Name) is null)
        {
            return null; // removed by a change since the root was read
        }

        return _locations.Value.TryGetValue(reference, out var l) ? l : null;
    }

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
