using System.Text;
using System.Text.Json.Nodes;
using RegistryPolicy.Policies;

namespace RegistryPolicy.Cli;

/// <summary>
/// The objects that run <c>registry-policy serve</c> in a cluster, with the defaults the admission-webhook good practices
/// ask for: fail open, a 5 s timeout, no side effects, reinvocation if needed, the webhook's own namespace, kube-system and
/// kube-node-lease left out, the opt-out label honoured by an object selector, two replicas kept by a disruption budget.
/// </summary>
internal static class WebhookManifests
{
    public const string Name = "registry-policy-webhook";
    public const string TlsSecret = "registry-policy-webhook-tls";
    public const string OptOutLabel = "k8s.twr.io/imageswap";

    public static List<JsonObject> Build(string ns, string image, string map, string dialect, CompiledPolicy? policy, string? caBundle)
    {
        string[] excluded = [.. new[] { "kube-system", "kube-node-lease", ns }.Distinct(StringComparer.Ordinal)];
        var labels = new JsonObject { ["app.kubernetes.io/name"] = Name, ["app.kubernetes.io/component"] = "admission-webhook" };
        var list = new List<JsonObject>
        {
            new()
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Namespace",
                ["metadata"] = new JsonObject { ["name"] = ns, ["labels"] = labels.DeepClone() },
            },
            new()
            {
                ["apiVersion"] = "v1",
                ["kind"] = "ServiceAccount",
                ["metadata"] = Meta(Name, ns, labels),
                // The host reads nothing from the API server: no Role, no token.
                ["automountServiceAccountToken"] = false,
            },
            new()
            {
                ["apiVersion"] = "v1",
                ["kind"] = "ConfigMap",
                ["metadata"] = Meta(Name, ns, labels),
                ["data"] = new JsonObject { ["maps.conf"] = map },
            },
        };

        var args = new JsonArray("serve", "--listen", "0.0.0.0:8443", "--tls-cert", "/tls/tls.crt", "--tls-key", "/tls/tls.key",
            "--map-file", "/config/maps.conf", "--dialect", dialect, "--shutdown-delay", "5");
        foreach (string n in excluded)
        {
            args.Add((JsonNode)JsonValue.Create("--namespace-exclude"));
            args.Add((JsonNode)JsonValue.Create(n));
        }

        if (policy is not null)
        {
            args.Add((JsonNode)JsonValue.Create("--preset"));
            args.Add((JsonNode)JsonValue.Create(policy.Document.Metadata.Name));
        }

