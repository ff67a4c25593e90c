using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Mirrors;
using RegistryPolicy.References;
using RegistryPolicy.Swap;

namespace RegistryPolicy.Tests.Swap;

/// <summary>The reference dialect: what imageswap's users ask for (issues #77, #105, #117, #119, PR #120).</summary>
public sealed class ReferenceDialectTests
{
    private static ImageSwapper Swapper(string maps) => new(ImageSwapMap.Load(maps), new ImageSwapOptions { Dialect = SwapDialect.Reference });

    private static string Swap(string maps, string image) => Swapper(maps).Rewrite(image).Result;

    [Theory]
    [InlineData("nginx:1.25", "m.example.com/d/library/nginx:1.25")]
    [InlineData("docker.io/nginx:1.25", "m.example.com/d/library/nginx:1.25")]
    [InlineData("index.docker.io/library/nginx:1.25", "m.example.com/d/library/nginx:1.25")]
    [InlineData("bitnami/redis", "m.example.com/d/bitnami/redis")]
    public void Docker_hub_images_keep_library_whatever_way_they_are_written_issues_77_119(string image, string expected) =>
        Assert.Equal(expected, Swap("default::\ndocker.io::m.example.com/d", image));

    [Fact]
    public void Localhost_and_host_port_are_registries()
    {
        Assert.Equal("m.example.com/local/app:1", Swap("default::\nlocalhost:5000::m.example.com/local", "localhost:5000/app:1"));
        Assert.Equal("quay.io:443/x", Swap("default::\nquay.io::m/quay", "quay.io:443/x")); // another host:port is another registry
    }

    [Fact]
    public void Path_keys_match_on_segment_boundaries_and_the_longest_wins_issue_117()
    {
        const string maps = "default::\nregistry.gitlab.com::m.example.com/gitlab\nregistry.gitlab.com/org::m.example.com/org";

        Assert.Equal("m.example.com/org/app:1", Swap(maps, "registry.gitlab.com/org/app:1"));
        Assert.Equal("m.example.com/gitlab/organisation/app:1", Swap(maps, "registry.gitlab.com/organisation/app:1"));
    }

    [Fact]
    public void An_image_key_with_an_empty_value_opts_that_image_out_issue_105()
    {
        const string maps = "default::\nquay.io::m.example.com/quay\nquay.io/example/test-image::";

        Assert.Equal("quay.io/example/test-image:1", Swap(maps, "quay.io/example/test-image:1"));
        Assert.Equal("m.example.com/quay/example/other:1", Swap(maps, "quay.io/example/other:1"));
    }

    [Fact]
    public void Digests_survive_and_invalid_images_are_left_alone()
    {
        string digest = "@sha256:" + new string('a', 64);

        Assert.Equal("m/d/library/nginx:1" + digest, Swap("default::\ndocker.io::m/d", "nginx:1" + digest));
        SwapResult invalid = Swapper("default::x").Rewrite("NGINX");
        Assert.Equal(SwapRule.Invalid, invalid.Rule);
        Assert.Equal("NGINX", invalid.Result);
    }

    [Fact]
    public void The_default_keeps_the_registry_as_a_folder() =>
        Assert.Equal("proxy.example.com/cache/ghcr.io/org/app:1", Swap("default::proxy.example.com/cache", "ghcr.io/org/app:1"));

    [Fact]
    public void Admission_and_node_mirror_agree_in_this_dialect()
    {
        ImageSwapMap map = ImageSwapMap.LoadMirrorRegistries("docker.io::h.example.org/d,quay.io::h.example.org/q");
        var swapper = new ImageSwapper(map, new ImageSwapOptions { Dialect = SwapDialect.Reference });

        Assert.Empty(MirrorSet.FromSwapMap(map).CheckConsistency(swapper, ["nginx:1.25", "docker.io/nginx", "bitnami/redis:7", "quay.io/org/app"]));
    }

    private static readonly Gen<string> Maps =
        from keys in Gen.SubListOf(new[] { "docker.io", "quay.io", "quay.io/org", "ghcr.io", "localhost:5000", "docker.io/library" })
        from values in Gen.ArrayOf(Gen.Elements("m.example.com/mirror", "m.example.com/mirror/quay.io", "", "quay.io/mirror", "ghcr.io/m"), keys.Count)
        from def in Gen.Elements("default::", "default::proxy.example.com/cache", "")
        from exact in Gen.Elements("", "[EXACT]nginx::m.example.com/pinned/nginx:1", "[EXACT]redis::redis:7")
        select string.Join('\n', keys.Select((k, i) => $"{k}::{values[i]}").Append(def).Append(exact));

    private static readonly Gen<string> Images = Gen.Elements(
        "nginx", "nginx:1.25", "docker.io/library/redis:7", "quay.io/org/app:1", "quay.io/other/app", "ghcr.io/a/b/c:2",
        "localhost:5000/app", "m.example.com/mirror/library/nginx:1", "redis", "quay.io/mirror/x", "NOT VALID");

    [Property(MaxTest = 1000)]
    public Property Rewriting_twice_changes_nothing() =>
        Prop.ForAll(Maps.ToArbitrary(), Images.ToArbitrary(), (maps, image) =>
        {
            ImageSwapper swapper = Swapper(maps);
            string once = swapper.Rewrite(image).Result;
            string twice = swapper.Rewrite(once).Result;
            return (once == twice).Label($"{maps.Replace("\n", " | ", StringComparison.Ordinal)}: {image} -> {once} -> {twice}");
        });

    [Property(MaxTest = 1000)]
    public Property Every_rewrite_is_a_valid_reference() =>
        Prop.ForAll(Maps.ToArbitrary(), Images.ToArbitrary(), (maps, image) =>
        {
            SwapResult r = Swapper(maps).Rewrite(image);
            return !r.Swapped || ImageReference.TryParse(r.Result, out _, out _);
        });
}
