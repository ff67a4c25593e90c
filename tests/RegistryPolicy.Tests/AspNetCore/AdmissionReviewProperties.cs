using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.AspNetCore;
using RegistryPolicy.Swap;

namespace RegistryPolicy.Tests.AspNetCore;

/// <summary>Invariants of the image-swap webhook over maps and images drawn at random.</summary>
public sealed class AdmissionReviewProperties
{
    private static readonly string[] MapLines =
    [
        "default::", "default:harbor.example.com/mirror", "default:my.example.com/mirror-", "docker.io::harbor.example.org/airgap/docker.io",
        "docker.io::quay.io/mirror", "quay.io::harbor.example.org/quay", "quay.io::", "gcr.io::harbor.example.org/airgap/gcr.io/",
        "my.registry:443::mirror.example.com", "localhost:5000::harbor.example.org/local", "[EXACT]busybox::harbor.example.org/airgap/docker.io/library/busybox:1.36",
        "[REPLACE]ghcr.io/example*::harbor.example.org/airgap/flat", "noswap_wildcards::harbor.example.org,internal", "docker.io/library::harbor.example.org/lib",
    ];

    private static readonly string[] Images =
    [
        "nginx", "nginx:1.25", "busybox", "docker.io/library/redis:7", "quay.io/org/app:1", "gcr.io/project/img", "ghcr.io/example/tool:2",
        "my.registry:443/team/app:v1", "localhost:5000/app", "harbor.example.org/airgap/docker.io/nginx", "internal.example.com/x",
        "registry.k8s.io/pause:3.9", "quay.io/mirror/nginx", "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ];

    private static JsonObject Pod(IEnumerable<string> containers, IEnumerable<string> init) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = new JsonObject { ["name"] = "p", ["namespace"] = "default" },
        ["spec"] = new JsonObject
        {
            ["containers"] = new JsonArray([.. containers.Select((image, i) => (JsonNode)new JsonObject { ["name"] = $"c{i}", ["image"] = image })]),
            ["initContainers"] = new JsonArray([.. init.Select((image, i) => (JsonNode)new JsonObject { ["name"] = $"i{i}", ["image"] = image })]),
        },
    };

    private static Arbitrary<(string Map, SwapDialect Dialect, string[] Containers, string[] Init)> Cases() =>
        (from lines in Gen.SubListOf(MapLines)
         from dialect in Gen.Elements(SwapDialect.ImageSwap, SwapDialect.Reference)
         from containers in Gen.NonEmptyListOf(Gen.Elements(Images))
         from init in Gen.ListOf(Gen.Elements(Images))
         select (string.Join('\n', lines), dialect, containers.Take(5).ToArray(), init.Take(3).ToArray())).ToArbitrary();

    [Property(MaxTest = 300)]
    public Property A_second_pass_over_the_patched_object_answers_no_patch() =>
        Prop.ForAll(Cases(), c =>
        {
            var handler = new AdmissionReviewHandler(new WebhookConfiguration
            {
                Swapper = new ImageSwapper(ImageSwapMap.Load(c.Map), new ImageSwapOptions { Dialect = c.Dialect, LeaveSwappedImages = true }),
            });
            JsonObject pod = Pod(c.Containers, c.Init);
            JsonArray? patch = Reviews.Patch(Reviews.Response(handler.MutatePods(Reviews.For(pod)).Body.Span));
            if (patch is null)
            {
                return true.Label("no patch");
            }

            var ops = patch.Select(o => new JsonPatchOperation((string)o!["op"]!, (string)o["path"]!, o["value"]!.ToJsonString())).ToList();
            bool applied = JsonPatch.TryApply(pod, ops, out JsonNode? once, out string? error);
            AdmissionAnswer again = handler.MutatePods(Reviews.For(once!.AsObject()));
            return (applied && again.PatchOperations == 0).Label($"{error} second: {again} map: {c.Map.Replace('\n', ' ')}");
        });

    [Property(MaxTest = 200)]
    public Property The_patch_sets_exactly_what_ImageSwapper_rewrites_container_by_container() =>
        Prop.ForAll(Cases(), c =>
        {
            var swapper = new ImageSwapper(ImageSwapMap.Load(c.Map), new ImageSwapOptions { Dialect = c.Dialect, LeaveSwappedImages = true });
            var handler = new AdmissionReviewHandler(new WebhookConfiguration { Swapper = swapper });
            JsonObject pod = Pod(c.Containers, c.Init);
            JsonArray patch = Reviews.Patch(Reviews.Response(handler.MutatePods(Reviews.For(pod)).Body.Span)) ?? [];
            var expected = c.Containers.Select((image, i) => ($"/spec/containers/{i}/image", image, swapper.Rewrite(image).Result))
                .Concat(c.Init.Select((image, i) => ($"/spec/initContainers/{i}/image", image, swapper.Rewrite(image).Result)))
                .Where(e => e.Item2 != e.Item3 && !swapper.Rewrite(e.Item2).ResultIsInvalid) // an invalid rewrite is left out
                .Select(e => (e.Item1, e.Item3));
            var actual = patch.Select(o => ((string)o!["path"]!, (string)o["value"]!));
            return expected.SequenceEqual(actual).Label(string.Join(", ", actual));
        });

    [Property(MaxTest = 200)]
    public Property The_order_of_the_reviews_keys_and_of_the_objects_keys_does_not_change_the_answer() =>
        Prop.ForAll(Cases(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (c, seed) =>
        {
            var handler = new AdmissionReviewHandler(new WebhookConfiguration
            {
                Swapper = new ImageSwapper(ImageSwapMap.Load(c.Map), new ImageSwapOptions { Dialect = c.Dialect, LeaveSwappedImages = true }),
            });
            byte[] review = Reviews.For(Pod(c.Containers, c.Init), "UPDATE", Pod(c.Init, c.Containers));
            byte[] shuffled = Encoding.UTF8.GetBytes(Shuffle(JsonNode.Parse(review)!, new Random(seed)).ToJsonString());
            AdmissionAnswer a = handler.MutatePods(review), b = handler.MutatePods(shuffled);
            return (a.Body.Span.SequenceEqual(b.Body.Span)).Label($"{a} / {b}");
        });

    private static JsonNode Shuffle(JsonNode node, Random random) => node switch
    {
        JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(p.Key, p.Value is null ? null : Shuffle(p.Value, random))).OrderBy(_ => random.Next())),
        JsonArray a => new JsonArray([.. a.Select(i => i is null ? null : Shuffle(i, random))]),
        _ => node.DeepClone(),
    };
}
