using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.AspNetCore;

/// <summary>
/// Objects as the real kubectl prints them (<c>--dry-run=client -o json</c>). <c>kubectl run</c> and <c>kubectl create -f</c>
/// ask the server for API discovery even on a client-side dry run, so they are pointed at a discovery-only stub on loopback
/// that knows the kinds used here and answers nothing else.
/// </summary>
internal static class KubectlObjects
{
    private static readonly Lazy<string> Discovery = new(StartDiscovery);

    public static string Kubectl => RealTools.Require("kubectl", "kubectl v1.32 from the Kubernetes apt repository");

    /// <summary>Runs kubectl with the stub as its server and returns what it prints on stdout; fails on a non-zero exit.</summary>
    public static string Run(params string[] args) => Run(null, args);

    public static string Run(string? stdin, params string[] args)
    {
        string kubectl = Kubectl;
        ProcessResult result = RealTools.Run(kubectl, [$"--server={Discovery.Value}", .. args], stdin: stdin ?? string.Empty,
            environment: new Dictionary<string, string> { ["KUBECONFIG"] = "/dev/null" }, timeout: TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, $"kubectl {string.Join(' ', args)}: exit {result.ExitCode}\n{result.Error}");
        return result.Output;
    }

    public static JsonObject Json(params string[] args) => JsonNode.Parse(Run(args))!.AsObject();

    /// <summary>A Pod with the given containers (name=image), from <c>kubectl run</c> and <c>kubectl patch --local</c>.</summary>
    public static JsonObject Pod(string name, params (string Name, string Image)[] containers)
    {
        JsonObject pod = Json("run", name, $"--image={containers[0].Image}", "--dry-run=client", "-o", "json");
        JsonArray list = pod["spec"]!["containers"]!.AsArray();
        list[0]!["name"] = containers[0].Name;
        foreach (var (n, image) in containers.Skip(1))
        {
            list.Add((JsonNode)new JsonObject { ["name"] = n, ["image"] = image, ["resources"] = new JsonObject() });
        }

        return pod;
    }

