using RegistryPolicy.References;

namespace RegistryPolicy.Tests.References;

public class ImageReferenceParseTests
{
    private static readonly string Hex64 = new('f', 64);

    private static ReferenceError ErrorOf(string input)
    {
        Assert.False(ImageReference.TryParse(input, out ImageReference reference, out ReferenceError error), $"'{input}' should be rejected");
        Assert.True(reference.IsDefault);
        return error;
    }

    private static ImageReference Valid(string input)
    {
        Assert.True(ImageReference.TryParse(input, out ImageReference reference, out ReferenceError error), $"'{input}': {error}");
        Assert.Equal(input, reference.ToString());
        return reference;
    }

    [Fact]
    public void Empty_input_is_the_empty_error()
    {
        Assert.Equal(ReferenceErrorKind.Empty, ErrorOf("").Kind);
        Assert.Equal("empty", ErrorOf("").Code);
    }

    [Theory]
    [InlineData("Uppercase:tag")]
    [InlineData("Foo/FarB")]
    [InlineData("example.com/Foo")]
    [InlineData("\u0130mage")]
    [InlineData("\u212Aube/proxy")]
    public void Input_that_is_valid_once_lowercased_is_the_uppercase_error(string input) =>
        Assert.Equal(ReferenceErrorKind.Uppercase, ErrorOf(input).Kind);

    [Theory]
    [InlineData("aa/asdf$$^/aa")]
    [InlineData(" nginx")]
    [InlineData("nginx ")]
    [InlineData("/nginx")]
    [InlineData("nginx/")]
    [InlineData("a//b")]
    [InlineData("a..b")]
    [InlineData("a___b")]
    [InlineData("a._b")]
    [InlineData("a-")]
    [InlineData("-a")]
    [InlineData("a:")]
    [InlineData("a@")]
    [InlineData("\u00c9cole")]
    [InlineData("a/b:tag/c")]
    public void Input_outside_the_grammar_is_invalid_format(string input) =>
        Assert.Equal(ReferenceErrorKind.InvalidFormat, ErrorOf(input).Kind);

    [Theory]
    [InlineData("a_b")]
    [InlineData("a__b")]
    [InlineData("a.b")]
    [InlineData("a-b")]
    [InlineData("a---b")]
    [InlineData("a0/b1/c2")]
    public void Path_components_allow_the_upstream_separators(string input) => Valid(input);

    [Theory]
    [InlineData("simple/name", "simple", "name")]
    [InlineData("a/a/a/a", "a", "a/a/a")]
    [InlineData("Example.COM/foo", "Example.COM", "foo")]
    [InlineData("host:750050/x", "host:750050", "x")]
    [InlineData("[::1]:5000/repo", "[::1]:5000", "repo")]
    [InlineData("[fd00123123123]/x", "[fd00123123123]", "x")]
    [InlineData("localhost:5000/app", "localhost:5000", "app")]
    public void The_first_component_is_the_domain_when_it_fits_the_host_grammar(string input, string domain, string path)
    {
        ImageReference reference = Valid(input);
        Assert.Equal(domain, reference.Domain);
        Assert.Equal(path, reference.Path);
    }

    [Theory]
    [InlineData("test_com/foo", "test_com/foo")]
    [InlineData("-a.com/x", null)]
    public void A_first_component_that_is_not_a_host_belongs_to_the_path(string input, string? path)
    {
        if (path is null)
        {
            Assert.Equal(ReferenceErrorKind.InvalidFormat, ErrorOf(input).Kind);
            return;
        }

        ImageReference reference = Valid(input);
        Assert.Null(reference.Domain);
        Assert.Equal(path, reference.Path);
    }

    [Fact]
    public void Without_a_slash_a_trailing_port_like_suffix_is_a_tag()
    {
        ImageReference reference = Valid("test.com:5000");
        Assert.Null(reference.Domain);
        Assert.Equal("test.com", reference.Path);
        Assert.Equal("5000", reference.Tag);
    }

