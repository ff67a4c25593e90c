using System.Text;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Benchmarks.Resolution;

/// <summary>
/// A synthetic Kyma cluster with ten Secrets per namespace: the propagated default copy, a namespace override in one
/// namespace of four (one of those shielded), and service-account-token and TLS Secrets the policy never reads. The
/// bases live in kyma-system. The cluster is converged, as a real one mostly is.
/// </summary>
public static class KymaCluster
{
    private static readonly string[] DefaultData =
    [
        "isInternal", "true", "pushRegAddr", "serverless-docker-registry.kyma-system.svc.cluster.local:5000", "pullRegAddr", "localhost:32137",
        "registryAddress", "serverless-docker-registry.kyma-system.svc.cluster.local:5000", "username", "internal", "password", "internal-password",
    ];

    public static ClusterSnapshot Create(int namespaces) => ClusterSnapshot.Create(Objects(namespaces));

    public static IEnumerable<KubeObject> Objects(int namespaces)
    {
        var baseLabels = StringMap.Of("serverless.kyma-project.io/config", "credentials");
        // The API server requires '.dockerconfigjson' in a kubernetes.io/dockerconfigjson Secret (Kyma's webhook writes it)
        // and the ServiceAccount annotation on a token Secret; without them every Secret would be refused as absent.
        var defaultData = SecretData.FromStrings([.. DefaultData, ".dockerconfigjson", DockerConfig("serverless-docker-registry.kyma-system.svc.cluster.local:5000", "internal", "internal-password")]);
        yield return NamespaceObject.Named("kyma-system");
        yield return new SecretObject(new ObjectMetadata("serverless-registry-config-default", "kyma-system")
        {
            Labels = baseLabels,
            Finalizers = new ValueArray<string>(["serverless.kyma-project.io/finalizer-registry-config"]),
        }, "kubernetes.io/dockerconfigjson", defaultData);
        for (int n = 0; n < namespaces; n++)
        {
            string ns = $"team-{n:D6}";
            yield return NamespaceObject.Named(ns, StringMap.Of("team", $"t{n % 100}"));
            yield return new SecretObject(new ObjectMetadata("serverless-registry-config-default", ns) { Labels = baseLabels }, "kubernetes.io/dockerconfigjson", defaultData);
            int extra = 9;
            if (n % 4 == 0)
            {
                extra--;
                var labels = n % 8 == 0
                    ? StringMap.Of("serverless.kyma-project.io/remote-registry", "config", "serverless.kyma-project.io/managed-by", "user")
                    : StringMap.Of("serverless.kyma-project.io/remote-registry", "config");
                yield return new SecretObject(new ObjectMetadata("serverless-registry-config", ns) { Labels = labels }, "kubernetes.io/dockerconfigjson",
                    SecretData.FromStrings("registryAddress", $"registry{n % 50}.example.com/{ns}", "serverAddress", $"registry{n % 50}.example.com", "username", ns, "password", $"pw-{n}",
                        ".dockerconfigjson", DockerConfig($"registry{n % 50}.example.com", ns, $"pw-{n}")));
            }

            for (int i = 0; i < extra; i++)
            {
                yield return new SecretObject(new ObjectMetadata($"app-{i}-token", ns) { Annotations = StringMap.Of("kubernetes.io/service-account.name", $"app-{i}") }, "kubernetes.io/service-account-token",
                    SecretData.FromStrings("token", $"token-{n}-{i}", "ca.crt", "-----BEGIN CERTIFICATE-----"));
            }
        }
    }

    private static string DockerConfig(string server, string username, string password) =>
        Encoding.UTF8.GetString(RegistryPolicy.Credentials.DockerConfigJson.Encode(server, username, password));

    /// <summary>Writes the cluster as <c>kubectl get namespaces,secrets -A -o json</c> prints it (a v1 List, indented as kubectl does).</summary>
    public static void WriteJson(int namespaces, TextWriter output)
    {
        output.Write("{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n");
        bool first = true;
        foreach (KubeObject o in Objects(namespaces))
        {
            if (!first)
            {
                output.Write(",\n");
            }

            first = false;
            var text = new StringBuilder();
            text.Append("        {\n            \"apiVersion\": \"v1\",\n");
            if (o is SecretObject s)
            {
                text.Append("            \"data\": {\n");
                text.AppendJoin(",\n", s.Data.RevealEntries().Select(e => $"                \"{e.Key}\": \"{Convert.ToBase64String(e.Value.Span)}\""));
                text.Append("\n            },\n            \"kind\": \"Secret\",\n");
            }
            else
            {
                text.Append("            \"kind\": \"Namespace\",\n");
            }

            text.Append("            \"metadata\": {\n");
            if (o.Metadata.Annotations.Count > 0)
            {
                text.Append("                \"annotations\": {\n").AppendJoin(",\n", o.Metadata.Annotations.Select(a => $"                    \"{a.Key}\": \"{a.Value}\"")).Append("\n                },\n");
            }

            text.Append("                \"creationTimestamp\": \"2026-11-01T10:00:00Z\",\n");
            if (o.Metadata.Finalizers.Count > 0)
            {
                text.Append("                \"finalizers\": [\n").AppendJoin(",\n", o.Metadata.Finalizers.Select(f => $"                    \"{f}\"")).Append("\n                ],\n");
            }

            if (o.Metadata.Labels.Count > 0)
            {
                text.Append("                \"labels\": {\n").AppendJoin(",\n", o.Metadata.Labels.Select(l => $"                    \"{l.Key}\": \"{l.Value}\"")).Append("\n                },\n");
            }

            text.Append($"                \"name\": \"{o.Name}\",\n");
            if (o.Namespace is not null)
            {
                text.Append($"                \"namespace\": \"{o.Namespace}\",\n");
            }

            text.Append("                \"resourceVersion\": \"123456\",\n                \"uid\": \"0b6e7f3e-2a8c-4d7b-9a55-5f1f0e6c1a2b\"\n            }");
            text.Append(o is SecretObject secret ? $",\n            \"type\": \"{secret.Type}\"\n        }}" : ",\n            \"spec\": {\n                \"finalizers\": [\n                    \"kubernetes\"\n                ]\n            },\n            \"status\": {\n                \"phase\": \"Active\"\n            }\n        }");
            output.Write(text.ToString());
        }

        output.Write("\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n");
    }
}
