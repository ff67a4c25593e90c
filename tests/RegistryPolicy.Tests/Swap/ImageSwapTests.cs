using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Swap;

namespace RegistryPolicy.Tests.Swap;

/// <summary>The imageswap dialect against ../shared/reference/imageswap.md (imageswap-webhook v1.5.3), rule by rule.</summary>
public sealed class ImageSwapTests
{
    private static string Swap(string maps, string image) => new ImageSwapper(ImageSwapMap.Load(maps)).Rewrite(image).Result;

    [Theory]
    [InlineData("a::b # c", "a", "b")]
    [InlineData("quay.io::h/q # mirror # 2", "quay.io", "h/q#mirror")]
    [InlineData("docker.io :: harbor/x", "docker.io", "harbor/x")]
    [InlineData("a:::b", "a", ":b")]
    [InlineData("a:b", "a", "b")]
    [InlineData("quay.io::", "quay.io", "")]
    public void Lines_are_read_as_upstream_reads_them_rules_3_to_7(string line, string key, string value)
    {
        ImageSwapMap map = ImageSwapMap.Load(line + "\ndefault::");

        Assert.Equal(value, map.Maps[key]);
    }

    [Theory]
    [InlineData("registry.local:5000:x", "line-skipped")]
    [InlineData("a::b::c", "line-skipped")]
    [InlineData("a:b", "single-colon")]
    [InlineData("a:::b", "triple-colon")]
    [InlineData("[exact]nginx::x", "keyword-case")]
    [InlineData("registry.gitlab.com/org::x", "path-key")]
    [InlineData("noswap_wildcards::a,,b", "wildcard-empty")]
    [InlineData("docker.io/library::x", "library-only")]
    [InlineData("a::b\na::c", "duplicate-key")]
    public void Lines_upstream_skips_or_misreads_are_reported_with_their_line(string text, string code)
    {
        ImageSwapMap map = ImageSwapMap.Load("default::\n" + text);

        Assert.Contains(map.Diagnostics, d => d.Code == code && d.Location is { Line: >= 2 });
    }

    [Fact]
    public void Comments_empty_lines_and_the_last_duplicate_win()
    {
        ImageSwapMap map = ImageSwapMap.Load("# comment\n   # indented comment\n\ndefault::\nquay.io::one\nquay.io::two\n");

        Assert.Equal("two", map.Maps["quay.io"]);
        Assert.Equal(2, map.Maps.Count);
    }

    [Fact]
    public void Without_a_default_key_only_exact_and_replace_swap_rule_19()
    {
        var swapper = new ImageSwapper(ImageSwapMap.Load("quay.io::mirror\n[EXACT]nginx::mirror/nginx:1"));

        Assert.Equal("quay.io/x", swapper.Rewrite("quay.io/x").Result);
        Assert.Equal(SwapRule.NoDefault, swapper.Rewrite("quay.io/x").Rule);
        Assert.Equal("mirror/nginx:1", swapper.Rewrite("nginx").Result);
        Assert.Contains(ImageSwapMap.Load("quay.io::mirror").Diagnostics, d => d.Code == "no-default");
    }

    [Theory]
    [InlineData("nginx", "exact/nginx:1")]
    [InlineData("nginx:latest", "m/nginx:latest")]
    [InlineData("docker.io/library/nginx", "m/library/nginx")]
    public void Exact_matches_only_the_identical_string_rule_16(string image, string expected) =>
        Assert.Equal(expected, Swap("default::\ndocker.io::m\n[EXACT]nginx::exact/nginx:1", image));

    [Theory]
    [InlineData("ghcr.io/example/team/app:1", "mirror/app:1")]
    [InlineData("ghcr.io/examples:2", "mirror/examples:2")]
    [InlineData("ghcr.io/other/app:1", "ghcr.io/other/app:1")]
    public void Replace_globs_cross_slashes_and_keep_only_the_last_segment_rule_17(string image, string expected) =>
        Assert.Equal(expected, Swap("default::\n[REPLACE]ghcr.io/example*::mirror", image));

    [Theory]
    [InlineData("", "app:1")]
    [InlineData("m/", "m/app:1")]
    [InlineData("m", "m/app:1")]
    public void Replace_joins_like_os_path_join(string value, string expected) =>
        Assert.Equal(expected, Swap($"[REPLACE]*/app*::{value}", "org/app:1"));

    [Fact]
    public void An_identity_exact_hit_still_counts_as_a_swap_in_1_5_3_rule_18()
    {
        SwapResult r = new ImageSwapper(ImageSwapMap.Load("default::m\n[EXACT]nginx::nginx")).Rewrite("nginx");

        Assert.True(r.Swapped);
        Assert.Equal("nginx", r.Result);
    }

    [Theory]
    [InlineData("localhost:5000/app", "V/localhost:5000/app")]
    [InlineData("localhost/app", "V/localhost/app")]
    [InlineData("my.org/app", "my.org/app")]
    [InlineData("rabbitmq:3.8.18-management", "V/rabbitmq:3.8.18-management")]
    public void Only_a_dotted_first_part_is_a_registry_rule_11(string image, string expected) =>
        Assert.Equal(expected, Swap("default::\ndocker.io::V", image));

