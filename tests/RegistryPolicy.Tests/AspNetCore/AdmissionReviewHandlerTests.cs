using System.Text;
using System.Text.Json.Nodes;
using RegistryPolicy.AspNetCore;
using RegistryPolicy.Policies;
using RegistryPolicy.Swap;
using RegistryPolicy.Tests.Policies;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.AspNetCore;

/// <summary>The AdmissionReview contract of the webhooks, on objects real kubectl prints, patches checked by an independent engine.</summary>
public sealed class AdmissionReviewHandlerTests
{
    internal static string MapText => File.ReadAllText(Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "maps.conf"));

    internal static AdmissionReviewHandler Handler(string? map = null, SwapDialect dialect = SwapDialect.ImageSwap, bool leaveSwapped = true, params string[] excluded) =>
        new(new WebhookConfiguration
        {
            Swapper = new ImageSwapper(ImageSwapMap.Load(map ?? MapText), new ImageSwapOptions { Dialect = dialect, LeaveSwappedImages = leaveSwapped }),
            Policy = PolicyPresets.Default,
            ExcludedNamespaces = [.. excluded],
        });

    private static JsonObject ThreeContainerPod() =>
        KubectlObjects.Pod("web", ("web", "nginx:1.25"), ("exporter", "quay.io/prometheus/node-exporter:v1.8.0"), ("pause", "gcr.io/google-containers/pause:3.9"));

    [SkippableFact]
    public void A_pod_from_kubectl_run_gets_one_replace_per_image_and_the_patch_applies_under_python_jsonpatch_as_swap_prints_it()
    {
        JsonObject pod = ThreeContainerPod();
        AdmissionAnswer answer = Handler().MutatePods(Reviews.For(pod));

        Assert.Equal(200, answer.StatusCode);
        Assert.Equal(AdmissionOutcome.Patched, answer.Outcome);
        JsonObject response = Reviews.Response(answer.Body.Span);
        Assert.True((bool)response["allowed"]!);
        JsonArray patch = Reviews.Patch(response)!;
        Assert.Equal(3, patch.Count);
        Assert.All(patch, op => Assert.Equal("replace", (string?)op!["op"]));

        JsonNode patched = IndependentJsonPatch.Apply(pod, patch);
        string dir = Directory.CreateTempSubdirectory("rp-swap-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "pod.json"), pod.ToJsonString());
            CliResult swap = CliRunner.Run("swap", "--map-file", Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "maps.conf"), "-f", Path.Combine(dir, "pod.json"), "-o", "yaml");
            Assert.Equal(0, swap.ExitCode);
            JsonArray printed = IndependentJsonPatch.YamlToJson(swap.Output);
            Assert.True(JsonNode.DeepEquals(patched, printed.Single()), $"webhook: {patched.ToJsonString()}\nswap: {printed.Single()!.ToJsonString()}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableTheory]
    [InlineData("deployment")]
    [InlineData("job")]
    [InlineData("cronjob")]
    public void Workloads_from_kubectl_create_are_patched_at_their_pod_template_and_a_second_pass_is_a_no_op(string kind)
    {
        string[] args = kind switch
        {
            "deployment" => ["create", "deployment", "web", "--image=nginx:1.25", "--image=quay.io/org/app:2"],
            "job" => ["create", "job", "once", "--image=busybox:1.36"],
            _ => ["create", "cronjob", "nightly", "--image=busybox:1.36", "--schedule=0 3 * * *"],
        };
        JsonObject workload = KubectlObjects.Json([.. args, "--dry-run=client", "-o", "json"]);
        AdmissionReviewHandler handler = Handler();

        JsonArray patch = Reviews.Patch(Reviews.Response(handler.MutatePods(Reviews.For(workload)).Body.Span))!;
        string prefix = kind == "cronjob" ? "/spec/jobTemplate/spec/template/spec/containers/" : "/spec/template/spec/containers/";
        Assert.All(patch, op => Assert.StartsWith(prefix, (string)op!["path"]!, StringComparison.Ordinal));
        JsonObject once = IndependentJsonPatch.Apply(workload, patch).AsObject();

        // Reinvocation: the API server sends the object back with our patch applied.
        AdmissionAnswer again = handler.MutatePods(Reviews.For(once));
        Assert.Equal(AdmissionOutcome.Unchanged, again.Outcome);
        Assert.Null(Reviews.Patch(Reviews.Response(again.Body.Span)));
    }

    [Fact]
    public void A_prefix_default_map_swaps_once_even_though_upstream_would_swap_the_result_again()
    {
        const string map = "default:harbor.example.com/mirror\n";
        var pod = JsonNode.Parse("""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"nginx:1.25"}]}}""")!.AsObject();
        AdmissionReviewHandler handler = Handler(map);
        JsonArray patch = Reviews.Patch(Reviews.Response(handler.MutatePods(Reviews.For(pod)).Body.Span))!;
        Assert.Equal("harbor.example.com/mirror/nginx:1.25", (string?)patch[0]!["value"]);
        pod["spec"]!["containers"]![0]!["image"] = "harbor.example.com/mirror/nginx:1.25";

        Assert.Null(Reviews.Patch(Reviews.Response(handler.MutatePods(Reviews.For(pod)).Body.Span)));
        // Upstream's behaviour, on request: the image is swapped a second time.
        Assert.NotNull(Reviews.Patch(Reviews.Response(Handler(map, leaveSwapped: false).MutatePods(Reviews.For(pod)).Body.Span)));
    }

    [SkippableFact]
    public void An_update_rewrites_only_images_that_differ_from_the_old_object_so_no_running_container_is_restarted()
    {
        JsonObject old = ThreeContainerPod();
        JsonObject updated = old.DeepClone().AsObject();
        updated["metadata"]!["labels"]!.AsObject()["team"] = "a";
        AdmissionReviewHandler handler = Handler();

        Assert.Null(Reviews.Patch(Reviews.Response(handler.MutatePods(Reviews.For(updated, "UPDATE", old)).Body.Span)));

        updated["spec"]!["containers"]![1]!["image"] = "quay.io/prometheus/node-exporter:v1.9.0";
        JsonArray patch = Reviews.Patch(Reviews.Response(handler.MutatePods(Reviews.For(updated, "UPDATE", old)).Body.Span))!;
        Assert.Equal("/spec/containers/1/image", (string?)Assert.Single(patch)!["path"]);
    }

    [SkippableTheory]
    [InlineData("DELETE", null)]
    [InlineData("CONNECT", null)]
    [InlineData("UPDATE", "status")]
    [InlineData("CREATE", "binding")]
    public void Deletes_connects_and_subresources_are_allowed_untouched(string operation, string? subResource)
    {
        AdmissionAnswer answer = Handler().MutatePods(Reviews.For(ThreeContainerPod(), operation, ThreeContainerPod(), subResource));

        Assert.Equal(AdmissionOutcome.Skipped, answer.Outcome);
        JsonObject response = Reviews.Response(answer.Body.Span);
        Assert.True((bool)response["allowed"]!);
        Assert.Null(Reviews.Patch(response));
    }

    [SkippableFact]
    public void A_dry_run_gets_the_same_answer_as_a_real_request()
    {
        AdmissionReviewHandler handler = Handler();
        JsonObject pod = ThreeContainerPod();

        Assert.Equal(handler.MutatePods(Reviews.For(pod)).Body.ToArray(), handler.MutatePods(Reviews.For(pod, dryRun: true)).Body.ToArray());
    }

    [SkippableFact]
    public void The_response_speaks_the_apiVersion_of_the_request()
    {
        AdmissionAnswer answer = Handler().MutatePods(Reviews.For(ThreeContainerPod(), apiVersion: "admission.k8s.io/v1beta1"));

        Assert.NotNull(Reviews.Patch(Reviews.Response(answer.Body.Span, "admission.k8s.io/v1beta1")));
    }

    [SkippableFact]
    public void The_opt_out_label_a_mirror_pod_and_an_excluded_namespace_are_left_alone()
    {
        JsonObject optedOut = ThreeContainerPod();
        optedOut["metadata"]!["labels"]!.AsObject()["k8s.twr.io/imageswap"] = "disabled";
        JsonObject mirror = ThreeContainerPod();
        mirror["metadata"]!["annotations"] = new JsonObject { ["kubernetes.io/config.mirror"] = "abc" };

        Assert.Equal(AdmissionOutcome.Skipped, Handler().MutatePods(Reviews.For(optedOut)).Outcome);
        Assert.Equal(AdmissionOutcome.Skipped, Handler().MutatePods(Reviews.For(mirror)).Outcome);
        Assert.Equal(AdmissionOutcome.Skipped, Handler(excluded: "kube-system").MutatePods(Reviews.For(ThreeContainerPod(), ns: "kube-system")).Outcome);
        Assert.Equal(AdmissionOutcome.Patched, Handler(excluded: "kube-system").MutatePods(Reviews.For(ThreeContainerPod(), ns: "default")).Outcome);
    }

    [Theory]
    [InlineData("", "not JSON")]
    [InlineData("{\"apiVersion\":", "not JSON")]
    [InlineData("[]", "AdmissionReview object")]
    [InlineData("{\"kind\":\"AdmissionReview\"}", "apiVersion")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v2\",\"kind\":\"AdmissionReview\",\"request\":{}}", "apiVersion must be")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", "no request")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"operation\":\"CREATE\"}}", "uid")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":7}}", "uid")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\",\"object\":null}}", "request.object")]
    [InlineData("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"operation\":\"PATCH\"}}", "operation")]
    public void A_body_that_is_not_a_review_is_a_400_with_the_reason(string body, string reason)
    {
        foreach (AdmissionAnswer answer in new[] { Handler().MutatePods(Encoding.UTF8.GetBytes(body)), Handler().MutateSecrets(Encoding.UTF8.GetBytes(body)) })
        {
            Assert.Equal(400, answer.StatusCode);
            Assert.Equal(AdmissionOutcome.BadRequest, answer.Outcome);
            Assert.Contains(reason, Encoding.UTF8.GetString(answer.Body.Span), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Invalid_utf8_or_an_escaped_lone_surrogate_is_a_400_not_an_exception()
    {
        byte[] review = Encoding.UTF8.GetBytes("""{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","kind":{"kind":"Pod"},"object":{"kind":"Pod","spec":{"containers":[{"name":"c","image":"IMAGE"}]}}}}""");
        int at = review.AsSpan().IndexOf("IMAGE"u8);
        byte[] invalid = [.. review[..at], 0xC3, 0x28, .. review[(at + 5)..]];
        byte[] surrogate = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(review).Replace("IMAGE", "\\ud800", StringComparison.Ordinal));

        foreach (byte[] body in new[] { invalid, surrogate })
        {
            AdmissionAnswer answer = Handler().MutatePods(body);
            Assert.Equal(400, answer.StatusCode);
            Assert.Contains("UTF-8", Encoding.UTF8.GetString(answer.Body.Span), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Deeply_nested_or_huge_bodies_are_answered_without_throwing()
    {
        string deep = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\",\"object\":" +
            new string('[', 100_000) + new string(']', 100_000) + "}}";
        Assert.Equal(400, Handler().MutatePods(Encoding.UTF8.GetBytes(deep)).StatusCode);

        var manyContainers = new JsonArray();
        for (int i = 0; i < 20_000; i++)
        {
            manyContainers.Add((JsonNode)new JsonObject { ["name"] = $"c{i}", ["image"] = i % 2 == 0 ? "nginx" : 42 });
        }

        var pod = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = new JsonObject { ["name"] = "p" }, ["spec"] = new JsonObject { ["containers"] = manyContainers } };
        JsonArray patch = Reviews.Patch(Reviews.Response(Handler().MutatePods(Reviews.For(pod)).Body.Span))!;
        Assert.Equal(10_000, patch.Count);
    }

    [Fact]
    public void Warnings_name_the_container_and_stay_within_256_characters()
    {
        string longName = "localhost:5000/" + new string('a', 200) + ":1";
        var pod = JsonNode.Parse("""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"IMAGE"}]}}""".Replace("IMAGE", longName, StringComparison.Ordinal))!.AsObject();

        // imageswap takes 'localhost:5000' for a path under docker.io, so the result is not a valid reference; the warning says so, clipped.
        JsonObject response = Reviews.Response(Handler("default::\ndocker.io::harbor.example.org/airgap/docker.io\n").MutatePods(Reviews.For(pod)).Body.Span);
        JsonArray warnings = response["warnings"]!.AsArray();
        Assert.All(warnings, w => Assert.InRange(((string)w!).Length, 1, AdmissionReviewHandler.MaxWarningLength));
        Assert.Contains("container 'c'", (string)warnings[0]!, StringComparison.Ordinal);

        Assert.Null(Reviews.Patch(response)); // an invalid rewrite is never applied: the kubelet would fail the Pod

        JsonObject noDefault = Reviews.Response(Handler("docker.io::harbor.example.com\n").MutatePods(Reviews.For(pod)).Body.Span);
        Assert.Contains("no 'default' entry", (string)noDefault["warnings"]![0]!, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void A_registry_secret_gets_the_same_patch_as_admit_prints_and_its_credentials_appear_only_inside_the_patch()
    {
        JsonObject secret = KubectlObjects.Json("create", "secret", "generic", "serverless-registry-config", "-n", "team-a",
            "--from-literal=serverAddress=registry.example.com", "--from-literal=username=team-a-ci", "--from-literal=password=s3cr3t-marker-pw",
            "--dry-run=client", "-o", "json");
        secret["metadata"]!["labels"] = new JsonObject { ["serverless.kyma-project.io/remote-registry"] = "config" };

        AdmissionAnswer answer = Handler().MutateSecrets(Reviews.For(secret, ns: "team-a"));
        JsonObject response = Reviews.Response(answer.Body.Span);
        JsonArray patch = Reviews.Patch(response)!;
        JsonNode patched = IndependentJsonPatch.Apply(secret, patch);
        string config = Encoding.UTF8.GetString(Convert.FromBase64String((string)patched["data"]![".dockerconfigjson"]!));
        Assert.Contains("registry.example.com", config, StringComparison.Ordinal);

        string dir = Directory.CreateTempSubdirectory("rp-admit-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "secret.json"), secret.ToJsonString());
            CliResult admit = CliRunner.Run("admit", "-f", Path.Combine(dir, "secret.json"), "-o", "json", "--show-secrets");
            JsonArray expected = JsonNode.Parse(admit.Output)!["patch"]!.AsArray();
            Assert.True(JsonNode.DeepEquals(expected, patch), $"admit: {expected.ToJsonString()}\nwebhook: {patch.ToJsonString()}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        string outside = Encoding.UTF8.GetString(answer.Body.Span).Replace((string)response["patch"]!, string.Empty, StringComparison.Ordinal) + answer.Message + answer;
        Assert.DoesNotContain("s3cr3t-marker-pw", outside, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes("s3cr3t-marker-pw")), outside, StringComparison.Ordinal);
    }

    [Fact]
    public void A_secret_the_policy_refuses_is_denied_with_the_policys_status_and_no_credentials()
    {
        var secret = JsonNode.Parse("""
            {"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"team-a","labels":{"serverless.kyma-project.io/remote-registry":"config"}},
             "data":{"username":"dGVhbS1hLWNp","password":"czNjcjN0LW1hcmtlci1wdw=="},"type":"Opaque"}
            """)!.AsObject();

        AdmissionAnswer answer = Handler().MutateSecrets(Reviews.For(secret, ns: "team-a"));

        Assert.Equal(AdmissionOutcome.Denied, answer.Outcome);
        JsonObject response = Reviews.Response(answer.Body.Span);
        Assert.False((bool)response["allowed"]!);
        Assert.Contains("serverAddress", (string)response["status"]!["message"]!, StringComparison.Ordinal);
        Assert.DoesNotContain("czNjcjN0", Encoding.UTF8.GetString(answer.Body.Span), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", Encoding.UTF8.GetString(answer.Body.Span), StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_apiVersion_is_refused_without_repeating_it()
    {
        AdmissionAnswer answer = Handler().MutateSecrets(Encoding.UTF8.GetBytes("""{"apiVersion":"Zq9-MARKER-pw","kind":"AdmissionReview","request":{"uid":"u"}}"""));

        Assert.Equal(400, answer.StatusCode);
        Assert.DoesNotContain("MARKER", Encoding.UTF8.GetString(answer.Body.Span) + answer.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void A_secret_with_only_stringData_gets_a_patch_that_applies_to_it()
    {
        JsonObject secret = JsonNode.Parse("""
            {"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"team-a","labels":{"serverless.kyma-project.io/remote-registry":"config"}},
             "type":"Opaque","stringData":{"serverAddress":"registry.example.com","username":"u","password":"p"}}
            """)!.AsObject();

        JsonArray patch = Reviews.Patch(Reviews.Response(Handler().MutateSecrets(Reviews.For(secret, ns: "team-a")).Body.Span))!;

        JsonNode patched = IndependentJsonPatch.Apply(secret, patch);
        Assert.NotNull(patched["data"]![".dockerconfigjson"]);
    }

    [Fact]
    public void A_secret_outside_the_policys_selector_is_allowed_untouched()
    {
        var secret = JsonNode.Parse("""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"team-a"},"data":{"password":"eA=="}}""")!.AsObject();

        AdmissionAnswer answer = Handler().MutateSecrets(Reviews.For(secret, ns: "team-a"));

        Assert.Equal(AdmissionOutcome.Skipped, answer.Outcome);
        Assert.Null(Reviews.Patch(Reviews.Response(answer.Body.Span)));
    }
}
