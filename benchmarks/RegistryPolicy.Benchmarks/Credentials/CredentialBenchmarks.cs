using BenchmarkDotNet.Attributes;
using RegistryPolicy.Credentials;
using RegistryPolicy.References;

namespace RegistryPolicy.Benchmarks.Credentials;

/// <summary>Encoding a pull secret, and looking images up in a keyring of 100 keys (see docs/performance.md).</summary>
[MemoryDiagnoser]
public class CredentialBenchmarks
{
    private CredentialKeyring _keyring = CredentialKeyring.Empty;
    private ImageReference[] _images = [];

    [GlobalSetup]
    public void Setup()
    {
        // 100 keys: hosts, hosts with ports, paths, globs and the Docker Hub default, across 10 pull secrets.
        var configs = new List<DockerConfig>();
        for (int s = 0; s < 10; s++)
        {
            var entries = new List<DockerConfigEntry>();
            for (int k = 0; k < 10; k++)
            {
                int n = (s * 10) + k;
                string key = (n % 5) switch
                {
                    0 => $"registry{n}.example.com",
                    1 => $"registry{n}.example.com:5000",
                    2 => $"https://registry{n}.example.com/v2/team{n}",
                    3 => $"*.region{n}.example.com",
                    _ => n == 4 ? "https://index.docker.io/v1/" : $"mirror{n}.internal/org",
                };
                entries.Add(new DockerConfigEntry(key, new RegistryCredential($"user{n}", $"password{n}")));
            }

            configs.Add(new DockerConfig(entries));
        }

        _keyring = CredentialKeyring.Create(configs);
        _images =
        [
            ImageReference.ParseNormalized("nginx:1.25"),
            ImageReference.ParseNormalized("registry10.example.com/app:1"),
            ImageReference.ParseNormalized("registry11.example.com:5000/app"),
            ImageReference.ParseNormalized("registry12.example.com/team12/app"),
            ImageReference.ParseNormalized("eu.region13.example.com/x/y"),
            ImageReference.ParseNormalized("quay.io/prometheus/node-exporter:v1"),
            ImageReference.ParseNormalized("mirror19.internal/org/base"),
            ImageReference.ParseNormalized("ghcr.io/org/app"),
        ];
    }

    /// <summary>kubectl-identical .dockerconfigjson bytes for one entry.</summary>
    [Benchmark]
    public byte[] Encode() => DockerConfigJson.Encode("registry.example.com:5000", "ci-robot", "s3cr3t-p@ss<word>&more", "ci@example.com");

    /// <summary>One lookup of a parsed image in a 100-key keyring, averaged over a mix of hits, misses and the Docker Hub fallback.</summary>
    [Benchmark(OperationsPerInvoke = 8)]
    public int Lookup()
    {
        int total = 0;
        foreach (ImageReference image in _images)
        {
            total += _keyring.Lookup(image).Matches.Length;
        }

        return total;
    }
}