    private static string StartDiscovery()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        WebApplication app = builder.Build();
        var groups = new (string Group, string Version, (string Resource, string Kind, bool Namespaced)[] Resources)[]
        {
            ("", "v1", [("pods", "Pod", true), ("secrets", "Secret", true), ("serviceaccounts", "ServiceAccount", true), ("configmaps", "ConfigMap", true),
                ("services", "Service", true), ("namespaces", "Namespace", false)]),
            ("apps", "v1", [("deployments", "Deployment", true), ("statefulsets", "StatefulSet", true), ("daemonsets", "DaemonSet", true), ("replicasets", "ReplicaSet", true)]),
            ("batch", "v1", [("jobs", "Job", true), ("cronjobs", "CronJob", true)]),
            ("policy", "v1", [("poddisruptionbudgets", "PodDisruptionBudget", true)]),
            ("admissionregistration.k8s.io", "v1", [("mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false)]),
            ("cert-manager.io", "v1", [("issuers", "Issuer", true), ("certificates", "Certificate", true)]),
        };
        app.Run(context =>
        {
            string path = context.Request.Path.Value ?? "/";
            JsonNode? answer = path switch
            {
                "/version" => new JsonObject { ["major"] = "1", ["minor"] = "32", ["gitVersion"] = "v1.32.0" },
                "/api" => new JsonObject { ["kind"] = "APIVersions", ["versions"] = new JsonArray("v1") },
                "/apis" => new JsonObject
                {
                    ["kind"] = "APIGroupList",
                    ["apiVersion"] = "v1",
                    ["groups"] = new JsonArray([.. groups.Where(g => g.Group.Length > 0).Select(g => (JsonNode)new JsonObject
                    {
                        ["name"] = g.Group,
                        ["versions"] = new JsonArray(new JsonObject { ["groupVersion"] = $"{g.Group}/{g.Version}", ["version"] = g.Version }),
                        ["preferredVersion"] = new JsonObject { ["groupVersion"] = $"{g.Group}/{g.Version}", ["version"] = g.Version },
                    })]),
                },
                _ => groups.Where(g => path == (g.Group.Length == 0 ? "/api/v1" : $"/apis/{g.Group}/{g.Version}")).Select(g => (JsonNode)new JsonObject
                {
                    ["kind"] = "APIResourceList",
                    ["groupVersion"] = g.Group.Length == 0 ? g.Version : $"{g.Group}/{g.Version}",
                    ["resources"] = new JsonArray([.. g.Resources.Select(r => (JsonNode)new JsonObject
                    {
                        ["name"] = r.Resource,
                        ["singularName"] = r.Kind.ToLowerInvariant(),
                        ["namespaced"] = r.Namespaced,
                        ["kind"] = r.Kind,
                        ["verbs"] = new JsonArray("create", "get", "list", "patch", "update"),
                    })]),
                }).FirstOrDefault(),
            };
            context.Response.ContentType = "application/json";
            context.Response.StatusCode = answer is null ? 404 : 200;
            return context.Response.WriteAsync(answer?.ToJsonString() ?? """{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}""");
        });
        app.StartAsync().GetAwaiter().GetResult();
        return app.Urls.First();
    }
}

/// <summary>AdmissionReview envelopes as the API server sends them (admission.k8s.io/v1), written by hand: no program prints them.</summary>
internal static class Reviews
{
    public const string Uid = "705ab4f5-6393-11e8-b7cc-42010a800002";

    public static byte[] For(JsonObject obj, string operation = "CREATE", JsonObject? old = null, string? subResource = null, bool dryRun = false,
        string apiVersion = "admission.k8s.io/v1", string? ns = "default")
    {
        string kind = (string)obj["kind"]!;
        string objectApiVersion = (string)obj["apiVersion"]!;
        string group = objectApiVersion.Contains('/') ? objectApiVersion[..objectApiVersion.IndexOf('/')] : string.Empty;
        string version = objectApiVersion[(objectApiVersion.IndexOf('/') + 1)..];
        string resource = kind.ToLowerInvariant() + "s";
        var request = new JsonObject
        {
            ["uid"] = Uid,
            ["kind"] = new JsonObject { ["group"] = group, ["version"] = version, ["kind"] = kind },
            ["resource"] = new JsonObject { ["group"] = group, ["version"] = version, ["resource"] = resource },
            ["requestKind"] = new JsonObject { ["group"] = group, ["version"] = version, ["kind"] = kind },
            ["requestResource"] = new JsonObject { ["group"] = group, ["version"] = version, ["resource"] = resource },
            ["name"] = (string?)obj["metadata"]?["name"],
            ["namespace"] = ns,
            ["operation"] = operation,
            ["userInfo"] = new JsonObject { ["username"] = "kubernetes-admin", ["groups"] = new JsonArray("system:masters", "system:authenticated") },
            ["object"] = operation == "DELETE" ? null : obj.DeepClone(),
            ["oldObject"] = operation == "DELETE" ? obj.DeepClone() : old?.DeepClone(),
            ["dryRun"] = dryRun,
            ["options"] = new JsonObject { ["apiVersion"] = "meta.k8s.io/v1", ["kind"] = operation switch { "UPDATE" => "UpdateOptions", "DELETE" => "DeleteOptions", _ => "CreateOptions" } },
        };
        if (subResource is not null)
        {
            request["subResource"] = subResource;
        }

        return System.Text.Encoding.UTF8.GetBytes(new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = "AdmissionReview", ["request"] = request }.ToJsonString());
    }

    /// <summary>The response object of an answer (asserting the envelope the API server insists on).</summary>
    public static JsonObject Response(ReadOnlySpan<byte> body, string apiVersion = "admission.k8s.io/v1")
    {
        JsonObject review = JsonNode.Parse(body)!.AsObject();
        Assert.Equal(apiVersion, (string?)review["apiVersion"]);
        Assert.Equal("AdmissionReview", (string?)review["kind"]);
        JsonObject response = review["response"]!.AsObject();
        Assert.Equal(Uid, (string?)response["uid"]);
        Assert.NotNull(response["allowed"]);
        return response;
    }

    /// <summary>The decoded patch, or null when the answer has none (then it must have no patchType either).</summary>
    public static JsonArray? Patch(JsonObject response)
    {
        if (response["patch"] is null)
        {
            Assert.Null(response["patchType"]);
            return null;
        }

        Assert.Equal("JSONPatch", (string?)response["patchType"]);
        return JsonNode.Parse(Convert.FromBase64String((string)response["patch"]!))!.AsArray();
    }
}
