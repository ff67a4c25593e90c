using System.Text;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Tests.Support;

/// <summary>Short builders for snapshot objects in tests.</summary>
internal static class Objects
{
    public const string ConfigLabel = "serverless.kyma-project.io/config";
    public const string ManagedByLabel = "serverless.kyma-project.io/managed-by";
    public const string RemoteRegistryLabel = "serverless.kyma-project.io/remote-registry";
    public const string Finalizer = "serverless.kyma-project.io/finalizer-registry-config";
    public const string Override = "serverless-registry-config";
    public const string Default = "serverless-registry-config-default";

    public static SecretObject Secret(string ns, string name, string[]? labels = null, string[]? data = null, string type = "Opaque", string[]? finalizers = null, bool deleting = false)
    {
        var map = new List<KeyValuePair<string, byte[]>>();
        data ??= [];
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            map.Add(new(data[i], Encoding.UTF8.GetBytes(data[i + 1])));
        }

        return new SecretObject(
            new ObjectMetadata(name, ns)
            {
                Labels = StringMap.Of(labels ?? []),
                Finalizers = new ValueArray<string>(finalizers ?? []),
                DeletionTimestamp = deleting ? "2026-01-01T00:00:00Z" : null,
            },
            type,
            SecretData.Create(map));
    }

    public static NamespaceObject Namespace(string name, bool terminating = false, params string[] labels) =>
        new(new ObjectMetadata(name, null) { Labels = StringMap.Of(labels) }, terminating ? "Terminating" : "Active");

    /// <summary>The chart's internal default Secret in kyma-system, a base.</summary>
    public static SecretObject InternalDefault(string ns = "kyma-system", bool labelled = true) =>
        Secret(ns, Default, labelled ? [ConfigLabel, "credentials"] : [], [
            "isInternal", "true", "pushRegAddr", "serverless-docker-registry.kyma-system.svc.cluster.local:5000", "pullRegAddr", "localhost:32137",
            "registryAddress", "serverless-docker-registry.kyma-system.svc.cluster.local:5000", "username", "internal", "password", "internal-secret-pass",
        ], finalizers: labelled && ns == "kyma-system" ? [Finalizer] : null);

    public static SecretObject ClusterWide(string address = "registry.example.com/platform", bool deleting = false) =>
        Secret("kyma-system", Override, [ConfigLabel, "credentials", RemoteRegistryLabel, "config"],
            ["registryAddress", address, "serverAddress", "registry.example.com", "username", "platform-ci", "password", "platform-secret-pass"],
            finalizers: [Finalizer], deleting: deleting);

    public static SecretObject NamespaceOverride(string ns, bool shielded = false, string address = "ghcr.io/team") =>
        Secret(ns, Override, shielded ? [RemoteRegistryLabel, "config", ManagedByLabel, "user"] : [RemoteRegistryLabel, "config"],
            ["registryAddress", address, "serverAddress", "ghcr.io", "username", "team-bot", "password", "team-secret-pass"]);
}
