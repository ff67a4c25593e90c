using System.Text.Json.Nodes;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Snapshots;

/// <summary>What <see cref="KubeObject.ToManifest"/> includes. Immutable and thread-safe.</summary>
public sealed record ManifestOptions
{
    /// <summary>The defaults: credentials hidden.</summary>
    public static ManifestOptions Default { get; } = new();

    /// <summary>
    /// Whether a Secret's data (base64) and annotations (which may hold a <c>last-applied-configuration</c> copy of the whole
    /// Secret) are included. When false, each data value is <see cref="HiddenValue"/> and annotations are left out.
    /// </summary>
    public bool RevealSecrets { get; init; }

    /// <summary>The text in place of each hidden Secret value (when <see cref="RevealSecrets"/> is false).</summary>
    public string HiddenValue { get; init; } = "<hidden>";
}

/// <summary>Builds Kubernetes manifests from snapshot objects: the one manifest writer (the CLI and the hosts use it).</summary>
internal static class Manifests
{
    public static JsonObject Of(KubeObject o, ManifestOptions options)
    {
        var metadata = new JsonObject { ["name"] = o.Name };
        if (o.Namespace is not null)
        {
            metadata["namespace"] = o.Namespace;
        }

        bool secret = o is SecretObject;
        if (o.Metadata.Labels.Count > 0)
        {
            metadata["labels"] = Map(o.Metadata.Labels);
        }

        if (o.Metadata.Annotations.Count > 0 && (!secret || options.RevealSecrets))
        {
            metadata["annotations"] = Map(o.Metadata.Annotations);
        }

        if (o.Metadata.Finalizers.Count > 0)
        {
            metadata["finalizers"] = new JsonArray([.. o.Metadata.Finalizers.Select(f => (JsonNode)f)]);
        }

        if (o.Metadata.DeletionTimestamp is { } deleting)
        {
            metadata["deletionTimestamp"] = deleting;
        }

        var manifest = new JsonObject { ["apiVersion"] = ApiVersion(o), ["kind"] = o.Kind, ["metadata"] = metadata };
        switch (o)
        {
            case SecretObject s:
                manifest["type"] = s.Type;
                var data = new JsonObject();
                foreach (var (key, value) in s.Data.RevealEntries())
                {
                    data[key] = options.RevealSecrets ? Convert.ToBase64String(value.Span) : options.HiddenValue;
                }

                manifest["data"] = data;
                break;
            case NamespaceObject n when n.Phase is not null:
                manifest["status"] = new JsonObject { ["phase"] = n.Phase };
                break;
            case ServiceAccountObject a when a.ImagePullSecrets.Count > 0:
                manifest["imagePullSecrets"] = Names(a.ImagePullSecrets);
                break;
            case ConfigMapObject c:
                manifest["data"] = Map(c.Data);
                break;
            case FunctionObject f when f.Runtime is not null:
                manifest["spec"] = new JsonObject { ["runtime"] = f.Runtime };
                break;
            case WorkloadObject w:
                AddPodSpec(manifest, w.Template);
                break;
        }

        return manifest;
    }

    private static string ApiVersion(KubeObject o) => o.Kind switch
    {
        "Deployment" or "StatefulSet" or "DaemonSet" or "ReplicaSet" => "apps/v1",
        "Job" or "CronJob" => "batch/v1",
        "Function" => "serverless.kyma-project.io/v1alpha2",
        _ => "v1",
    };

    /// <summary>The parts of the Pod spec a snapshot keeps, at the spec's own path (<c>/spec/template/spec</c>, ...).</summary>
    private static void AddPodSpec(JsonObject manifest, PodTemplate template)
    {
        var spec = new JsonObject();
        if (template.ServiceAccountName is { } account)
        {
            spec["serviceAccountName"] = account;
        }

        if (template.ImagePullSecrets.Count > 0)
        {
            spec["imagePullSecrets"] = Names(template.ImagePullSecrets);
        }

        foreach (var (role, field) in new[] { (ContainerRole.InitContainer, "initContainers"), (ContainerRole.Container, "containers"), (ContainerRole.EphemeralContainer, "ephemeralContainers") })
        {
            var list = new JsonArray();
            foreach (ContainerSpec c in template.Containers.Where(c => c.Role == role))
            {
                var container = new JsonObject { ["name"] = c.Name, ["image"] = c.Image };
                if (c.ImagePullPolicy is { } policy)
                {
                    container["imagePullPolicy"] = policy;
                }

                list.Add((JsonNode)container);
            }

            if (list.Count > 0)
            {
                spec[field] = list;
            }
        }

        JsonObject at = manifest;
        string[] path = template.SpecPath.TrimStart('/').Split('/');
        for (int i = 0; i < path.Length - 1; i++)
        {
            var next = new JsonObject();
            at[path[i]] = next;
            at = next;
        }

        at[path[^1]] = spec;
    }

    private static JsonObject Map(StringMap map)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in map)
        {
            obj[key] = value;
        }

        return obj;
    }

    private static JsonArray Names(ValueArray<string> names) => new([.. names.Select(n => (JsonNode)new JsonObject { ["name"] = n })]);
}