        list.Add(new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = Meta(Name, ns, labels),
            ["spec"] = new JsonObject
            {
                ["replicas"] = 2,
                ["selector"] = new JsonObject { ["matchLabels"] = labels.DeepClone() },
                ["strategy"] = new JsonObject { ["type"] = "RollingUpdate", ["rollingUpdate"] = new JsonObject { ["maxUnavailable"] = 0, ["maxSurge"] = 1 } },
                ["template"] = new JsonObject
                {
                    ["metadata"] = new JsonObject { ["labels"] = labels.DeepClone() },
                    ["spec"] = new JsonObject
                    {
                        ["serviceAccountName"] = Name,
                        ["automountServiceAccountToken"] = false,
                        ["terminationGracePeriodSeconds"] = 30,
                        // 65532: the 'nonroot' user of distroless images; numeric, so runAsNonRoot can be checked by the kubelet.
                        ["securityContext"] = new JsonObject
                        {
                            ["runAsNonRoot"] = true,
                            ["runAsUser"] = 65532,
                            ["runAsGroup"] = 65532,
                            ["seccompProfile"] = new JsonObject { ["type"] = "RuntimeDefault" },
                        },
                        ["topologySpreadConstraints"] = new JsonArray(new JsonObject
                        {
                            ["maxSkew"] = 1,
                            ["topologyKey"] = "kubernetes.io/hostname",
                            ["whenUnsatisfiable"] = "ScheduleAnyway",
                            ["labelSelector"] = new JsonObject { ["matchLabels"] = labels.DeepClone() },
                        }),
                        ["containers"] = new JsonArray(new JsonObject
                        {
                            ["name"] = "webhook",
                            ["image"] = image,
                            ["command"] = new JsonArray("registry-policy"),
                            ["args"] = args,
                            ["ports"] = new JsonArray(new JsonObject { ["name"] = "https", ["containerPort"] = 8443, ["protocol"] = "TCP" }),
                            ["readinessProbe"] = Probe("/readyz", 2),
                            ["livenessProbe"] = Probe("/healthz", 3),
                            ["resources"] = new JsonObject
                            {
                                ["requests"] = new JsonObject { ["cpu"] = "50m", ["memory"] = "64Mi" },
                                ["limits"] = new JsonObject { ["memory"] = "256Mi" },
                            },
                            ["securityContext"] = new JsonObject
                            {
                                ["allowPrivilegeEscalation"] = false,
                                ["readOnlyRootFilesystem"] = true,
                                ["capabilities"] = new JsonObject { ["drop"] = new JsonArray("ALL") },
                            },
                            ["volumeMounts"] = new JsonArray(
                                new JsonObject { ["name"] = "tls", ["mountPath"] = "/tls", ["readOnly"] = true },
                                new JsonObject { ["name"] = "config", ["mountPath"] = "/config", ["readOnly"] = true }),
                        }),
                        ["volumes"] = new JsonArray(
                            new JsonObject { ["name"] = "tls", ["secret"] = new JsonObject { ["secretName"] = TlsSecret } },
                            new JsonObject { ["name"] = "config", ["configMap"] = new JsonObject { ["name"] = Name } }),
                    },
                },
            },
        });
        list.Add(new JsonObject
        {
            ["apiVersion"] = "policy/v1",
            ["kind"] = "PodDisruptionBudget",
            ["metadata"] = Meta(Name, ns, labels),
            ["spec"] = new JsonObject { ["minAvailable"] = 1, ["selector"] = new JsonObject { ["matchLabels"] = labels.DeepClone() } },
        });
        list.Add(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = Meta(Name, ns, labels),
            ["spec"] = new JsonObject
            {
                ["selector"] = labels.DeepClone(),
                ["ports"] = new JsonArray(new JsonObject { ["name"] = "https", ["port"] = 443, ["targetPort"] = "https", ["protocol"] = "TCP" }),
            },
        });
        if (caBundle is null)
        {
            // A CA of its own (self-signed, long-lived) signs the serving certificate: renewing the serving certificate then
            // leaves caBundle unchanged, so no handshake fails while cainjector catches up.
            list.Add(new JsonObject
            {
                ["apiVersion"] = "cert-manager.io/v1",
                ["kind"] = "Issuer",
                ["metadata"] = Meta(Name + "-selfsigned", ns, labels),
                ["spec"] = new JsonObject { ["selfSigned"] = new JsonObject() },
            });
            list.Add(new JsonObject
            {
                ["apiVersion"] = "cert-manager.io/v1",
                ["kind"] = "Certificate",
                ["metadata"] = Meta(Name + "-ca", ns, labels),
                ["spec"] = new JsonObject
                {
                    ["isCA"] = true,
                    ["commonName"] = Name + "-ca",
                    ["secretName"] = Name + "-ca",
                    ["duration"] = "87600h",
                    ["privateKey"] = new JsonObject { ["algorithm"] = "ECDSA", ["size"] = 256 },
                    ["issuerRef"] = new JsonObject { ["name"] = Name + "-selfsigned", ["kind"] = "Issuer" },
                },
            });
            list.Add(new JsonObject
            {
                ["apiVersion"] = "cert-manager.io/v1",
                ["kind"] = "Issuer",
                ["metadata"] = Meta(Name, ns, labels),
                ["spec"] = new JsonObject { ["ca"] = new JsonObject { ["secretName"] = Name + "-ca" } },
            });
            list.Add(new JsonObject
            {
                ["apiVersion"] = "cert-manager.io/v1",
                ["kind"] = "Certificate",
                ["metadata"] = Meta(Name, ns, labels),
                ["spec"] = new JsonObject
                {
                    ["secretName"] = TlsSecret,
                    ["dnsNames"] = new JsonArray($"{Name}.{ns}.svc", $"{Name}.{ns}.svc.cluster.local"),
                    ["duration"] = "2160h",
                    ["renewBefore"] = "720h",
                    ["privateKey"] = new JsonObject { ["algorithm"] = "ECDSA", ["size"] = 256, ["rotationPolicy"] = "Always" },
                    ["issuerRef"] = new JsonObject { ["name"] = Name, ["kind"] = "Issuer" },
                },
            });
        }

        JsonObject webhookMeta = Meta(Name, null, labels);
        if (caBundle is null)
        {
            webhookMeta["annotations"] = new JsonObject { ["cert-manager.io/inject-ca-from"] = $"{ns}/{Name}" };
        }

        var webhooks = new JsonArray(Webhook("image-swap.registry-policy.io", "/mutate/pods", ns, caBundle,
            new JsonArray(Rule(["CREATE", "UPDATE"], "pods")),
            NamespaceSelector(excluded, null),
            new JsonObject { ["matchExpressions"] = new JsonArray(Requirement(OptOutLabel, "NotIn", ["disabled"])) }));
        if (policy?.Document.Spec.Admission is { } admission)
        {
            webhooks.Add((JsonNode)Webhook("secret-defaulting.registry-policy.io", "/mutate/secrets", ns, caBundle,
                new JsonArray(Rule([.. admission.Operations.Select(o => o == AdmissionOperation.Create ? "CREATE" : "UPDATE")], "secrets")),
                NamespaceSelector(excluded, admission.NamespaceSelector),
                Selector(admission.Selector)));
        }

        list.Add(new JsonObject
        {
            ["apiVersion"] = "admissionregistration.k8s.io/v1",
            ["kind"] = "MutatingWebhookConfiguration",
            ["metadata"] = webhookMeta,
            ["webhooks"] = webhooks,
        });
        return list;
    }

    private static JsonObject Meta(string name, string? ns, JsonObject labels)
    {
        var meta = new JsonObject { ["name"] = name };
        if (ns is not null)
        {
            meta["namespace"] = ns;
        }

        meta["labels"] = labels.DeepClone();
        return meta;
    }

    private static JsonObject Probe(string path, int failures) => new()
    {
        ["httpGet"] = new JsonObject { ["path"] = path, ["port"] = "https", ["scheme"] = "HTTPS" },
        ["periodSeconds"] = 5,
        ["timeoutSeconds"] = 2,
        ["failureThreshold"] = failures,
    };

    private static JsonObject Rule(string[] operations, string resource) => new()
    {
        ["operations"] = new JsonArray([.. operations.Select(o => (JsonNode)o)]),
        ["apiGroups"] = new JsonArray(""),
        ["apiVersions"] = new JsonArray("v1"),
        ["resources"] = new JsonArray(resource),
        ["scope"] = "Namespaced",
    };

    private static JsonObject Webhook(string name, string path, string ns, string? caBundle, JsonArray rules, JsonObject namespaceSelector, JsonObject objectSelector)
    {
        var service = new JsonObject { ["name"] = Name, ["namespace"] = ns, ["path"] = path, ["port"] = 443 };
        var clientConfig = new JsonObject { ["service"] = service };
        if (caBundle is not null)
        {
            clientConfig["caBundle"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(caBundle));
        }

        return new JsonObject
        {
            ["name"] = name,
            ["admissionReviewVersions"] = new JsonArray("v1"),
            ["clientConfig"] = clientConfig,
            ["rules"] = rules,
            // Fail open: when the webhook is down or slow, objects are admitted unchanged rather than the cluster blocked.
            ["failurePolicy"] = "Ignore",
            ["matchPolicy"] = "Equivalent",
            ["sideEffects"] = "None",
            ["timeoutSeconds"] = 5,
            ["reinvocationPolicy"] = "IfNeeded",
            ["namespaceSelector"] = namespaceSelector,
            ["objectSelector"] = objectSelector,
        };
    }

    private static JsonObject NamespaceSelector(string[] excluded, LabelSelector? policySelector)
    {
        JsonObject selector = policySelector is null ? new JsonObject() : Selector(policySelector);
        if (selector["matchExpressions"] is not JsonArray expressions)
        {
            selector["matchExpressions"] = expressions = [];
        }

        expressions.Add((JsonNode)Requirement("kubernetes.io/metadata.name", "NotIn", excluded));
        return selector;
    }

    private static JsonObject Selector(LabelSelector selector)
    {
        var result = new JsonObject();
        if (selector.MatchLabels.Count > 0)
        {
            var labels = new JsonObject();
            foreach (var (key, value) in selector.MatchLabels)
            {
                labels[key] = value;
            }

            result["matchLabels"] = labels;
        }

        if (selector.MatchExpressions.Count > 0)
        {
            result["matchExpressions"] = new JsonArray([.. selector.MatchExpressions.Select(r => (JsonNode)Requirement(r.Key, r.Operator.ToString(), [.. r.Values]))]);
        }

        return result;
    }

    private static JsonObject Requirement(string key, string op, string[] values)
    {
        var requirement = new JsonObject { ["key"] = key, ["operator"] = op };
        if (op is "In" or "NotIn")
        {
            requirement["values"] = new JsonArray([.. values.Select(v => (JsonNode)v)]);
        }

        return requirement;
    }
}
