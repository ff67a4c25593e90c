using BenchmarkDotNet.Attributes;
using RegistryPolicy.References;

namespace RegistryPolicy.Benchmarks.References;

/// <summary>Parsing and normalising a realistic mix of references (see docs/performance.md).</summary>
[MemoryDiagnoser]
public class ImageReferenceBenchmarks
{
    /// <summary>Implicit Docker Hub names, well-known registries, ports, nested paths, tags and digests.</summary>
    public static readonly string[] Mix =
    [
        "nginx",
        "nginx:1.25",
        "library/redis:7",
        "bitnami/kafka:3.6.1",
        "docker.io/library/alpine:3.19",
        "index.docker.io/grafana/grafana:10.2.0",
        "quay.io/prometheus/node-exporter:v1.7.0",
        "ghcr.io/org/team/app:sha-1a2b3c",
        "registry.k8s.io/kube-apiserver:v1.29.0",
        "localhost:5000/dev/app",
        "myregistry.example.com:5000/platform/base/runtime:2024.01",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/service@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "gcr.io/distroless/static:nonroot@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "registry.gitlab.com/group/sub/project/image:main",
        "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "postgres:16-alpine",
    ];

    /// <summary>One normalisation and one canonical string per reference, averaged over the mix.</summary>
    [Benchmark(OperationsPerInvoke = 16)]
    public int TryParseNormalized_and_ToString()
    {
        int total = 0;
        foreach (string input in Mix)
        {
            if (ImageReference.TryParseNormalized(input, out ImageReference reference, out _))
            {
                total += reference.ToString().Length;
            }
        }

        return total;
    }

    /// <summary>Grammar check only (reference.Parse): no allocation.</summary>
    [Benchmark(OperationsPerInvoke = 16)]
    public int TryParse()
    {
        int total = 0;
        foreach (string input in Mix)
        {
            if (ImageReference.TryParse(input, out ImageReference reference, out _))
            {
                total += reference.PathSpan.Length;
            }
        }

        return total;
    }
}