    [Fact]
    public void A_colon_in_the_last_component_after_a_domain_is_a_tag()
    {
        ImageReference reference = Valid("foo/foo_bar.com:8080");
        Assert.Equal("foo", reference.Domain);
        Assert.Equal("foo_bar.com", reference.Path);
        Assert.Equal("8080", reference.Tag);
    }

    [Fact]
    public void A_bare_host_with_port_and_digest_is_a_name_with_tag_and_digest()
    {
        ImageReference reference = Valid($"localhost:8080@sha256:{Hex64}");
        Assert.Equal("localhost", reference.Name);
        Assert.Equal("8080", reference.Tag);
        Assert.Equal($"sha256:{Hex64}", reference.Digest);
    }

    [Theory]
    [InlineData("[2001:db8::1]")]
    [InlineData("[2001:db8::1]:5000")]
    [InlineData("[::1]:tag")]
    [InlineData("[]/x")]
    [InlineData("[::1/x")]
    public void An_IPv6_host_needs_a_path_and_brackets(string input) =>
        Assert.Equal(ReferenceErrorKind.InvalidFormat, ErrorOf(input).Kind);

    [Fact]
    public void The_255_limit_counts_the_path_only()
    {
        Valid("example.com/" + new string('a', 255));
        Assert.Equal(ReferenceErrorKind.NameTooLong, ErrorOf("example.com/" + new string('a', 256)).Kind);
        Assert.Equal(ReferenceErrorKind.NameTooLong, ErrorOf(new string('a', 256)).Kind);
    }

    [Fact]
    public void Tags_are_1_to_128_word_characters_not_starting_with_dot_or_dash()
    {
        Valid("a:" + new string('T', 128));
        Valid("a:_x.y-Z");
        Assert.Equal(ReferenceErrorKind.InvalidFormat, ErrorOf("a:" + new string('t', 129)).Kind);
        Assert.Equal(ReferenceErrorKind.InvalidFormat, ErrorOf("a:.x").Kind);
        Assert.Equal(ReferenceErrorKind.InvalidFormat, ErrorOf("a:-x").Kind);
        Assert.Equal(ReferenceErrorKind.InvalidFormat, ErrorOf("a:x+y").Kind);
        Assert.Equal(ReferenceErrorKind.InvalidFormat, ErrorOf("a:x~y").Kind);
    }

    [Fact]
    public void A_tag_after_a_digest_is_invalid() =>
        Assert.Equal(ReferenceErrorKind.InvalidFormat, ErrorOf($"a@sha256:{Hex64}:tag").Kind);

    [Theory]
    [InlineData("sha256", 64)]
    [InlineData("sha384", 96)]
    [InlineData("sha512", 128)]
    public void The_kubelets_digest_algorithms_are_accepted(string algorithm, int length)
    {
        ImageReference reference = Valid($"a/b:1@{algorithm}:{new string('0', length)}");
        Assert.Equal("1", reference.Tag);
        Assert.Equal($"{algorithm}:{new string('0', length)}", reference.Digest);
        Assert.True(reference.HasDigest);
    }

    [Theory]
    [InlineData("sha256:" + "fffffffffffffffffffffffffffffffff", ReferenceErrorKind.DigestInvalidLength)] // 33
    [InlineData("sha256:ffffffffffffffffffffffffffffffff", ReferenceErrorKind.DigestInvalidLength)] // 32
    [InlineData("sha256:fffffffffffffffffffffffffffffff", ReferenceErrorKind.InvalidFormat)] // 31: pattern stage
    [InlineData("bad", ReferenceErrorKind.InvalidFormat)]
    [InlineData("2bad:ffffffffffffffffffffffffffffffff", ReferenceErrorKind.InvalidFormat)]
    [InlineData("invaliddigest:ffffffffffffffffffffffffffffffff", ReferenceErrorKind.DigestUnsupported)]
    [InlineData("sha256+b64:ffffffffffffffffffffffffffffffff", ReferenceErrorKind.DigestUnsupported)]
    [InlineData("md5:ffffffffffffffffffffffffffffffff", ReferenceErrorKind.DigestUnsupported)]
    [InlineData("SHA256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", ReferenceErrorKind.DigestInvalidFormat)]
    [InlineData("sha256:FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", ReferenceErrorKind.DigestInvalidFormat)]
    [InlineData("sha256:FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", ReferenceErrorKind.DigestInvalidLength)]
    public void Digests_are_checked_by_pattern_then_algorithm_then_length_then_case(string digest, ReferenceErrorKind expected) =>
        Assert.Equal(expected, ErrorOf("a@" + digest).Kind);

