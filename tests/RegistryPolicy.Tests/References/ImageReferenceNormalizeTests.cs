using RegistryPolicy.References;

namespace RegistryPolicy.Tests.References;

public class ImageReferenceNormalizeTests
{
    private static readonly string Hex64 = string.Concat(Enumerable.Repeat("0123456789abcdef", 4));

    private static ImageReference Normalized(string input)
    {
        Assert.True(ImageReference.TryParseNormalized(input, out ImageReference reference, out ReferenceError error), $"'{input}': {error}");
        return reference;
    }

    private static ReferenceError ErrorOf(string input)
    {
        Assert.False(ImageReference.TryParseNormalized(input, out ImageReference reference, out ReferenceError error), $"'{input}' should be rejected");
        Assert.True(reference.IsDefault);
        return error;
    }

    [Theory]
    [InlineData("nginx", "docker.io/library/nginx")]
    [InlineData("nginx:1.25", "docker.io/library/nginx:1.25")]
    [InlineData("library/nginx", "docker.io/library/nginx")]
    [InlineData("docker.io/nginx", "docker.io/library/nginx")]
    [InlineData("index.docker.io/foo", "docker.io/library/foo")]
    [InlineData("index.docker.io/foo/bar", "docker.io/foo/bar")]
    [InlineData("docker.io/library/foo/bar", "docker.io/library/foo/bar")]
    [InlineData("foo-bar/baz", "docker.io/foo-bar/baz")]
    [InlineData("registry-1.docker.io/x", "registry-1.docker.io/x")]
    [InlineData("Docker.io/foo", "Docker.io/foo")]
    [InlineData("Docker/docker", "Docker/docker")]
    [InlineData("localhost/foo", "localhost/foo")]
    [InlineData("localhost:5000/foo", "localhost:5000/foo")]
    [InlineData("quay.io/org/app@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "quay.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("[::1]:5000/repo:tag", "[::1]:5000/repo:tag")]
    public void Names_normalise_as_docker_pull_reads_them(string input, string expected) =>
        Assert.Equal(expected, Normalized(input).ToString());

    [Theory]
    [InlineData("localhost", "docker.io/library/localhost", null)]
    [InlineData("example.com", "docker.io/library/example.com", null)]
    [InlineData("192.168.0.1", "docker.io/library/192.168.0.1", null)]
    [InlineData("localhost:5000", "docker.io/library/localhost", "5000")]
    [InlineData("example.com:5000", "docker.io/library/example.com", "5000")]
    public void A_name_without_a_slash_is_always_a_Docker_Hub_official_image(string input, string name, string? tag)
    {
        ImageReference reference = Normalized(input);
        Assert.Equal(name, reference.Name);
        Assert.Equal(tag, reference.Tag);
    }

    [Fact]
    public void A_dotted_first_component_that_is_not_a_host_leaves_no_domain()
    {
        ImageReference reference = Normalized("ex_ample.com/foo");
        Assert.Null(reference.Domain);
        Assert.Equal("ex_ample.com/foo", reference.Path);
    }

    [Fact]
    public void Exactly_64_lowercase_hex_characters_is_an_image_id_not_a_name()
    {
        ReferenceError error = ErrorOf(Hex64);
        Assert.Equal(ReferenceErrorKind.HexIdentifier, error.Kind);
        Assert.Equal($"invalid repository name ({Hex64}), cannot specify 64-byte hexadecimal strings", error.Message);
        Assert.Equal("docker.io/library/" + Hex64[..63], Normalized(Hex64[..63]).ToString());
        Assert.Equal(ReferenceErrorKind.Uppercase, ErrorOf("A" + Hex64[1..]).Kind);
    }

    [Fact]
    public void A_bare_digest_string_is_read_as_a_name_with_a_tag()
    {
        ImageReference reference = Normalized("sha256:" + Hex64);
        Assert.Equal("docker.io/library/sha256", reference.Name);
        Assert.Equal(Hex64, reference.Tag);
    }

    [Theory]
    [InlineData("NGINX", "library/NGINX")]
    [InlineData("docker.io/Foo", "library/Foo")]
    [InlineData("example.com/Foo/bar:Tag", "Foo/bar")]
    [InlineData("foo/Bar", "foo/Bar")]
    [InlineData("\u00c9cole", "library/\u00c9cole")]
    public void An_uppercase_repository_name_is_refused_before_the_grammar_runs(string input, string remote)
    {
        ReferenceError error = ErrorOf(input);
        Assert.Equal(ReferenceErrorKind.Uppercase, error.Kind);
        Assert.Equal($"invalid reference format: repository name ({remote}) must be lowercase", error.Message);
    }

    [Fact]
    public void An_uppercase_tag_is_allowed() =>
        Assert.Equal("docker.io/library/nginx:Latest", Normalized("nginx:Latest").ToString());

    [Fact]
    public void The_added_library_prefix_counts_toward_the_255_limit()
    {
        Normalized(new string('a', 247));
        Assert.Equal(ReferenceErrorKind.NameTooLong, ErrorOf(new string('a', 248)).Kind);
    }

    [Theory]
    [InlineData("", ReferenceErrorKind.InvalidFormat)]
    [InlineData("nginx ", ReferenceErrorKind.InvalidFormat)]
    [InlineData("a@sha256:" + "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", ReferenceErrorKind.DigestInvalidFormat)]
    public void Grammar_and_digest_errors_come_from_parsing_the_joined_name(string input, ReferenceErrorKind kind) =>
        Assert.Equal(kind, ErrorOf(input).Kind);

    [Theory]
    [InlineData("nginx", "nginx")]
    [InlineData("nginx:1.25", "nginx:1.25")]
    [InlineData("docker.io/library/foo/bar", "library/foo/bar")]
    [InlineData("docker.io/library/library/nginx", "library/library/nginx")]
    [InlineData("docker.io/foo/bar:1", "foo/bar:1")]
    [InlineData("quay.io/x:1", "quay.io/x:1")]
    [InlineData("registry-1.docker.io/library/x", "registry-1.docker.io/library/x")]
    public void The_familiar_form_drops_docker_io_and_a_lone_library_prefix(string input, string familiar)
    {
        ImageReference reference = Normalized(input);
        Assert.Equal(familiar, reference.ToFamiliarString());
        Assert.Equal(familiar.Split(':')[0], reference.ToFamiliarName());
    }

    [Fact]
    public void The_default_tag_is_added_only_to_a_bare_name()
    {
        Assert.Equal("docker.io/library/nginx:latest", Normalized("nginx").WithDefaultTag().ToString());
        Assert.Equal("latest", Normalized("nginx").WithDefaultTag().Tag);
        Assert.Equal("docker.io/library/nginx:1", Normalized("nginx:1").WithDefaultTag().ToString());
        string digestOnly = "nginx@sha256:" + Hex64;
        Assert.Equal("docker.io/library/" + digestOnly, Normalized(digestOnly).WithDefaultTag().ToString());
    }

    [Fact]
    public void An_already_canonical_input_is_kept_without_copying()
    {
        string input = "docker.io/library/nginx:1.25";
        Assert.Same(input, Normalized(input).ToString());
    }

    [Fact]
    public void ParseNormalized_throws_with_the_upstream_message()
    {
        FormatException e = Assert.Throws<FormatException>(() => ImageReference.ParseNormalized("NGINX"));
        Assert.Contains("repository name (library/NGINX) must be lowercase", e.Message, StringComparison.Ordinal);
    }
}
