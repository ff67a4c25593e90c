using RegistryPolicy.Credentials;
using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using k8s;
using k8s.Models;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Kubernetes;

/// <summary>
/// Builds <see cref="ClusterSnapshot"/>s from KubernetesClient models (what a controller's informers or a <c>List</c> call
/// return), and turns plan actions back into models to apply. Objects without a name are reported, not thrown; objects of
/// other kinds are counted in one info diagnostic.
/// Stateless: safe to call from any thread.
/// </summary>
public static class KubernetesSnapshot
{
    /// <summary>Builds a snapshot from models: V1Secret, V1Namespace, V1ServiceAccount, V1ConfigMap, V1Pod and the workload controllers.</summary>
    /// <param name="objects">The models, in any order.</param>
    /// <returns>The snapshot; its diagnostics name every object that could not be used.</returns>
    public static ClusterSnapshot Create(IEnumerable<IKubernetesObject<V1ObjectMeta>> objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        var located = new List<LocatedObject>();
        var diagnostics = new List<Diagnostic>();
        var ignored = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (IKubernetesObject<V1ObjectMeta> model in objects)
        {
            if (model?.Metadata?.Name is not { Length: > 0 })
            {
                diagnostics.Add(new Diagnostic("name-missing", DiagnosticSeverity.Error,
                    $"a {model?.Kind ?? model?.GetType().Name ?? "null"} without metadata.name was skipped"));
                continue;
            }

            KubeObject? converted = model switch
            {
                V1Secret s => s.ToSnapshotObject(),
                V1Namespace n => n.ToSnapshotObject(),
                V1ServiceAccount a => a.ToSnapshotObject(),
                V1ConfigMap c => c.ToSnapshotObject(),
                V1Pod p => Workload("Pod", p.Metadata, "/spec", p.Spec),
                V1Deployment d => Workload("Deployment", d.Metadata, "/spec/template/spec", d.Spec?.Template?.Spec),
                V1StatefulSet s => Workload("StatefulSet", s.Metadata, "/spec/template/spec", s.Spec?.Template?.Spec),
                V1DaemonSet d => Workload("DaemonSet", d.Metadata, "/spec/template/spec", d.Spec?.Template?.Spec),
                V1ReplicaSet r => Workload("ReplicaSet", r.Metadata, "/spec/template/spec", r.Spec?.Template?.Spec),
                V1Job j => Workload("Job", j.Metadata, "/spec/template/spec", j.Spec?.Template?.Spec),
                V1CronJob c => Workload("CronJob", c.Metadata, "/spec/jobTemplate/spec/template/spec", c.Spec?.JobTemplate?.Spec?.Template?.Spec),
                _ => null,
            };
            if (converted is null)
            {
                string kind = model.Kind ?? model.GetType().Name;
                ignored[kind] = ignored.GetValueOrDefault(kind) + 1;
                continue;
            }

            located.Add(new LocatedObject(converted, default));
        }

        if (ignored.Count > 0)
        {
            diagnostics.Add(new Diagnostic("kinds-ignored", DiagnosticSeverity.Info,
                "objects of kinds registry policy does not use were skipped: " + string.Join(", ", ignored.Select(p => $"{p.Value} {p.Key}"))));
        }

        return ClusterSnapshot.Create(new SnapshotSource("(KubernetesClient models)", [.. located], [.. diagnostics]));
    }

    /// <summary>Converts a Secret; <c>stringData</c> is merged over <c>data</c> as the API server does.</summary>
    /// <param name="secret">The model.</param>
    /// <returns>The snapshot object.</returns>
    public static SecretObject ToSnapshotObject(this V1Secret secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var data = new List<KeyValuePair<string, byte[]>>();
        foreach (var (key, value) in secret.Data ?? new Dictionary<string, byte[]>())
        {
            data.Add(new(key, value ?? []));
        }

        foreach (var (key, value) in secret.StringData ?? new Dictionary<string, string>())
        {
            data.Add(new(key, Encoding.UTF8.GetBytes(value ?? string.Empty)));
        }

        return new SecretObject(Metadata(secret.Metadata, namespaced: true), string.IsNullOrEmpty(secret.Type) ? SecretObject.OpaqueType : secret.Type, SecretData.Create(data));
    }

    /// <summary>Converts a Namespace.</summary>
    /// <param name="ns">The model.</param>
    /// <returns>The snapshot object.</returns>
    public static NamespaceObject ToSnapshotObject(this V1Namespace ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        return new NamespaceObject(Metadata(ns.Metadata, namespaced: false), ns.Status?.Phase);
    }

    /// <summary>Converts a ServiceAccount.</summary>
    /// <param name="account">The model.</param>
    /// <returns>The snapshot object.</returns>
    public static ServiceAccountObject ToSnapshotObject(this V1ServiceAccount account)
    {
        ArgumentNullException.ThrowIfNull(account);
        return new ServiceAccountObject(Metadata(account.Metadata, namespaced: true),
            new ValueArray<string>((account.ImagePullSecrets ?? []).Select(r => r?.Name).OfType<string>()));
    }

    /// <summary>Converts a ConfigMap.</summary>
    /// <param name="map">The model.</param>
    /// <returns>The snapshot object.</returns>
    public static ConfigMapObject ToSnapshotObject(this V1ConfigMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        return new ConfigMapObject(Metadata(map.Metadata, namespaced: true), StringMap.Create(map.Data ?? new Dictionary<string, string>()));
    }