    [Fact]
    public void Grammar_errors_come_before_length_and_digest_errors()
    {
        Assert.Equal(ReferenceErrorKind.Uppercase, ErrorOf(new string('A', 300)).Kind);
        Assert.Equal(ReferenceErrorKind.NameTooLong, ErrorOf(new string('a', 256) + "@sha256:ffffffffffffffffffffffffffffffff").Kind);
    }

    [Fact]
    public void Parse_throws_a_format_exception_with_the_code_and_message()
    {
        FormatException e = Assert.Throws<FormatException>(() => ImageReference.Parse("A"));
        Assert.Equal("uppercase: invalid reference format: repository name must be lowercase", e.Message);
    }

    [Fact]
    public void Null_input_is_empty_and_does_not_throw()
    {
        Assert.False(ImageReference.TryParse(null, out _, out ReferenceError error));
        Assert.Equal(ReferenceErrorKind.Empty, error.Kind);
    }

    [Fact]
    public void A_parsed_canonical_string_is_kept_without_copying()
    {
        string input = "registry.example.com/team/app:v1";
        ImageReference reference = Valid(input);
        Assert.Same(input, reference.ToString());
    }

    [Fact]
    public void Span_accessors_agree_with_string_accessors()
    {
        ImageReference reference = Valid($"r.io:5000/a/b:t@sha256:{Hex64}");
        Assert.Equal(reference.Domain, reference.DomainSpan.ToString());
        Assert.Equal(reference.Path, reference.PathSpan.ToString());
        Assert.Equal(reference.Tag, reference.TagSpan.ToString());
        Assert.Equal(reference.Digest, reference.DigestSpan.ToString());
        Assert.Equal("r.io:5000/a/b", reference.NameSpan.ToString());
    }

    [Fact]
    public void Default_is_not_a_reference_and_formats_as_empty()
    {
        ImageReference reference = default;
        Assert.True(reference.IsDefault);
        Assert.Equal("", reference.ToString());
        Assert.Equal("", reference.Path);
        Assert.Null(reference.Domain);
        Assert.Null(reference.Tag);
        Assert.False(reference.HasDigest);
        Assert.Equal(reference, reference.WithDefaultTag());
    }

    [Fact]
    public void Equality_is_ordinal_equality_of_the_canonical_string()
    {
        Assert.Equal(ImageReference.Parse("a/b:1"), ImageReference.Parse("a/b:1"));
        Assert.True(ImageReference.Parse("a/b:1") == ImageReference.Parse("a/b:1"));
        Assert.True(ImageReference.Parse("a/b:1") != ImageReference.Parse("a/b:2"));
        Assert.NotEqual(ImageReference.Parse("A.io/b"), ImageReference.Parse("a.io/b"));
        Assert.Equal(ImageReference.Parse("a/b").GetHashCode(), ImageReference.Parse("a/b").GetHashCode());
    }

    [Fact]
    public void TryFormat_writes_canonical_and_familiar_forms_and_reports_short_buffers()
    {
        ImageReference reference = ImageReference.ParseNormalized("nginx:1.25");
        Span<char> buffer = stackalloc char[64];
        Assert.True(reference.TryFormat(buffer, out int written, "G", null));
        Assert.Equal("docker.io/library/nginx:1.25", buffer[..written].ToString());
        Assert.True(reference.TryFormat(buffer, out written, "F", null));
        Assert.Equal("nginx:1.25", buffer[..written].ToString());
        Assert.False(reference.TryFormat(buffer[..5], out written, default, null));
        Assert.Equal(0, written);
        Assert.Throws<FormatException>(() => reference.ToString("X", null));
        Assert.Equal("nginx:1.25", $"{reference:F}");
    }
}
