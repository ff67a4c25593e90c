using System.Text;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using RegistryPolicy.AspNetCore;
using RegistryPolicy.Policies;
using RegistryPolicy.Swap;

namespace RegistryPolicy.Benchmarks.AspNetCore;

/// <summary>
/// One AdmissionReview through the in-process handler (parse, rewrite, patch, base64, response), no HTTP: the review of
/// <c>samples/admission-review-pod.json</c> (a <c>kubectl run</c> Pod with three containers) under <c>samples/maps.conf</c>,
/// where all three images swap, and the same Pod already swapped, where nothing does.
/// </summary>
[MemoryDiagnoser]
public class AdmissionReviewBenchmarks
{
    private AdmissionReviewHandler _handler = null!;
    private byte[] _threeSwap = null!;
    private byte[] _noSwap = null!;
    private byte[] _secret = null!;

    [GlobalSetup]
    public void Setup()
    {
        string root = Root();
        string map = File.ReadAllText(Path.Combine(root, "samples", "maps.conf"));
        _handler = new AdmissionReviewHandler(new WebhookConfiguration
        {
            Swapper = new ImageSwapper(ImageSwapMap.Load(map), new ImageSwapOptions { LeaveSwappedImages = true }),
            Policy = PolicyPresets.Default,
        });
        // Compact, as the API server sends reviews (Go's encoding/json); the sample file is indented for people.
        JsonNode review = JsonNode.Parse(File.ReadAllBytes(Path.Combine(root, "samples", "admission-review-pod.json")))!;
        _threeSwap = Encoding.UTF8.GetBytes(review.ToJsonString());
        foreach (JsonNode? container in review["request"]!["object"]!["spec"]!["containers"]!.AsArray())
        {
            string image = (string)container!["image"]!;
            container["image"] = _handler.Configuration.Swapper!.Rewrite(image).Result;
        }

        _noSwap = Encoding.UTF8.GetBytes(review.ToJsonString());
        if (_handler.MutatePods(_threeSwap).PatchOperations != 3 || _handler.MutatePods(_noSwap).PatchOperations != 0)
        {
            throw new InvalidOperationException("the benchmark inputs do not swap as described");
        }

        var secret = JsonNode.Parse("""
            {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"Secret"},
             "namespace":"team-a","operation":"CREATE","object":{"apiVersion":"v1","kind":"Secret","metadata":{"name":"serverless-registry-config","namespace":"team-a",
             "labels":{"serverless.kyma-project.io/remote-registry":"config"}},"type":"Opaque","data":{"serverAddress":"cmVnaXN0cnkuZXhhbXBsZS5jb20=",
             "username":"dGVhbS1hLWNp","password":"ZXhhbXBsZS1wYXNzd29yZA=="}}}}
            """)!;
        _secret = Encoding.UTF8.GetBytes(secret.ToJsonString());
    }

    [Benchmark(Baseline = true)]
    public int PodThreeContainersAllSwap() => _handler.MutatePods(_threeSwap).Body.Length;

    [Benchmark]
    public int PodNothingSwaps() => _handler.MutatePods(_noSwap).Body.Length;

    [Benchmark]
    public int EnvelopeOnly() => RegistryPolicy.AspNetCore.ReviewReader.TryRead(_noSwap, out var e, out _, out _) ? e.Object.Length : 0;

    [Benchmark]
    public int TokensOnly()
    {
        var reader = new System.Text.Json.Utf8JsonReader(_noSwap);
        int n = 0;
        while (reader.Read())
        {
            n++;
        }

        return n;
    }

    [Benchmark]
    public int SecretDefaulting() => _handler.MutateSecrets(_secret).Body.Length;

    private static string Root()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "RegistryPolicy.sln")))
            {
                return dir;
            }
        }

        throw new InvalidOperationException("run from inside the repository");
    }
}
