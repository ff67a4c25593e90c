using BenchmarkDotNet.Attributes;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;
using RegistryPolicy.WhatIf;

namespace RegistryPolicy.Benchmarks.Resolution;

/// <summary><c>WhatIf.Compare</c> of two 10,000-namespace snapshots (100,000 Secrets each) that differ in one namespace in a hundred.</summary>
[MemoryDiagnoser]
public class WhatIfBenchmarks
{
    private ClusterSnapshot _before = ClusterSnapshot.Empty;
    private ClusterSnapshot _after = ClusterSnapshot.Empty;

    [GlobalSetup]
    public void Setup()
    {
        var objects = KymaCluster.Objects(10_000).ToList();
        _before = ClusterSnapshot.Create(objects);
        var changed = objects.Select(o => o is SecretObject s && s.Name == "serverless-registry-config" && s.Namespace!.EndsWith("00", StringComparison.Ordinal)
            ? s with { Data = s.Data.With("registryAddress", "moved.example.com"u8) }
            : o);
        _after = ClusterSnapshot.Create(changed);
    }

    [Benchmark]
    public int Compare() => WhatIf.WhatIfEngine.Compare(new WhatIfSide(PolicyPresets.Default, _before), new WhatIfSide(PolicyPresets.Default, _after)).Namespaces.Length;
}
