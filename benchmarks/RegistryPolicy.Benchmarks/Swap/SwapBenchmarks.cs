using BenchmarkDotNet.Attributes;
using RegistryPolicy.Swap;

namespace RegistryPolicy.Benchmarks.Swap;

/// <summary><c>ImageSwapper.Rewrite</c> with a 20-entry map over a realistic image mix (per image).</summary>
[MemoryDiagnoser]
public class SwapBenchmarks
{
    private static readonly string[] Images =
    [
        "nginx:1.25", "docker.io/library/redis:7", "quay.io/prometheus/node-exporter:v1.7.0", "registry.k8s.io/pause:3.9",
        "gcr.io/distroless/static:nonroot", "ghcr.io/fluxcd/source-controller:v1.2.0", "mcr.microsoft.com/dotnet/aspnet:8.0",
        "registry.example.com:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "bitnami/postgresql:16", "public.ecr.aws/eks/aws-load-balancer-controller:v2.7.0", "europe-docker.pkg.dev/p/r/i:t", "busybox",
    ];

    private ImageSwapper _swapper = null!;
    private ImageSwapper _unlisted = null!;

    [GlobalSetup]
    public void Setup()
    {
        string maps = string.Join('\n', MapLines);
        _swapper = new ImageSwapper(ImageSwapMap.Load(maps));
        _unlisted = _swapper;
    }

    private static readonly string[] MapLines =
        [
            "default::", "docker.io::harbor.example.org/airgap/docker.io", "docker.io/library::harbor.example.org/airgap/docker.io/library",
            "quay.io::harbor.example.org/airgap/quay.io", "gcr.io::harbor.example.org/airgap/gcr.io", "registry.k8s.io::harbor.example.org/airgap/k8s.io",
            "k8s.gcr.io::harbor.example.org/airgap/gcr.io", "ghcr.io::harbor.example.org/airgap/ghcr.io", "public.ecr.aws::harbor.example.org/airgap/ecr",
            "us-docker.pkg.dev::harbor.example.org/airgap", "nvcr.io::harbor.example.org/airgap/nvcr.io", "registry.gitlab.com::harbor.example.org/airgap/gitlab",
            "docker.elastic.co::harbor.example.org/airgap/elastic", "registry.opensource.zalan.do::harbor.example.org/airgap/zalando",
            "cgr.dev::harbor.example.org/airgap/chainguard", "registry.redhat.io::harbor.example.org/airgap/redhat", "icr.io::harbor.example.org/airgap/icr",
            "noswap_wildcards::harbor.example.org", "[EXACT]busybox::harbor.example.org/airgap/docker.io/library/busybox:1.36",
            "[REPLACE]ghcr.io/example*::harbor.example.org/airgap/flat",
        ];

    [Benchmark(OperationsPerInvoke = 12)]
    public int RewriteMix()
    {
        int n = 0;
        foreach (string image in Images)
        {
            n += _swapper.Rewrite(image).Result.Length;
        }

        return n;
    }

    [Benchmark]
    public bool RewriteUnlisted() => _unlisted.Rewrite("mcr.microsoft.com/dotnet/aspnet:8.0").Swapped;
}
