using BenchmarkDotNet.Attributes;
using RegistryPolicy.Credentials;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Benchmarks.Credentials;

/// <summary><c>RegistryPolicy.Pulls.PullEngine.Analyze</c> over 10,000 workloads with 5 containers each (1,000 namespaces, a linked pull secret in each).</summary>
[MemoryDiagnoser]
public class PullCoverageBenchmarks
{
    private ClusterSnapshot _snapshot = ClusterSnapshot.Empty;

    [GlobalSetup]
    public void Setup()
    {
        byte[] config = DockerConfigJson.Encode("registry.example.com", "robot", "robot-password");
        var objects = new List<KubeObject>();
        string[] images = ["registry.example.com/team/app:1", "nginx:1.25", "quay.io/org/sidecar:2", "registry.example.com/team/worker@sha256:" + new string('a', 64), "private.example.org/x:3"];
        for (int n = 0; n < 1000; n++)
        {
            string ns = $"team-{n:D4}";
            objects.Add(new ServiceAccountObject(new ObjectMetadata("default", ns), new ValueArray<string>(["regcred"])));
            objects.Add(new SecretObject(new ObjectMetadata("regcred", ns), PullSecret.DockerConfigJsonType, SecretData.Create([new(PullSecret.DockerConfigJsonKey, config)])));
            for (int w = 0; w < 10; w++)
            {
                var containers = images.Select((image, i) => new ContainerSpec(ContainerRole.Container, i, $"c{i}", image, null));
                objects.Add(new WorkloadObject("Deployment", new ObjectMetadata($"app-{w}", ns), new PodTemplate("/spec/template/spec", null, default, new ValueArray<ContainerSpec>(containers))));
            }
        }

        _snapshot = ClusterSnapshot.Create(objects);
    }

    [Benchmark]
    public int Analyze() => RegistryPolicy.Pulls.PullEngine.Analyze(_snapshot).Length;
}