    /// <summary>The Secret a plan action wants, as a model to create or replace; <see langword="null"/> for a delete.</summary>
    /// <param name="action">The plan action.</param>
    /// <returns>The model.</returns>
    public static V1Secret? ToV1Secret(this PlanAction action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return action.Desired?.ToV1Secret();
    }

    /// <summary>Converts a snapshot Secret back to a model.</summary>
    /// <param name="secret">The Secret.</param>
    /// <returns>The model (data as bytes).</returns>
    public static V1Secret ToV1Secret(this SecretObject secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta
            {
                Name = secret.Name,
                NamespaceProperty = secret.Namespace,
                Labels = secret.Metadata.Labels.Count == 0 ? null : secret.Metadata.Labels.ToDictionary(p => p.Key, p => p.Value),
                Annotations = secret.Metadata.Annotations.Count == 0 ? null : secret.Metadata.Annotations.ToDictionary(p => p.Key, p => p.Value),
                Finalizers = secret.Metadata.Finalizers.Count == 0 ? null : [.. secret.Metadata.Finalizers],
            },
            Type = secret.Type,
            Data = secret.Data.RevealEntries().ToDictionary(e => e.Key, e => e.Value.ToArray()),
        };
    }

    /// <summary>The admission answer's patch as a KubernetesClient <see cref="V1Patch"/> (JSON patch), or null when nothing changes.</summary>
    /// <param name="result">The admission result.</param>
    /// <returns>The patch.</returns>
    public static V1Patch? ToV1Patch(this AdmissionResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Patch.IsEmpty)
        {
            return null;
        }

        string json = "[" + string.Join(",", result.Patch.Select(p => $"{{\"op\":\"{p.Op}\",\"path\":{Quote(p.Path)},\"value\":{p.ValueJson}}}")) + "]";
        return new V1Patch(json, V1Patch.PatchType.JsonPatch);
    }

    /// <summary>
    /// A planned ServiceAccount patch as a KubernetesClient <see cref="V1Patch"/> (JSON patch), for
    /// <c>PatchNamespacedServiceAccountAsync(patch, name, namespace)</c>.
    /// </summary>
    /// <param name="patch">The planned patch.</param>
    /// <returns>The patch.</returns>
    public static V1Patch ToV1Patch(this ServiceAccountPatch patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        return new V1Patch(patch.ToJson(), V1Patch.PatchType.JsonPatch);
    }

    private static string Quote(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static WorkloadObject Workload(string kind, V1ObjectMeta metadata, string path, V1PodSpec? spec)
    {
        var containers = new List<ContainerSpec>();
        void Add(IEnumerable<(string? Name, string? Image, string? Policy)>? list, ContainerRole role)
        {
            int i = 0;
            foreach (var (name, image, policy) in list ?? [])
            {
                if (image is not null)
                {
                    containers.Add(new ContainerSpec(role, i, name ?? string.Empty, image, policy));
                }

                i++;
            }
        }

        Add(spec?.InitContainers?.Select(c => ((string?)c.Name, (string?)c.Image, (string?)c.ImagePullPolicy)), ContainerRole.InitContainer);
        Add(spec?.Containers?.Select(c => ((string?)c.Name, (string?)c.Image, (string?)c.ImagePullPolicy)), ContainerRole.Container);
        Add(spec?.EphemeralContainers?.Select(c => ((string?)c.Name, (string?)c.Image, (string?)c.ImagePullPolicy)), ContainerRole.EphemeralContainer);
        ObjectMetadata meta = Metadata(metadata, namespaced: true);
        V1OwnerReference? owner = metadata?.OwnerReferences?.FirstOrDefault(o => o?.Controller == true && !string.IsNullOrEmpty(o.Kind) && !string.IsNullOrEmpty(o.Name));
        return new WorkloadObject(kind, meta, new PodTemplate(path, spec?.ServiceAccountName,
            new ValueArray<string>((spec?.ImagePullSecrets ?? []).Select(r => r?.Name).OfType<string>()), new ValueArray<ContainerSpec>(containers)))
        {
            Controller = owner is null ? null : new ObjectReference(owner.Kind, meta.Namespace, owner.Name),
        };
    }

    private static ObjectMetadata Metadata(V1ObjectMeta? meta, bool namespaced)
    {
        string name = meta?.Name ?? throw new ArgumentException("The object has no metadata.name.", nameof(meta));
        string? ns = namespaced ? (string.IsNullOrEmpty(meta.NamespaceProperty) ? "default" : meta.NamespaceProperty) : null;
        return new ObjectMetadata(name, ns)
        {
            Labels = StringMap.Create(meta.Labels ?? new Dictionary<string, string>()),
            Annotations = StringMap.Create(meta.Annotations ?? new Dictionary<string, string>()),
            Finalizers = new ValueArray<string>(meta.Finalizers ?? []),
            DeletionTimestamp = meta.DeletionTimestamp?.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        };
    }

    /// <summary>The diagnostics of a snapshot built from models, for callers that log them.</summary>
    /// <param name="snapshot">The snapshot.</param>
    /// <returns>Its diagnostics.</returns>
    public static ImmutableArray<Diagnostic> DiagnosticsOf(ClusterSnapshot snapshot) => snapshot?.Diagnostics ?? [];
}
