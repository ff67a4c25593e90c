using System.Text;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Differential;

/// <summary>Manifests printed by the real <c>kubectl create ... --dry-run=client</c>, read back by <see cref="SnapshotReader"/>.</summary>
[Trait("Category", "RealComponent")]
public class KubectlSnapshotDifferentialTests
{
    private static readonly string[] Pieces = ["a", "Z9", "é", "日本", "😀", "<", "&", "\"", "\\", "'", " ", "\t", "\n", "\r\n", ":", "- ", "#", "{", "}", "[", "null", "true", "~", "0x1F", "\u2028", ""];

    private static string Generate(Random random, int maxPieces)
    {
        var text = new StringBuilder();
        int count = random.Next(0, maxPieces + 1);
        for (int i = 0; i < count; i++)
        {
            text.Append(Pieces[random.Next(Pieces.Length)]);
        }

        return text.ToString();
    }

    [SkippableFact]
    public void Secret_values_kubectl_encodes_decode_to_the_same_bytes_in_yaml_and_json()
    {
        string kubectl = RealTools.Require("kubectl", "kubectl is expected on every machine");
        var random = new Random(7);
        var failures = new List<string>();
        for (int round = 0; round < 12; round++)
        {
            var values = new Dictionary<string, string>();
            var args = new List<string> { "create", "secret", "generic", "s", "--namespace", "team-x", "--dry-run=client" };
            for (int k = 0; k < 4; k++)
            {
                string key = $"key{k}";
                string value = Generate(random, 6);
                values[key] = value;
                args.Add($"--from-literal={key}={value}");
            }

            foreach (string format in new[] { "yaml", "json" })
            {
                ProcessResult result = RealTools.Run(kubectl, [.. args, "-o", format]);
                Assert.True(result.ExitCode == 0, result.Error);
                SnapshotSource source = SnapshotReader.Read(result.Output, $"kubectl.{format}");
                var secret = (SecretObject)source.Objects.Single().Item;
                Assert.Empty(source.Diagnostics);
                Assert.Equal(new Diagnostics.ObjectReference("Secret", "team-x", "s"), secret.Reference);
                foreach (var (key, value) in values)
                {
                    if (!secret.Data.TryGetBytes(key, out ReadOnlyMemory<byte> bytes) || !bytes.Span.SequenceEqual(Encoding.UTF8.GetBytes(value)))
                    {
                        failures.Add($"{format} {key}: {value.Replace("\n", "\\n", StringComparison.Ordinal)}");
                    }
                }
            }
        }

        Assert.Empty(failures);
    }

    [SkippableFact]
    public void Labels_and_workloads_kubectl_prints_read_back_as_given()
    {
        string kubectl = RealTools.Require("kubectl", "kubectl is expected on every machine");

        ProcessResult ns = RealTools.Run(kubectl, ["create", "namespace", "team-y", "--dry-run=client", "-o", "yaml"]);
        ProcessResult deployment = RealTools.Run(kubectl, ["create", "deployment", "web", "-n", "team-y", "--image=registry.example.com/web:1", "--image=busybox", "--dry-run=client", "-o", "yaml"]);
        ProcessResult job = RealTools.Run(kubectl, ["create", "cronjob", "nightly", "-n", "team-y", "--image=ghcr.io/org/job@sha256:" + new string('a', 64), "--schedule=@daily", "--dry-run=client", "-o", "json"]);
        ProcessResult labelled = RealTools.Run(kubectl, ["label", "--local", "-f", "-", "serverless.kyma-project.io/managed-by=user", "team=a", "-o", "yaml"], ns.Output);

        ClusterSnapshot snapshot = ClusterSnapshot.Create(
            SnapshotReader.Read(labelled.Output, "ns.yaml"), SnapshotReader.Read(deployment.Output, "deploy.yaml"), SnapshotReader.Read(job.Output, "job.json"));

        Assert.Empty(snapshot.Diagnostics);
        Assert.Equal(StringMap.Of("serverless.kyma-project.io/managed-by", "user", "team", "a"), snapshot.GetNamespace("team-y")!.Metadata.Labels);
        Assert.True(snapshot.GetNamespace("team-y")!.IsDeclared);
        WorkloadObject web = snapshot.Workloads.Single(w => w.Kind == "Deployment");
        Assert.Equal(["registry.example.com/web:1", "busybox"], web.Template.Containers.Select(c => c.Image));
        WorkloadObject cron = snapshot.Workloads.Single(w => w.Kind == "CronJob");
        Assert.Equal("/spec/jobTemplate/spec/template/spec", cron.Template.SpecPath);
        Assert.Equal("ghcr.io/org/job@sha256:" + new string('a', 64), cron.Template.Containers.Single().Image);
    }
}