    [Theory]
    [InlineData("alpine", "my.example.com/mirror-docker.io/alpine")]
    [InlineData("docker.io/tmobile/magtape:latest", "my.example.com/mirror-docker.io/tmobile/magtape:latest")]
    [InlineData("localhost:5000/team/app:1", "my.example.com/mirror-docker.io/localhost/app:1")]
    public void A_value_ending_in_a_dash_is_a_flat_prefix_rule_22b(string image, string expected) =>
        Assert.Equal(expected, Swap("default::\ndocker.io::my.example.com/mirror-", image));

    [Fact]
    public void A_flat_prefix_drops_port_and_path_for_explicit_registries_rule_22b() =>
        Assert.Equal("V-registry.bar.com/api:1.0", Swap("default::\nregistry.bar.com::V-", "registry.bar.com:8443/team/app/api:1.0"));

    [Theory]
    [InlineData("gcr.io/p/gcr-io-tools", "V/p/V-tools")]
    [InlineData("gcr.io:443/x", "V:443/x")]
    public void The_key_is_a_regex_replacing_every_occurrence_rule_22c(string image, string expected) =>
        Assert.Equal(expected, Swap("default::\ngcr.io::V", image));

    [Fact]
    public void Every_copy_of_the_key_is_replaced_rule_22c()
    {
        Assert.Equal("V/mirror/V/app", Swap("default::\nquay.io::V", "quay.io/mirror/quay.io/app"));
        Assert.Equal("myorg/V-tools", Swap("default::\ndocker.io::V", "myorg/docker.io-tools"));
    }

    [Fact]
    public void An_explicit_registry_map_beats_a_noswap_wildcard_upstream_test() =>
        Assert.Equal("registry.example.com:443/istio/istiod:latest",
            Swap("default::default.example.com\nnoswap_wildcards::twr.io\nregistry.internal.twr.io::registry.example.com", "registry.internal.twr.io:443/istio/istiod:latest"));

    [Theory]
    [InlineData("nginx:1.25", "V/nginx:1.25")]
    [InlineData("docker.io/library/nginx", "V/library/nginx")]
    [InlineData("docker.io/nginx", "V/nginx")]
    public void Implicit_images_get_the_value_without_library_rule_22d(string image, string expected) =>
        Assert.Equal(expected, Swap("default::\ndocker.io::V", image));

    [Theory]
    [InlineData("nginx", "L/nginx")]
    [InlineData("nginx:1", "L/nginx:1")]
    [InlineData("docker.io/nginx", "V/nginx")]
    public void Library_images_use_the_library_key_rule_21(string image, string expected) =>
        Assert.Equal(expected, Swap("default::\ndocker.io::V\ndocker.io/library::L", image));

    [Fact]
    public void A_library_only_key_is_where_upstream_crashes_here_no_swap_and_an_error_rule_21()
    {
        var swapper = new ImageSwapper(ImageSwapMap.Load("default::\ndocker.io/library::L"));

        SwapResult crash = swapper.Rewrite("docker.io/nginx");

        Assert.Equal(SwapRule.UpstreamError, crash.Rule);
        Assert.False(crash.Swapped);
        Assert.Equal("docker.io/nginx", crash.Result);
        Assert.Equal("L/nginx", swapper.Rewrite("nginx").Result);
    }

    [Fact]
    public void A_key_with_a_port_beats_the_portless_key_which_covers_every_port_rule_20()
    {
        const string maps = "default::\nquay.io::A\nquay.io:8443::B";

        Assert.Equal("B/x", Swap(maps, "quay.io:8443/x"));
        Assert.Equal("A:5000/x", Swap(maps, "quay.io:5000/x"));
    }

    [Theory]
    [InlineData("quay.io/team/app", "quay.io/team/app")]
    [InlineData("ghcr.io/x:team-tag", "ghcr.io/x:team-tag")]
    [InlineData("ghcr.io/x", "D/x")]
    public void Noswap_wildcards_are_substrings_of_the_whole_image_rule_23(string image, string expected) =>
        Assert.Equal(expected, Swap("default::D\nnoswap_wildcards::quay.io,team", image));

    [Fact]
    public void An_empty_wildcard_element_matches_every_image_rule_23() =>
        Assert.Equal("ghcr.io/x", Swap("default::D\nnoswap_wildcards::a,,b", "ghcr.io/x"));

    [Theory]
    [InlineData("default::", "quay.io/x", "quay.io/x")]
    [InlineData("default::D-", "quay.io/solo/gloo", "D-quay.io/quay.io/solo/gloo")]
    [InlineData("default::jmsearcy-", "paulbouwer/hello", "jmsearcy-docker.io/paulbouwer/hello")]
    [InlineData("default::default.example.com", "gcr.io:443/istio/istiod:latest", "default.example.com/istio/istiod:latest")]
    [InlineData("default::D", "nginx", "D/nginx")]
    public void The_default_branch_rule_24(string maps, string image, string expected) => Assert.Equal(expected, Swap(maps, image));

