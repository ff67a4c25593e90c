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
    private readonly Dictionary<string, (int Start, int Count)> _accountsByNamespace;
    private readonly Lazy<Dictionary<string, List<SecretObject>>> _secretsByLabel;
    private readonly ImmutableArray<SecretObject> _secrets;
    private readonly ImmutableArray<ServiceAccountObject> _accounts;
    private readonly ImmutableArray<NamespaceObject> _namespaceList;

    // A snapshot made by With from a few changes to Secrets, ServiceAccounts and Namespaces shares everything with its
    // root and keeps, per changed namespace, that namespace's new sorted Secrets and ServiceAccounts and its new Namespace
    // (null: gone): one change costs O(log m + k) (m namespaces changed since the root, k objects of its kind there).
    private readonly ClusterSnapshot? _root;
    private readonly Overlay? _overlay;
    private readonly Lazy<ImmutableArray<SecretObject>>? _overlaySecrets;
    private readonly Lazy<ImmutableArray<ServiceAccountObject>>? _overlayAccounts;
    private readonly Lazy<ImmutableArray<NamespaceObject>>? _overlayNamespaces;
    private readonly Lazy<string[]>? _overlaySecretNamespaces, _overlayAccountNamespaces;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyList<SecretObject>>? _overlayByLabel;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ImmutableArray<SecretObject>>? _overlayByName;
    private readonly Dictionary<string, NamespaceObject> _namespaces;
    private readonly Dictionary<(string Namespace, string Name), ServiceAccountObject> _serviceAccounts;

    // Namespaces that objects of kinds With never overlays (ConfigMaps, Functions, workloads) or the sources' filtered
    // objects live in: they stay (inferred) when their Namespace object is deleted.
    private readonly HashSet<string> _otherKindNamespaces;
    private readonly ImmutableArray<string> _otherNamespaces;
    private readonly Lazy<Dictionary<ObjectReference, SourceLocation>> _locations;

    private sealed record Overlay(
        ImmutableDictionary<string, ImmutableArray<SecretObject>> Secrets,
        ImmutableDictionary<string, ImmutableArray<ServiceAccountObject>> Accounts,
        ImmutableDictionary<string, NamespaceObject?> Namespaces)
    {
        public static readonly Overlay Empty = new(
            ImmutableDictionary.Create<string, ImmutableArray<SecretObject>>(StringComparer.Ordinal),
            ImmutableDictionary.Create<string, ImmutableArray<ServiceAccountObject>>(StringComparer.Ordinal),
            ImmutableDictionary.Create<string, NamespaceObject?>(StringComparer.Ordinal));
    }

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
        _accounts = Sorted(accounts);
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

        _secretsByNamespace = Ranges(_secrets);
        _accountsByNamespace = Ranges(_accounts);
        _otherNamespaces = [.. otherNamespaces ?? []];
        _otherKindNamespaces = new HashSet<string>(configMaps.Select(c => c.Namespace).Concat(functions.Select(f => f.Namespace))
            .Concat(workloads.Select(w => w.Namespace)).OfType<string>().Concat(_otherNamespaces), StringComparer.Ordinal);

        ImmutableArray<SecretObject> all = _secrets;
        _secretsByLabel = new(() => LabelIndex(all));
        _secretsByName = new(() => all.GroupBy(s => s.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToImmutableArray(), StringComparer.Ordinal));
        _serviceAccounts = _accounts.ToDictionary(a => (a.Namespace!, a.Name));

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

        _namespaceList = [.. _namespaces.Values.OrderBy(n => n.Name, StringComparer.Ordinal)];
    }

    /// <summary>Where each namespace's objects are in a list sorted by namespace.</summary>
    private static Dictionary<string, (int Start, int Count)> Ranges<T>(ImmutableArray<T> sorted)
        where T : KubeObject
    {
        var ranges = new Dictionary<string, (int Start, int Count)>(StringComparer.Ordinal);
        for (int i = 0; i < sorted.Length; i++)
        {
            ref (int Start, int Count) range = ref CollectionsMarshal.GetValueRefOrAddDefault(ranges, sorted[i].Namespace!, out bool exists);
            range = exists ? (range.Start, range.Count + 1) : (i, 1);
        }

        return ranges;
    }

    /// <summary>A snapshot that is <paramref name="root"/> with the Secrets, ServiceAccounts and Namespace objects of some namespaces replaced.</summary>
    private ClusterSnapshot(ClusterSnapshot root, Overlay overlay)
    {
        _root = root;
        _overlay = overlay;
        _secrets = root._secrets;
        _accounts = root._accounts;
        _namespaceList = root._namespaceList;
        _secretsByNamespace = root._secretsByNamespace;
        _accountsByNamespace = root._accountsByNamespace;
        // Lists over the whole snapshot are the root's, merged with the changed namespaces' (both sorted by namespace) on
        // first use: O(n + m log m) for everything, O(l + m log m) for one label key or name (l: the root's matches).
        if (!overlay.Secrets.IsEmpty)
        {
            Lazy<string[]> changed = _overlaySecretNamespaces = new(() => [.. overlay.Secrets.Keys.Order(StringComparer.Ordinal)]);
            _overlaySecrets = new(() => [.. MergeByNamespace(root._secrets.AsSpan(), changed.Value, ns => overlay.Secrets[ns])]);
            _overlayByLabel = new(StringComparer.Ordinal);
            _overlayByName = new(StringComparer.Ordinal);
        }

        if (!overlay.Accounts.IsEmpty)
        {
            Lazy<string[]> changed = _overlayAccountNamespaces = new(() => [.. overlay.Accounts.Keys.Order(StringComparer.Ordinal)]);
            _overlayAccounts = new(() => [.. MergeByNamespace(root._accounts.AsSpan(), changed.Value, ns => overlay.Accounts[ns])]);
        }

        _overlayNamespaces = overlay.Namespaces.IsEmpty ? null : new(() => MergeNamespaces(root._namespaceList, overlay.Namespaces));
        _secretsByLabel = root._secretsByLabel;
        _secretsByName = root._secretsByName;
        _namespaces = root._namespaces;
        _serviceAccounts = root._serviceAccounts;
        _otherKindNamespaces = root._otherKindNamespaces;
        _otherNamespaces = root._otherNamespaces;
        _locations = root._locations;
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

    /// <summary>
    /// A list sorted by namespace (the root's), with every namespace in <paramref name="changed"/> (sorted) replaced by
    /// <paramref name="replacement"/>'s objects for it: one pass over both.
    /// </summary>
    private static List<T> MergeByNamespace<T>(ReadOnlySpan<T> root, string[] changed, Func<string, IEnumerable<T>> replacement)
        where T : KubeObject
    {
        var merged = new List<T>(root.Length);
        int j = 0;
        foreach (T item in root)
        {
            string ns = item.Namespace!;
            while (j < changed.Length && string.CompareOrdinal(changed[j], ns) < 0)
            {
                merged.AddRange(replacement(changed[j++]));
            }

            if (j < changed.Length && changed[j] == ns)
            {
                continue; // the root's objects of a changed namespace: its replacement goes in when the merge passes it
            }

            merged.Add(item);
        }

        while (j < changed.Length)
        {
            merged.AddRange(replacement(changed[j++]));
        }

        return merged;
    }

    /// <summary>Every Namespace of an overlay snapshot, sorted: the root's, replaced or removed (null) where the overlay says, in one merge.</summary>
    private static ImmutableArray<NamespaceObject> MergeNamespaces(ImmutableArray<NamespaceObject> root, ImmutableDictionary<string, NamespaceObject?> overlay)
    {
        string[] changed = [.. overlay.Keys.Order(StringComparer.Ordinal)];
        var merged = new List<NamespaceObject>(root.Length + changed.Length);
        int j = 0;
        foreach (NamespaceObject n in root)
        {
            while (j < changed.Length && string.CompareOrdinal(changed[j], n.Name) < 0)
            {
                if (overlay[changed[j++]] is { } added)
                {
                    merged.Add(added);
                }
            }

            if (j < changed.Length && changed[j] == n.Name)
            {
                if (overlay[changed[j++]] is { } replaced)
                {
                    merged.Add(replaced);
                }

                continue;
            }

            merged.Add(n);
        }

        while (j < changed.Length)
        {
            if (overlay[changed[j++]] is { } added)
            {
                merged.Add(added);
            }
        }

        return [.. merged];
    }

    /// <summary>A namespace's Secrets, sorted by name, without copying.</summary>
    private ImmutableArray<SecretObject> NamespaceSecrets(string @namespace)
    {
        if (_overlay is not null && _overlay.Secrets.TryGetValue(@namespace, out ImmutableArray<SecretObject> changed))
        {
            return changed;
        }

        ClusterSnapshot root = _root ?? this;
        return root._secretsByNamespace.TryGetValue(@namespace, out var range) ? root._secrets.Slice(range.Start, range.Count) : [];
    }

    /// <summary>A namespace's Secrets, sorted by name, as a span into the shared arrays (no copy: the evaluation's inner loops).</summary>
    private ReadOnlySpan<SecretObject> NamespaceSpan(string @namespace)
    {
        if (_overlay is not null && _overlay.Secrets.TryGetValue(@namespace, out ImmutableArray<SecretObject> changed))
        {
            return changed.AsSpan();
        }

        ClusterSnapshot root = _root ?? this;
        return root._secretsByNamespace.TryGetValue(@namespace, out var range) ? root._secrets.AsSpan(range.Start, range.Count) : [];
    }

    /// <summary>A namespace's ServiceAccounts, sorted by name.</summary>
    private ImmutableArray<ServiceAccountObject> NamespaceAccounts(string @namespace)
    {
        if (_overlay is not null && _overlay.Accounts.TryGetValue(@namespace, out ImmutableArray<ServiceAccountObject> changed))
        {
            return changed;
        }

        ClusterSnapshot root = _root ?? this;
        return root._accountsByNamespace.TryGetValue(@namespace, out var range) ? root._accounts.Slice(range.Start, range.Count) : [];
    }

    /// <summary>A snapshot with nothing in it.</summary>
    public static ClusterSnapshot Empty { get; } = new([], static () => [], []);

    /// <summary>Every Secret, sorted by namespace and name.</summary>
    public ImmutableArray<SecretObject> Secrets => _overlaySecrets?.Value ?? _secrets;

    /// <summary>Every Namespace, declared or inferred, sorted by name.</summary>
    public ImmutableArray<NamespaceObject> Namespaces => _overlayNamespaces?.Value ?? _namespaceList;

    /// <summary>Every ServiceAccount, sorted.</summary>
    public ImmutableArray<ServiceAccountObject> ServiceAccounts => _overlayAccounts?.Value ?? _accounts;

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

        // Where each object was read is needed only for diagnostics: indexed on first use. Objects that were not read from
        // a source (a controller's) have none, and nothing is kept for them.
        if (!located.Exists(item => item.Location.Source is not null))
        {
            return new ClusterSnapshot(objects, static () => [], [.. diagnostics], otherNamespaces);
        }

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
    /// A few changes (up to 64) to Secrets, ServiceAccounts and Namespace objects (a controller's watch events) make a
    /// snapshot that shares everything with this one but the changed namespaces' Secret and ServiceAccount lists and
    /// Namespace objects: O(log m + k) for each change, with m the namespaces changed since the last rebuild and k the
    /// objects of that kind in the namespace. The whole-snapshot lists and indexes (<see cref="Secrets"/>,
    /// <see cref="Namespaces"/>, the label index) are built again on first use. Anything else (ConfigMaps, Functions,
    /// workloads, more than 64 changes at once) rebuilds, in O(n log n). Both give the same snapshot as
    /// <see cref="Create(IEnumerable{KubeObject})"/> of the resulting objects: a namespace that no Namespace object
    /// declares exists (inferred) while objects live in it.
    /// </remarks>
    public ClusterSnapshot With(IEnumerable<KubeObject> upserts, IEnumerable<ObjectReference>? deletes = null)
    {
        ArgumentNullException.ThrowIfNull(upserts);
        IReadOnlyList<KubeObject> ups = upserts as IReadOnlyList<KubeObject> ?? [.. upserts];
        IReadOnlyList<ObjectReference> dels = deletes as IReadOnlyList<ObjectReference> ?? [.. deletes ?? []];
        if (TryWithOverlay(ups, dels) is { } fast)
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

        // The locations that still apply, now: a lazy index over this snapshot's would keep every earlier snapshot alive.
        Dictionary<ObjectReference, SourceLocation> locations = _locations.Value.Count == 0 ? []
            : _locations.Value.Where(l => map.ContainsKey(l.Key)).ToDictionary(l => l.Key, l => l.Value);
        return new ClusterSnapshot(objects, locations.Count == 0 ? static () => [] : () => locations, Diagnostics, _otherNamespaces)
        {
            Refused = Refused,
        };
    }

    /// <summary>The overlay path of <see cref="With"/>, or <see langword="null"/> when the changes need a rebuild.</summary>
    private ClusterSnapshot? TryWithOverlay(IReadOnlyList<KubeObject> upserts, IReadOnlyList<ObjectReference> deletes)
    {
        // The overlay holds at most one entry per namespace and kind, so it never outgrows the snapshot.
        if (upserts.Count + deletes.Count is 0 or > 64)
        {
            return null;
        }

        foreach (KubeObject o in upserts)
        {
            if (o is not (SecretObject { Namespace: not null } or ServiceAccountObject { Namespace: not null } or NamespaceObject { IsDeclared: true, Namespace: null }))
            {
                return null;
            }
        }

        foreach (ObjectReference d in deletes)
        {
            if (!(d.Kind is "Secret" or "ServiceAccount" ? d.Namespace is not null : d.Kind == "Namespace" && d.Namespace is null))
            {
                return null;
            }
        }

        ClusterSnapshot root = _root ?? this;
        Overlay overlay = _overlay ?? Overlay.Empty;
        var secrets = overlay.Secrets.ToBuilder();
        var accounts = overlay.Accounts.ToBuilder();
        var namespaces = overlay.Namespaces.ToBuilder();
        NamespaceObject? Namespace(string name) => namespaces.TryGetValue(name, out NamespaceObject? changed) ? changed : root._namespaces.GetValueOrDefault(name);
        ImmutableArray<SecretObject> SecretsIn(string ns) => secrets.TryGetValue(ns, out ImmutableArray<SecretObject> changed) ? changed
            : root._secretsByNamespace.TryGetValue(ns, out var range) ? root._secrets.Slice(range.Start, range.Count) : [];
        ImmutableArray<ServiceAccountObject> AccountsIn(string ns) => accounts.TryGetValue(ns, out ImmutableArray<ServiceAccountObject> changed) ? changed
            : root._accountsByNamespace.TryGetValue(ns, out var range) ? root._accounts.Slice(range.Start, range.Count) : [];
        void Infer(string ns)
        {
            if (Namespace(ns) is null)
            {
                namespaces[ns] = NamespaceObject.Named(ns) with { IsDeclared = false };
            }
        }

        // As a rebuild does it: the upserts, then the deletes, then the namespaces the deletes may have emptied.
        foreach (KubeObject o in upserts)
        {
            switch (o)
            {
                case SecretObject secret:
                    secrets[secret.Namespace!] = Upsert(SecretsIn(secret.Namespace!), secret);
                    Infer(secret.Namespace!);
                    break;
                case ServiceAccountObject account:
                    accounts[account.Namespace!] = Upsert(AccountsIn(account.Namespace!), account);
                    Infer(account.Namespace!);
                    break;
                case NamespaceObject n:
                    namespaces[n.Name] = n;
                    break;
            }
        }

        List<string>? emptied = null;
        foreach (ObjectReference d in deletes)
        {
            string ns = d.Namespace ?? d.Name;
            switch (d.Kind)
            {
                case "Secret" when Remove(SecretsIn(ns), d.Name) is { } fewer:
                    secrets[ns] = fewer;
                    break;
                case "ServiceAccount" when Remove(AccountsIn(ns), d.Name) is { } fewer:
                    accounts[ns] = fewer;
                    break;
                case "Namespace" when Namespace(ns) is { IsDeclared: true }:
                    namespaces[ns] = null;
                    break;
                default:
                    continue;
            }

            (emptied ??= []).Add(ns);
        }

        foreach (string ns in emptied ?? [])
        {
            // A namespace no Namespace object declares exists while objects live in it.
            bool occupied = SecretsIn(ns).Length > 0 || AccountsIn(ns).Length > 0 || root._otherKindNamespaces.Contains(ns);
            NamespaceObject? current = Namespace(ns);
            if (current is null && occupied)
            {
                Infer(ns);
            }
            else if (current is { IsDeclared: false } && !occupied)
            {
                namespaces[ns] = null;
            }
        }

        return new ClusterSnapshot(root, new Overlay(secrets.ToImmutable(), accounts.ToImmutable(), namespaces.ToImmutable()));
    }

    private static ImmutableArray<T> Upsert<T>(ImmutableArray<T> sorted, T item)
        where T : KubeObject
    {
        int at = IndexOf(sorted.AsSpan(), item.Name);
        return at >= 0 ? sorted.SetItem(at, item) : sorted.Insert(~at, item);
    }

    private static ImmutableArray<T>? Remove<T>(ImmutableArray<T> sorted, string name)
        where T : KubeObject
    {
        int at = IndexOf(sorted.AsSpan(), name);
        return at >= 0 ? sorted.RemoveAt(at) : null;
    }

    /// <summary>Binary search by name in a namespace's sorted Secrets: the index, or the complement of where it would go.</summary>
    private static int IndexOf<T>(ReadOnlySpan<T> slice, string name)
        where T : KubeObject
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
    public ImmutableArray<SecretObject> GetSecretsNamed(string name)
    {
        ImmutableArray<SecretObject> inRoot = _secretsByName.Value.GetValueOrDefault(name, []);
        if (_overlayByName is null)
        {
            return inRoot;
        }

        return _overlayByName.GetOrAdd(name, n => [.. MergeByNamespace(inRoot.AsSpan(), _overlaySecretNamespaces!.Value, ns =>
        {
            ImmutableArray<SecretObject> list = _overlay!.Secrets[ns];
            int at = IndexOf(list.AsSpan(), n);
            return at >= 0 ? [list[at]] : [];
        })]);
    }

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
        _overlayByLabel is null
            ? (_secretsByLabel.Value.TryGetValue(labelKey, out List<SecretObject>? list) ? list : [])
            : _overlayByLabel.GetOrAdd(labelKey, key => MergeByNamespace(
                CollectionsMarshal.AsSpan(_secretsByLabel.Value.GetValueOrDefault(key)), _overlaySecretNamespaces!.Value,
                ns => _overlay!.Secrets[ns].Where(s => s.Metadata.Labels.ContainsKey(key))));

    /// <summary>Finds a Namespace (declared or inferred).</summary>
    /// <param name="name">Its name.</param>
    /// <returns>The Namespace, or <see langword="null"/>.</returns>
    public NamespaceObject? GetNamespace(string name) =>
        _overlay is not null && _overlay.Namespaces.TryGetValue(name, out NamespaceObject? changed) ? changed : _namespaces.GetValueOrDefault(name);

    /// <summary>Finds a ServiceAccount.</summary>
    /// <param name="namespace">Its namespace.</param>
    /// <param name="name">Its name.</param>
    /// <returns>The ServiceAccount, or <see langword="null"/>.</returns>
    public ServiceAccountObject? GetServiceAccount(string @namespace, string name)
    {
        if (_overlay is null || !_overlay.Accounts.ContainsKey(@namespace))
        {
            return _serviceAccounts.GetValueOrDefault((@namespace, name));
        }

        ImmutableArray<ServiceAccountObject> accounts = NamespaceAccounts(@namespace);
        int at = IndexOf(accounts.AsSpan(), name);
        return at >= 0 ? accounts[at] : null;
    }

    /// <summary>Where an object was read from, when it was read from a source.</summary>
    /// <param name="reference">The object.</param>
    /// <returns>Its location, or <see langword="null"/>.</returns>
    public SourceLocation? LocationOf(ObjectReference reference)
    {
        bool removed = _overlay is not null && reference switch
        {
            { Kind: "Secret", Namespace: { } ns } => _overlay.Secrets.ContainsKey(ns) && GetSecret(ns, reference.Name) is null,
            { Kind: "ServiceAccount", Namespace: { } ns } => _overlay.Accounts.ContainsKey(ns) && GetServiceAccount(ns, reference.Name) is null,
            { Kind: "Namespace" } => _overlay.Namespaces.ContainsKey(reference.Name) && GetNamespace(reference.Name) is not { IsDeclared: true },
            _ => false,
        };
        if (removed)
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
