using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace RegistryPolicy.References;

/// <summary>
/// A container image reference, <c>[domain/]path[:tag][@digest]</c>, read exactly as the CNCF
/// <c>distribution/reference</c> Go package reads it (the package Docker, containerd and the kubelet use).
/// Immutable and thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="TryParse(string?, out ImageReference, out ReferenceError)"/> is upstream's <c>Parse</c>: a grammar check with no
/// normalisation, so <see cref="ToString()"/> returns the input. <see cref="TryParseNormalized(string?, out ImageReference, out ReferenceError)"/>
/// is <c>ParseNormalizedNamed</c>, what <c>docker pull</c> and the kubelet use: <c>nginx</c> becomes
/// <c>docker.io/library/nginx</c>. To decide which registry an image comes from, always use the normalised form.
/// </para>
/// <para>
/// The value keeps its canonical string and the offsets of its parts, so parsing an already canonical string allocates
/// nothing and <see cref="ToString()"/> never allocates. Equality is ordinal equality of the canonical strings.
/// <c>default(ImageReference)</c> is not a valid reference: <see cref="IsDefault"/> is true and <see cref="ToString()"/> is empty.
/// Instances are immutable and thread-safe.
/// </para>
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public readonly struct ImageReference : IEquatable<ImageReference>, ISpanFormattable, ISpanParsable<ImageReference>
{
    /// <summary>The domain Docker Hub images are normalised to.</summary>
    public const string DockerHubDomain = "docker.io";

    /// <summary>The legacy Docker Hub domain, rewritten to <see cref="DockerHubDomain"/> by normalisation.</summary>
    public const string LegacyDockerHubDomain = "index.docker.io";

    /// <summary>The tag <see cref="WithDefaultTag"/> adds.</summary>
    public const string DefaultTag = "latest";

    private const string OfficialRepositoryPrefix = "library/";

    private readonly string? _value;
    private readonly ReferenceLayout _layout;

    private ImageReference(string value, ReferenceLayout layout)
    {
        _value = value;
        _layout = layout;
    }

    /// <summary>Whether this is <c>default(ImageReference)</c> rather than a parsed reference.</summary>
    public bool IsDefault => _value is null;

    /// <summary>The domain (registry host and optional port), or <see langword="null"/> when the reference has none.</summary>
    public string? Domain => _layout.DomainLength == 0 ? null : _value![.._layout.DomainLength];

    /// <summary>The domain as a span; empty when the reference has none. Does not allocate.</summary>
    public ReadOnlySpan<char> DomainSpan => _value.AsSpan(0, _layout.DomainLength);

    /// <summary>The repository path without the domain (for example <c>library/nginx</c>). Empty only for <c>default</c>.</summary>
    public string Path => PathSpan.ToString();

    /// <summary>The repository path as a span. Does not allocate.</summary>
    public ReadOnlySpan<char> PathSpan => _value is null ? default : _value.AsSpan(PathStart, _layout.PathEnd - PathStart);

    /// <summary>The name: domain, <c>/</c> and path, without tag or digest (upstream's <c>Name()</c>).</summary>
    public string Name => _value is null ? string.Empty : _value[.._layout.PathEnd];

    /// <summary>The name as a span. Does not allocate.</summary>
    public ReadOnlySpan<char> NameSpan => _value.AsSpan(0, _value is null ? 0 : _layout.PathEnd);

    /// <summary>The tag, or <see langword="null"/> when there is none.</summary>
    public string? Tag => HasTag ? TagSpan.ToString() : null;

    /// <summary>The tag as a span; empty when there is none. Does not allocate.</summary>
    public ReadOnlySpan<char> TagSpan => HasTag ? _value.AsSpan(_layout.PathEnd + 1, _layout.TagEnd - _layout.PathEnd - 1) : default;

    /// <summary>The digest (<c>algorithm:hex</c>), or <see langword="null"/> when there is none.</summary>
    public string? Digest => HasDigest ? _value![(_layout.TagEnd + 1)..] : null;

    /// <summary>The digest as a span; empty when there is none. Does not allocate.</summary>
    public ReadOnlySpan<char> DigestSpan => HasDigest ? _value.AsSpan(_layout.TagEnd + 1) : default;

    /// <summary>Whether the reference has a tag.</summary>
    public bool HasTag => _layout.TagEnd > _layout.PathEnd;

    /// <summary>Whether the reference has a digest.</summary>
    public bool HasDigest => _value is not null && _layout.TagEnd < _value.Length;

    private int PathStart => _layout.DomainLength == 0 ? 0 : _layout.DomainLength + 1;

    /// <summary>
    /// Parses a reference without normalisation (upstream <c>reference.Parse</c>). Never throws.
    /// </summary>
    /// <param name="input">The reference text, exactly as given (no trimming).</param>
    /// <param name="reference">The reference, or <c>default</c> on failure.</param>
    /// <param name="error">Why parsing failed, or <c>default</c> on success.</param>
    /// <returns><see langword="true"/> when <paramref name="input"/> is a valid reference.</returns>
    public static bool TryParse([NotNullWhen(true)] string? input, out ImageReference reference, out ReferenceError error)
    {
        input ??= string.Empty;
        error = Analyse(input, out ReferenceLayout layout);
        reference = error.Kind == ReferenceErrorKind.None ? new ImageReference(input, layout) : default;
        return error.Kind == ReferenceErrorKind.None;
    }

    /// <summary>Parses a reference without normalisation (upstream <c>reference.Parse</c>). Never throws.</summary>
    /// <param name="input">The reference text.</param>
    /// <param name="reference">The reference, or <c>default</c> on failure.</param>
    /// <returns><see langword="true"/> when <paramref name="input"/> is a valid reference.</returns>
    public static bool TryParse([NotNullWhen(true)] string? input, out ImageReference reference) =>
        TryParse(input, out reference, out _);

    /// <summary>Parses a reference without normalisation, or throws <see cref="FormatException"/>.</summary>
    /// <param name="input">The reference text.</param>
    /// <returns>The reference.</returns>
    /// <exception cref="FormatException">The input is not a valid reference; the message is upstream's.</exception>
    public static ImageReference Parse(string input) =>
        TryParse(input, out ImageReference reference, out ReferenceError error) ? reference : throw new FormatException(error.ToString());

    /// <summary>
    /// Parses and normalises a reference as <c>docker pull</c> and the kubelet do (upstream <c>ParseNormalizedNamed</c>):
    /// an implicit <c>docker.io</c> domain, <c>library/</c> for single-component Docker Hub names, and
    /// <c>index.docker.io</c> rewritten to <c>docker.io</c>. Never throws.
    /// </summary>
    /// <param name="input">The reference text, exactly as given (no trimming).</param>
    /// <param name="reference">The normalised reference, or <c>default</c> on failure.</param>
    /// <param name="error">Why parsing failed, or <c>default</c> on success.</param>
    /// <returns><see langword="true"/> when <paramref name="input"/> normalises to a valid reference.</returns>
    public static bool TryParseNormalized([NotNullWhen(true)] string? input, out ImageReference reference, out ReferenceError error) =>
        TryParseNormalized(input, addDefaultTag: false, out reference, out error);

    /// <summary>
    /// <see cref="TryParseNormalized(string?, out ImageReference, out ReferenceError)"/> followed by
    /// <see cref="WithDefaultTag"/> (<c>:latest</c> when there is neither tag nor digest), building the result string once:
    /// for line-per-record jobs. Never throws.
    /// </summary>
    /// <param name="input">The reference text, exactly as given.</param>
    /// <param name="reference">The normalised reference with a tag or digest, or <c>default</c> on failure.</param>
    /// <param name="error">Why parsing failed, or <c>default</c> on success.</param>
    /// <returns><see langword="true"/> when <paramref name="input"/> normalises to a valid reference.</returns>
    public static bool TryParseNormalizedWithDefaultTag([NotNullWhen(true)] string? input, out ImageReference reference, out ReferenceError error) =>
        TryParseNormalized(input, addDefaultTag: true, out reference, out error);

    private static bool TryParseNormalized(string? input, bool addDefaultTag, out ImageReference reference, out ReferenceError error)
    {
        input ??= string.Empty;
        reference = default;
        if (ReferenceGrammar.IsHexIdentifier(input))
        {
            error = ReferenceError.HexIdentifierOf(input);
            return false;
        }

        DomainSplit split = SplitDockerDomain(input);
        ReadOnlySpan<char> remainder = input.AsSpan(split.RemainderStart);

        // The repository name, up to the first ':', must be lowercase (in Go's Unicode sense) before the grammar runs.
        int tagSeparator = remainder.IndexOf(':');
        ReadOnlySpan<char> remote = tagSeparator < 0 ? remainder : remainder[..tagSeparator];
        if (!IsLowercase(remote))
        {
            error = ReferenceError.UppercaseRemote(split.AddLibrary ? string.Concat(OfficialRepositoryPrefix, remote) : remote.ToString());
            return false;
        }

        // Appending ":latest" to a name with neither tag nor digest changes neither validity nor the error, so decide it
        // up front and build the string once.
        bool addTag = addDefaultTag && remainder.IndexOf('@') < 0 && remainder[(remainder.LastIndexOf('/') + 1)..].IndexOf(':') < 0;
        string joined = Join(input, split, addTag);
        error = Analyse(joined, out ReferenceLayout layout);
        if (error.Kind != ReferenceErrorKind.None)
        {
            return false;
        }

        reference = new ImageReference(joined, layout);
        return true;
    }

    /// <summary>Parses and normalises a reference (upstream <c>ParseNormalizedNamed</c>). Never throws.</summary>
    /// <param name="input">The reference text.</param>
    /// <param name="reference">The normalised reference, or <c>default</c> on failure.</param>
    /// <returns><see langword="true"/> when <paramref name="input"/> normalises to a valid reference.</returns>
    public static bool TryParseNormalized([NotNullWhen(true)] string? input, out ImageReference reference) =>
        TryParseNormalized(input, out reference, out _);

    /// <summary>Parses and normalises a reference, or throws <see cref="FormatException"/>.</summary>
    /// <param name="input">The reference text.</param>
    /// <returns>The normalised reference.</returns>
    /// <exception cref="FormatException">The input is not a valid reference; the message is upstream's.</exception>
    public static ImageReference ParseNormalized(string input) =>
        TryParseNormalized(input, out ImageReference reference, out ReferenceError error) ? reference : throw new FormatException(error.ToString());

    /// <summary>
    /// Adds the tag <c>latest</c> when the reference has neither a tag nor a digest (upstream <c>TagNameOnly</c>); otherwise
    /// returns this reference unchanged.
    /// </summary>
    /// <returns>The reference with a tag or digest.</returns>
    public ImageReference WithDefaultTag()
    {
        if (_value is null || HasTag || HasDigest)
        {
            return this;
        }

        string value = string.Concat(_value, ":", DefaultTag);
        return new ImageReference(value, _layout with { TagEnd = value.Length });
    }

    /// <summary>The canonical string: exactly the parsed text (for a normalised reference, the normalised text).</summary>
    /// <returns>The reference as a string; empty for <c>default</c>.</returns>
    public override string ToString() => _value ?? string.Empty;

    /// <summary>
    /// The short form users type (upstream <c>FamiliarString</c>): <c>docker.io/</c> is dropped, and then <c>library/</c>
    /// when the rest has a single component. Tag and digest are kept.
    /// </summary>
    /// <returns>The familiar form.</returns>
    public string ToFamiliarString()
    {
        int skip = FamiliarSkip();
        return skip == 0 ? ToString() : _value![skip..];
    }

    /// <summary>The familiar name without tag and digest (upstream <c>FamiliarName</c>).</summary>
    /// <returns>The familiar name.</returns>
    public string ToFamiliarName() => _value is null ? string.Empty : _value[FamiliarSkip().._layout.PathEnd];

    private int FamiliarSkip()
    {
        if (_value is null || !DomainSpan.SequenceEqual(DockerHubDomain))
        {
            return 0;
        }

        int skip = _layout.DomainLength + 1;
        ReadOnlySpan<char> path = PathSpan;
        if (path.StartsWith(OfficialRepositoryPrefix) && path[OfficialRepositoryPrefix.Length..].IndexOf('/') < 0)
        {
            skip += OfficialRepositoryPrefix.Length;
        }

        return skip;
    }

    /// <summary>
    /// Formats the reference into <paramref name="destination"/>. Format <c>null</c>, empty or <c>G</c> writes the canonical
    /// string; <c>F</c> writes the familiar form. Does not allocate.
    /// </summary>
    /// <param name="destination">Where to write.</param>
    /// <param name="charsWritten">How many characters were written.</param>
    /// <param name="format">The format: <c>G</c> (default) or <c>F</c>.</param>
    /// <param name="provider">Ignored: references are culture-invariant.</param>
    /// <returns><see langword="false"/> when <paramref name="destination"/> is too small.</returns>
    /// <exception cref="FormatException">The format is not <c>G</c> or <c>F</c>.</exception>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format = default, IFormatProvider? provider = null)
    {
        ReadOnlySpan<char> text = _value.AsSpan(SkipFor(format));
        if (text.TryCopyTo(destination))
        {
            charsWritten = text.Length;
            return true;
        }

        charsWritten = 0;
        return false;
    }

    /// <summary>Formats the reference: <c>G</c> (default) canonical, <c>F</c> familiar.</summary>
    /// <param name="format">The format: <c>G</c> (default) or <c>F</c>.</param>
    /// <param name="formatProvider">Ignored.</param>
    /// <returns>The formatted reference.</returns>
    /// <exception cref="FormatException">The format is not <c>G</c> or <c>F</c>.</exception>
    public string ToString(string? format, IFormatProvider? formatProvider)
    {
        int skip = SkipFor(format);
        return skip == 0 ? ToString() : _value![skip..];
    }

    private int SkipFor(ReadOnlySpan<char> format) => format switch
    {
        "" or "G" => 0,
        "F" => FamiliarSkip(),
        _ => throw new FormatException($"Unknown image reference format '{format}'. Use 'G' (canonical) or 'F' (familiar)."),
    };

    /// <inheritdoc/>
    public bool Equals(ImageReference other) => string.Equals(_value, other._value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is ImageReference other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => _value is null ? 0 : string.GetHashCode(_value, StringComparison.Ordinal);

    /// <summary>Whether two references have the same canonical string.</summary>
    /// <param name="left">The first reference.</param>
    /// <param name="right">The second reference.</param>
    /// <returns><see langword="true"/> when equal.</returns>
    public static bool operator ==(ImageReference left, ImageReference right) => left.Equals(right);

    /// <summary>Whether two references differ.</summary>
    /// <param name="left">The first reference.</param>
    /// <param name="right">The second reference.</param>
    /// <returns><see langword="true"/> when different.</returns>
    public static bool operator !=(ImageReference left, ImageReference right) => !left.Equals(right);

    /// <inheritdoc cref="ISpanParsable{TSelf}.Parse(ReadOnlySpan{char}, IFormatProvider?)"/>
    static ImageReference ISpanParsable<ImageReference>.Parse(ReadOnlySpan<char> s, IFormatProvider? provider) => Parse(s.ToString());

    /// <inheritdoc cref="ISpanParsable{TSelf}.TryParse(ReadOnlySpan{char}, IFormatProvider?, out TSelf)"/>
    static bool ISpanParsable<ImageReference>.TryParse(ReadOnlySpan<char> s, IFormatProvider? provider, out ImageReference result) =>
        TryParse(s.ToString(), out result);

    /// <inheritdoc cref="IParsable{TSelf}.Parse(string, IFormatProvider?)"/>
    static ImageReference IParsable<ImageReference>.Parse(string s, IFormatProvider? provider) => Parse(s);

    /// <inheritdoc cref="IParsable{TSelf}.TryParse(string?, IFormatProvider?, out TSelf)"/>
    static bool IParsable<ImageReference>.TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out ImageReference result) =>
        TryParse(s, out result);

    /// <summary>upstream <c>Parse</c>: grammar, then the 255-character path limit, then the digest.</summary>
    private static ReferenceError Analyse(string input, out ReferenceLayout layout)
    {
        if (!ReferenceGrammar.TryMatch<Identity>(input, out layout))
        {
            if (input.Length == 0)
            {
                return ReferenceError.Empty;
            }

            return ReferenceGrammar.TryMatch<GoLower>(input, out _) ? ReferenceError.Uppercase : ReferenceError.InvalidFormat;
        }

        int pathStart = layout.DomainLength == 0 ? 0 : layout.DomainLength + 1;
        if (layout.PathEnd - pathStart > ReferenceGrammar.MaxPathLength)
        {
            layout = default;
            return ReferenceError.NameTooLong;
        }

        if (layout.TagEnd < input.Length)
        {
            ReferenceErrorKind digestError = ReferenceGrammar.ValidateDigest(input.AsSpan(layout.TagEnd + 1));
            if (digestError != ReferenceErrorKind.None)
            {
                layout = default;
                return digestError switch
                {
                    ReferenceErrorKind.DigestInvalidLength => ReferenceError.DigestInvalidLength,
                    ReferenceErrorKind.DigestUnsupported => ReferenceError.DigestUnsupported,
                    _ => ReferenceError.DigestInvalidFormat,
                };
            }
        }

        return default;
    }

    /// <summary>
    /// The result of upstream <c>splitDockerDomain</c> as offsets into the input: the domain is either the input's first
    /// <see cref="DomainLength"/> characters or, when <see cref="DockerHub"/>, <c>docker.io</c>.
    /// </summary>
    private readonly record struct DomainSplit(bool DockerHub, int DomainLength, int RemainderStart, bool AddLibrary);

    /// <summary>upstream <c>splitDockerDomain</c> (normalize.go).</summary>
    private static DomainSplit SplitDockerDomain(string name)
    {
        int slash = name.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return new DomainSplit(DockerHub: true, 0, 0, AddLibrary: true);
        }

        ReadOnlySpan<char> maybeDomain = name.AsSpan(0, slash);
        bool keepDomain = maybeDomain.SequenceEqual("localhost")
            || maybeDomain.IndexOfAny('.', ':') >= 0
            || !IsLowercase(maybeDomain);
        if (maybeDomain.SequenceEqual(LegacyDockerHubDomain))
        {
            return new DomainSplit(DockerHub: true, 0, slash + 1, AddLibrary: name.AsSpan(slash + 1).IndexOf('/') < 0);
        }

        if (keepDomain)
        {
            bool hub = maybeDomain.SequenceEqual(DockerHubDomain);
            return new DomainSplit(DockerHub: false, slash, slash + 1, AddLibrary: hub && name.AsSpan(slash + 1).IndexOf('/') < 0);
        }

        // A first component that is not a domain: the whole input is a Docker Hub path, which has a '/' already.
        return new DomainSplit(DockerHub: true, 0, 0, AddLibrary: false);
    }

    private static string Join(string input, DomainSplit split, bool addTag)
    {
        const string TagSuffix = ":" + DefaultTag;
        if (!split.DockerHub && !split.AddLibrary && !addTag)
        {
            // The domain was kept as written, so domain + "/" + remainder is the input itself.
            return input;
        }

        int domainLength = split.DockerHub ? DockerHubDomain.Length : split.DomainLength;
        if (!split.DockerHub && !split.AddLibrary)
        {
            return string.Concat(input, TagSuffix);
        }

        int length = domainLength + 1 + (split.AddLibrary ? OfficialRepositoryPrefix.Length : 0) + input.Length - split.RemainderStart
            + (addTag ? TagSuffix.Length : 0);
        return string.Create(length, (input, split, addTag), static (span, state) =>
        {
            ReadOnlySpan<char> domain = state.split.DockerHub ? DockerHubDomain : state.input.AsSpan(0, state.split.DomainLength);
            domain.CopyTo(span);
            int at = domain.Length;
            span[at++] = '/';
            if (state.split.AddLibrary)
            {
                OfficialRepositoryPrefix.CopyTo(span[at..]);
                at += OfficialRepositoryPrefix.Length;
            }

            state.input.AsSpan(state.split.RemainderStart).CopyTo(span[at..]);
            if (state.addTag)
            {
                TagSuffix.CopyTo(span[(at + state.input.Length - state.split.RemainderStart)..]);
            }
        });
    }

    /// <summary>Go's <c>strings.ToLower(s) == s</c>: no character has a different lowercase form.</summary>
    private static bool IsLowercase(ReadOnlySpan<char> s)
    {
        if (System.Text.Ascii.IsValid(s))
        {
            return s.IndexOfAnyInRange('A', 'Z') < 0;
        }

        foreach (char ch in s)
        {
            // .NET's invariant casing leaves U+0130 alone, but Go lowercases it to 'i'.
            if (char.IsAsciiLetterUpper(ch) || (ch > 0x7F && (ch == '\u0130' || char.ToLowerInvariant(ch) != ch)))
            {
                return false;
            }
        }

        return true;
    }
}