    [Theory]
    [InlineData("jmsearcy", "paulbouwer/hello-kubernetes:1.5", "jmsearcy/hello-kubernetes:1.5")]
    [InlineData("harbor", "goharbor/harbor-core", "goharbor/harbor-core")]
    [InlineData("flat-", "quay.io/org/app", "flat-quay.io/org/app")]
    [InlineData("p", "nginx", "p/nginx")]
    [InlineData("", "nginx", "nginx")]
    public void Legacy_mode_rule_27(string prefix, string image, string expected) =>
        Assert.Equal(expected, new ImageSwapper(ImageSwapMap.Load(""), new ImageSwapOptions { LegacyPrefix = prefix }).Rewrite(image).Result);

    [Theory]
    [InlineData("nginx:1.25", "harbor.example.org/airgap-images/docker.io/nginx:1.25")]
    [InlineData("docker.io/library/nginx:1.25", "harbor.example.org/airgap-images/docker.io/library/nginx:1.25")]
    [InlineData("k8s.gcr.io/pause:3.6", "harbor.example.org/airgap-images/gcr.io/pause:3.6")]
    [InlineData("registry.k8s.io/x", "harbor.example.org/airgap-images/k8s.io/x")]
    [InlineData("us-docker.pkg.dev/p/r/i:t", "harbor.example.org/airgap-images/p/r/i:t")]
    [InlineData("mcr.microsoft.com/x", "mcr.microsoft.com/x")]
    [InlineData("localhost:5000/app", "harbor.example.org/airgap-images/docker.io/localhost:5000/app")]
    [InlineData("quay.io:443/x", "harbor.example.org/airgap-images/quay.io:443/x")]
    public void Palettes_mirror_registries_with_the_implied_default_rule_33(string image, string expected)
    {
        const string list = "docker.io::harbor.example.org/airgap-images/docker.io,gcr.io::harbor.example.org/airgap-images/gcr.io," +
            "k8s.gcr.io::harbor.example.org/airgap-images/gcr.io,registry.k8s.io::harbor.example.org/airgap-images/k8s.io," +
            "us-docker.pkg.dev::harbor.example.org/airgap-images,quay.io::harbor.example.org/airgap-images/quay.io";

        ImageSwapMap map = ImageSwapMap.LoadMirrorRegistries(list);

        Assert.True(map.ImpliedDefault);
        Assert.DoesNotContain(map.Diagnostics, d => d.Severity != DiagnosticSeverity.Info);
        Assert.Equal(expected, new ImageSwapper(map).Rewrite(image).Result);
    }

    [Theory]
    [InlineData("ab", "a?", true)]
    [InlineData("a/b/c", "a*c", true)]
    [InlineData("abc", "a[bx]c", true)]
    [InlineData("abc", "a[!b]c", false)]
    [InlineData("a-c", "a[a-z-]c", true)]
    [InlineData("a[c", "a[c", true)]
    [InlineData("abc", "*", true)]
    [InlineData("", "*", true)]
    [InlineData("abc", "ab", false)]
    public void Replace_patterns_are_python_fnmatch(string text, string pattern, bool expected) =>
        Assert.Equal(expected, ImageSwapper.FnMatch(text, pattern));

    [Property(MaxTest = 500)]
    public Property Parsing_and_rewriting_never_throw_and_are_deterministic() =>
        Prop.ForAll(
            Gen.ArrayOf(Gen.Elements("docker.io", "quay.io", "::", ":", "#", " ", "[EXACT]", "[REPLACE]", "default", "noswap_wildcards", ",", "/", "-", "*", "?", "[", "]", "\n", "library", "x", "\t", "(", "+")).Select(string.Concat).ToArbitrary(),
            Gen.ArrayOf(Gen.Elements("quay.io", "docker.io", "/", ":", "x", "nginx", "@sha256:", "-", ".", "library", "5000")).Select(string.Concat).ToArbitrary(),
            (maps, image) =>
            {
                var a = new ImageSwapper(ImageSwapMap.Load(maps)).Rewrite(image);
                var b = new ImageSwapper(ImageSwapMap.Load(maps)).Rewrite(image);
                return a == b && (a.Swapped || a.Result == image);
            });

    [Property(MaxTest = 1000)]
    public Property The_regex_free_key_replacement_equals_a_regex_engine() =>
        Prop.ForAll(
            Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Gen.Elements("gcr", ".", "io", "-", "/", "x", "quay", ":443", "g"), n)).Select(string.Concat).ToArbitrary(),
            Gen.Choose(0, 8).SelectMany(n => Gen.ArrayOf(Gen.Elements("gcr", ".", "io", "-", "/", "x", "quay", ":443", "g", "gcrxio"), n)).Select(string.Concat).ToArbitrary(),
            (key, image) =>
            {
                string pattern = System.Text.RegularExpressions.Regex.Escape(key).Replace("\\.", ".", StringComparison.Ordinal);
                string expected = System.Text.RegularExpressions.Regex.Replace(image, pattern, "V");
                return (ImageSwapper.RegexReplace(image, key, "V") == expected).Label($"{key} in {image}: {expected}");
            });
}
