using RegistryPolicy.Mirrors;
using RegistryPolicy.Swap;

namespace RegistryPolicy.Tests.Mirrors;

public sealed class MirrorSetTests
{
    private const string PaletteList =
        "docker.io::harbor.example.org/airgap-images/docker.io,gcr.io::harbor.example.org/airgap-images/gcr.io," +
        "ghcr.io::harbor.example.org/airgap-images/ghcr.io,k8s.gcr.io::harbor.example.org/airgap-images/gcr.io," +
        "registry.k8s.io::harbor.example.org/airgap-images/k8s.io,quay.io::harbor.example.org/airgap-images/quay.io," +
        "us-docker.pkg.dev::harbor.example.org/airgap-images";

    [Fact]
    public void The_containerd_config_is_exactly_what_palette_writes_seed_003()
    {
        string rendered = MirrorSet.FromSwapMap(ImageSwapMap.LoadMirrorRegistries(PaletteList)).RenderContainerdConfig();

        // The registry section of seed 003, lines 370-385, re-indented under its [plugins] table.
        const string expected = """
            version = 2

            [plugins]
              [plugins."io.containerd.grpc.v1.cri"]
                [plugins."io.containerd.grpc.v1.cri".registry]
                  [plugins."io.containerd.grpc.v1.cri".registry.mirrors]
                    [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
                      endpoint = ["harbor.example.org/airgap-images/docker.io"]
                    [plugins."io.containerd.grpc.v1.cri".registry.mirrors."gcr.io"]
                      endpoint = ["harbor.example.org/airgap-images/gcr.io"]
                    [plugins."io.containerd.grpc.v1.cri".registry.mirrors."ghcr.io"]
                      endpoint = ["harbor.example.org/airgap-images/ghcr.io"]
                    [plugins."io.containerd.grpc.v1.cri".registry.mirrors."k8s.gcr.io"]
                      endpoint = ["harbor.example.org/airgap-images/gcr.io"]
                    [plugins."io.containerd.grpc.v1.cri".registry.mirrors."registry.k8s.io"]
                      endpoint = ["harbor.example.org/airgap-images/k8s.io"]
                    [plugins."io.containerd.grpc.v1.cri".registry.mirrors."quay.io"]
                      endpoint = ["harbor.example.org/airgap-images/quay.io"]
                    [plugins."io.containerd.grpc.v1.cri".registry.mirrors."us-docker.pkg.dev"]
                      endpoint = ["harbor.example.org/airgap-images"]

            """;
        Assert.Equal(expected.ReplaceLineEndings("\n"), rendered);
    }

    [Fact]
    public void Hosts_toml_uses_override_path_when_the_mirror_has_a_path()
    {
        var set = MirrorSet.Create([new MirrorRule("docker.io", "harbor.example.org/airgap/docker.io"), new MirrorRule("quay.io", "mirror.example.org:5000")]);

        var files = set.RenderHostsToml(new MirrorRenderOptions { CaFile = "/etc/ssl/harbor.crt" });

        Assert.Equal("""
            server = "https://registry-1.docker.io"

            [host."https://harbor.example.org/v2/airgap/docker.io"]
              capabilities = ["pull", "resolve"]
              ca = "/etc/ssl/harbor.crt"
              override_path = true

            """.ReplaceLineEndings("\n"), files["docker.io"]);
        Assert.DoesNotContain("override_path", files["quay.io"], StringComparison.Ordinal);
        Assert.Contains("[host.\"https://mirror.example.org:5000\"]", files["quay.io"], StringComparison.Ordinal);
    }

    [Fact]
    public void Registries_conf_has_one_registry_and_mirror_per_rule()
    {
        var set = MirrorSet.Create([new MirrorRule("docker.io", "127.0.0.1:5000/mirror/docker.io")]);

        Assert.Equal("""
            unqualified-search-registries = []

            [[registry]]
            prefix = "docker.io"
            location = "docker.io"

            [[registry.mirror]]
            location = "127.0.0.1:5000/mirror/docker.io"
            insecure = true

            """.ReplaceLineEndings("\n"), set.RenderRegistriesConf(new MirrorRenderOptions { PlainHttp = true }));
    }

    [Fact]
    public void Rules_a_node_cannot_express_are_reported_not_rendered()
    {
        ImageSwapMap map = ImageSwapMap.Load("default::catch.all\ndocker.io::ecr.example.com/mirror-\ndocker.io/library::x\nquay.io::m/quay\n[EXACT]nginx::a\nghcr.io::\n");

        MirrorSet set = MirrorSet.FromSwapMap(map);

        Assert.Equal(new[] { new MirrorRule("quay.io", "m/quay") }, set.Rules.ToArray());
        Assert.Equal(["mirror-default", "mirror-flat-prefix", "mirror-image-rule", "mirror-path-key"], set.Diagnostics.Select(d => d.Code).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_consistency_check_finds_official_images_that_lose_library()
    {
        ImageSwapMap map = ImageSwapMap.LoadMirrorRegistries("docker.io::harbor.example.org/airgap/docker.io,quay.io::harbor.example.org/airgap/quay.io");

        var findings = MirrorConsistency.Check(new ImageSwapper(map), MirrorSet.FromSwapMap(map),
            ["nginx:1.25", "docker.io/library/redis:7", "bitnami/postgresql:16", "quay.io/org/app:1", "mcr.microsoft.com/x:1"]);

        ConsistencyFinding finding = Assert.Single(findings);
        Assert.Equal("nginx:1.25", finding.Image);
        Assert.Equal("harbor.example.org/airgap/docker.io/nginx", finding.AdmissionRepository);
        Assert.Equal("harbor.example.org/airgap/docker.io/library/nginx", finding.NodeRepository);
    }

    [Fact]
    public void A_library_key_makes_admission_and_node_agree()
    {
        ImageSwapMap map = ImageSwapMap.LoadMirrorRegistries("docker.io::h.example.org/d,docker.io/library::h.example.org/d/library");

        Assert.Empty(MirrorSet.FromSwapMap(map).CheckConsistency(new ImageSwapper(map), ["nginx:1.25", "docker.io/library/nginx"]));
    }
}
