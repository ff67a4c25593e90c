using RegistryPolicy.Mirrors;
using RegistryPolicy.Swap;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Differential;

/// <summary>Rendered node configuration read by the real programs: containerd's config loader and skopeo's registries.conf.</summary>
[Trait("Category", "RealComponent")]
public class MirrorConfigDifferentialTests
{
    private const string PaletteList =
        "docker.io::harbor.example.org/airgap-images/docker.io,gcr.io::harbor.example.org/airgap-images/gcr.io," +
        "registry.k8s.io::harbor.example.org/airgap-images/k8s.io,quay.io::harbor.example.org/airgap-images/quay.io,registry.local:5000::127.0.0.1:5001/local";

    [SkippableFact]
    public void Containerd_loads_the_rendered_config_and_reports_every_mirror()
    {
        string containerd = RealTools.Require("containerd", "apt-get install containerd");
        MirrorSet set = MirrorSet.FromSwapMap(ImageSwapMap.LoadMirrorRegistries(PaletteList));
        string file = Path.Combine(Directory.CreateTempSubdirectory("containerd-").FullName, "config.toml");
        File.WriteAllText(file, set.RenderContainerdConfig());

        ProcessResult dump = RealTools.Run(containerd, ["-c", file, "config", "dump"]);

        Assert.True(dump.ExitCode == 0, dump.Error);
        foreach (MirrorRule rule in set.Rules)
        {
            Assert.Contains($"[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"{rule.Registry}\"]", dump.Output, StringComparison.Ordinal);
            Assert.Contains($"endpoint = [\"{rule.Mirror}\"]", dump.Output, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public void Containerd_refuses_what_we_would_never_render()
    {
        string containerd = RealTools.Require("containerd", "apt-get install containerd");
        string file = Path.Combine(Directory.CreateTempSubdirectory("containerd-").FullName, "config.toml");
        File.WriteAllText(file, MirrorSet.Create([new MirrorRule("docker.io", "m/x")]).RenderContainerdConfig().Replace("endpoint = [\"m/x\"]", "endpoint = \"m/x\"", StringComparison.Ordinal));

        ProcessResult dump = RealTools.Run(containerd, ["-c", file, "config", "dump"]);

        Assert.NotEqual(0, dump.ExitCode); // the check is real: a string instead of an array is refused
    }

    [SkippableFact]
    public void Skopeo_asks_the_mirror_for_the_repository_we_compute_for_the_node()
    {
        string skopeo = RealTools.Require("skopeo", "apt-get install skopeo");
        RealTools.Require("unshare", "apt-get install util-linux");
        RealTools.Require("ip", "apt-get install iproute2");
        ProcessResult probe = RealTools.Run("unshare", ["--net", "true"]);
        RealTools.RequireThat(probe.ExitCode == 0, $"'unshare --net' is not permitted here ({probe.Error.Trim()}); registry clients never run on the host network");

        // Nothing listens on 127.0.0.1:5999 inside the namespace: skopeo must try the mirror first, then fail locally.
        MirrorSet set = MirrorSet.Create([new MirrorRule("docker.io", "127.0.0.1:5999/mirror/docker.io")]);
        string file = Path.Combine(Directory.CreateTempSubdirectory("skopeo-").FullName, "registries.conf");
        File.WriteAllText(file, set.RenderRegistriesConf(new MirrorRenderOptions { PlainHttp = true }));
        string expected = set.NodeRepository("tiny:1")!;

        ProcessResult run = RealTools.Run("unshare", ["--net", "bash", "-c",
            $"ip link set lo up; exec {skopeo} --debug inspect --no-tags --registries-conf '{file}' docker://tiny:1"], timeout: TimeSpan.FromMinutes(1));

        Assert.Equal("127.0.0.1:5999/mirror/docker.io/library/tiny", expected);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains($"Trying to access \\\"{expected}:1\\\"", run.Error, StringComparison.Ordinal); // logrus escapes the quotes
    }
}
