using RegistryPolicy.Mirrors;
using RegistryPolicy.Swap;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.RealRegistry;

/// <summary>
/// The rendered node configuration pulls a Docker Hub-named image from a real local mirror: skopeo through
/// <c>registries.conf</c>, and containerd's ctr through <c>hosts.toml</c>, in a private network namespace with only loopback
/// (a pull that succeeds can only have come from the mirror).
/// </summary>
[Trait("Category", "RealComponent")]
public class MirrorPullTests
{
    [SkippableFact]
    public void Docker_hub_images_are_pulled_through_the_rendered_mirror_by_skopeo_and_containerd()
    {
        foreach (string tool in new[] { "docker-registry", "skopeo", "umoci", "containerd", "ctr", "curl", "unshare", "ip" })
        {
            RealTools.Require(tool, "apt-get install docker-registry skopeo umoci containerd curl iproute2 util-linux");
        }

        ProcessResult probe = RealTools.Run("unshare", ["--net", "true"]);
        RealTools.RequireThat(probe.ExitCode == 0, $"'unshare --net' is not permitted here ({probe.Error.Trim()}); registry tests never run on the host network");

        MirrorSet mirrors = MirrorSet.FromSwapMap(ImageSwapMap.LoadMirrorRegistries("docker.io::127.0.0.1:5000/mirror/docker.io"));
        var options = new MirrorRenderOptions { PlainHttp = true };
        string work = Directory.CreateTempSubdirectory("mirror-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(work, "registries.conf"), mirrors.RenderRegistriesConf(options));
            foreach (var (host, text) in mirrors.RenderHostsToml(options))
            {
                Directory.CreateDirectory(Path.Combine(work, "certs.d", host));
                File.WriteAllText(Path.Combine(work, "certs.d", host, "hosts.toml"), text);
            }

            string script = Path.Combine(AppContext.BaseDirectory, "RealRegistry", "mirror-pull.sh");
            ProcessResult run = RealTools.Run("unshare", ["--net", "bash", script, work], timeout: TimeSpan.FromMinutes(3));
            var results = run.Output.Split('\n').Where(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
                .Select(l => l.Split(' ')).ToDictionary(p => p[1], p => p[2]);
            string log = $"exit {run.ExitCode}\n{run.Output}\n{run.Error}";

            Assert.True(results.GetValueOrDefault("push") == "0", log);
            Assert.True(results.GetValueOrDefault("skopeo") == "0", log);
            Assert.True(results.GetValueOrDefault("ctr") == "0", log);
            Assert.True(int.Parse(results.GetValueOrDefault("served", "0"), System.Globalization.CultureInfo.InvariantCulture) >= 2, log);
            Assert.True(int.Parse(results.GetValueOrDefault("served-containerd", "0"), System.Globalization.CultureInfo.InvariantCulture) >= 1, log);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
