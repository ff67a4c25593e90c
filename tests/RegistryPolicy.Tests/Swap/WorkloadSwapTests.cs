using System.Text.Json.Nodes;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Swap;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Swap;

public sealed class WorkloadSwapTests
{
    private static readonly ImageSwapper Swapper = new(ImageSwapMap.Load("default::\ndocker.io::m.example.com/d\n[EXACT]same:1::same:1"));

    private const string Deployment = """
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"team"},
         "spec":{"template":{"spec":{
           "initContainers":[{"name":"init","image":"busybox"}],
           "containers":[{"name":"app","image":"nginx:1.25"},{"name":"side","image":"mcr.microsoft.com/x:1"},{"name":"same","image":"same:1"}],
           "ephemeralContainers":[{"name":"debug","image":"alpine"}]}}}}
        """;

    private static WorkloadObject Read(string json) => (WorkloadObject)SnapshotReader.Read(json, "w.json").Objects.Single().Item;

    [Fact]
    public void Containers_then_init_containers_are_replaced_at_the_pod_spec_path()
    {
        WorkloadSwap swap = Swapper.RewriteWorkload(Read(Deployment));

        Assert.Equal(
            ["replace /spec/template/spec/containers/0/image", "replace /spec/template/spec/initContainers/0/image"],
            swap.Patch.Select(p => p.ToString()));
        Assert.Equal("\"m.example.com/d/nginx:1.25\"", swap.Patch[0].ValueJson);
        Assert.True(swap.Swapped);
        Assert.DoesNotContain(swap.Containers, c => c.Container.Role == ContainerRole.EphemeralContainer);
    }

    [Fact]
    public void Ephemeral_containers_only_when_asked_or_in_the_reference_dialect()
    {
        WorkloadSwap asked = Swapper.RewriteWorkload(Read(Deployment), new WorkloadSwapOptions { IncludeEphemeralContainers = true });
        var reference = new ImageSwapper(ImageSwapMap.Load("default::\ndocker.io::m.example.com/d"), new ImageSwapOptions { Dialect = SwapDialect.Reference });
        WorkloadSwap byDialect = reference.RewriteWorkload(Read(Deployment));

        Assert.Contains(asked.Patch, p => p.Path == "/spec/template/spec/ephemeralContainers/0/image");
        Assert.Contains(byDialect.Patch, p => p.Path == "/spec/template/spec/ephemeralContainers/0/image" && p.ValueJson == "\"m.example.com/d/library/alpine\"");
    }

    [Fact]
    public void The_opt_out_label_leaves_the_object_alone()
    {
        WorkloadObject pod = Read("""{"kind":"Pod","metadata":{"name":"p","namespace":"n","labels":{"k8s.twr.io/imageswap":"disabled"}},"spec":{"containers":[{"name":"a","image":"nginx"}]}}""");

        WorkloadSwap swap = Swapper.RewriteWorkload(pod);

        Assert.True(swap.Disabled);
        Assert.Empty(swap.Patch);
        Assert.Single(Swapper.RewriteWorkload(pod, new WorkloadSwapOptions { DisableLabel = "other" }).Patch);
    }

    [Fact]
    public void Nothing_to_change_gives_an_empty_patch_even_for_an_identity_swap()
    {
        WorkloadObject pod = Read("""{"kind":"Pod","metadata":{"name":"p","namespace":"n"},"spec":{"containers":[{"name":"a","image":"same:1"},{"name":"b","image":"quay.io/x"}]}}""");

        WorkloadSwap swap = Swapper.RewriteWorkload(pod);

        Assert.Empty(swap.Patch);
        Assert.True(swap.Swapped); // upstream then answers with patch "[]"
    }

    [Fact]
    public void Cron_jobs_are_patched_under_the_job_template()
    {
        WorkloadObject cron = Read("""{"kind":"CronJob","metadata":{"name":"c","namespace":"n"},"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"nginx"}]}}}}}}""");

        Assert.Equal("/spec/jobTemplate/spec/template/spec/containers/0/image", Swapper.RewriteWorkload(cron).Patch.Single().Path);
    }

    [Fact]
    public void Applying_the_patch_to_the_manifest_gives_every_rewritten_image()
    {
        JsonNode manifest = JsonNode.Parse(Deployment)!;
        WorkloadSwap swap = Swapper.RewriteWorkload(Read(Deployment));

        foreach (var op in swap.Patch)
        {
            string[] parts = op.Path.TrimStart('/').Split('/');
            JsonNode target = manifest;
            foreach (string part in parts[..^1])
            {
                target = int.TryParse(part, out int index) ? target[index]! : target[part]!;
            }

            Assert.NotNull(target[parts[^1]]); // 'replace' requires the member to exist
            target[parts[^1]] = JsonNode.Parse(op.ValueJson);
        }

        var containers = manifest["spec"]!["template"]!["spec"]!["containers"]!.AsArray();
        Assert.Equal(["m.example.com/d/nginx:1.25", "mcr.microsoft.com/x:1", "same:1"], containers.Select(c => (string)c!["image"]!));
        Assert.Equal("m.example.com/d/busybox", (string)manifest["spec"]!["template"]!["spec"]!["initContainers"]![0]!["image"]!);
    }

    [Fact]
    public void The_cli_prints_one_patch_line_per_object()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "w.json");
        File.WriteAllText(file, Deployment);

        CliResult result = CliRunner.Run("swap", "--map-file", WriteMap(), "-f", file, "-o", "patch");

        Assert.Equal(0, result.ExitCode);
        JsonNode line = JsonNode.Parse(Assert.Single(result.Lines))!;
        Assert.Equal("Deployment team/web", (string)line["object"]!);
        Assert.Equal(3, line["patch"]!.AsArray().Count); // nginx, same:1 (no [EXACT] rule in this map) and busybox
    }

    private static string WriteMap()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "maps.conf");
        File.WriteAllText(file, "default::\ndocker.io::m.example.com/d\n");
        return file;
    }

    [Fact]
    public void The_cli_prints_rewritten_manifests_that_read_back_with_the_swapped_images()
    {
        string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "w.yaml");
        File.WriteAllText(file, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: team}\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers: [{name: app, image: \"nginx:1.25\"}, {name: b, image: quay.io/x}]\n---\nkind: ConfigMap\nmetadata: {name: c, namespace: team}\ndata: {a: \"0x1F\"}\n");

        CliResult result = CliRunner.Run("swap", "--map-file", WriteMap(), "-f", file, "-o", "yaml");

        Assert.Equal(0, result.ExitCode);
        var read = SnapshotReader.Read(result.Output, "out.yaml");
        Assert.DoesNotContain(read.Diagnostics, d => d.Severity == RegistryPolicy.Diagnostics.DiagnosticSeverity.Error);
        var workload = (WorkloadObject)read.Objects.First(o => o.Item is WorkloadObject).Item;
        Assert.Equal(["m.example.com/d/nginx:1.25", "quay.io/x"], workload.Template.Containers.Select(c => c.Image));
        Assert.Contains("replicas: 3", result.Output, StringComparison.Ordinal);
        // Only what image swap changes is printed: other objects (a Secret would print its credentials) are left out, and said so.
        Assert.DoesNotContain(read.Objects, o => o.Item is ConfigMapObject);
        Assert.Contains("1 object(s) that are not Pods or workloads were left out", result.Error, StringComparison.Ordinal);
    }
}
