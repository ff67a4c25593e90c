using System.Buffers;

namespace RegistryPolicy.References;

/// <summary>
/// Where the parts of a reference lie in its string: <c>[domain "/"] path [":" tag] ["@" digest]</c>.
/// <see cref="DomainLength"/> is 0 when there is no domain; <see cref="TagEnd"/> equals <see cref="PathEnd"/> when there is
/// no tag; a digest exists when <see cref="TagEnd"/> is before the end of the string.
/// </summary>
internal readonly record struct ReferenceLayout(int DomainLength, int PathEnd, int TagEnd);

/// <summary>
/// A hand-written scanner for the anchored <c>ReferenceRegexp</c> of distribution/reference (regexp.go), without a regex
/// engine. <c>TMap</c> is either the identity or Go's <c>strings.ToLower</c> applied per character, which is
/// how upstream decides between <c>uppercase</c> and <c>invalid-format</c>.
/// </summary>
internal static class ReferenceGrammar
{
    private static readonly SearchValues<char> TagChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");
    private static readonly SearchValues<char> LowerHexDigits = SearchValues.Create("0123456789abcdef");

    public const int MaxPathLength = 255;
    public const int MaxTagLength = 128;
    public const int MinDigestHexLength = 32;

    public static bool TryMatch<TMap>(ReadOnlySpan<char> s, out ReferenceLayout layout)
        where TMap : struct, ICharMap
    {
        layout = default;
        int at = s.IndexOf('@');
        ReadOnlySpan<char> beforeDigest = at < 0 ? s : s[..at];
        if (at >= 0 && !IsDigest<TMap>(s[(at + 1)..]))
        {
            return false;
        }

        // The tag follows the last ':' unless a '/' comes after it (then that ':' belongs to a domain's port or IPv6 host).
        int nameEnd = beforeDigest.Length;
        int colon = beforeDigest.LastIndexOf(':');
        if (colon >= 0 && beforeDigest[(colon + 1)..].IndexOf('/') < 0)
        {
            if (!IsTag<TMap>(beforeDigest[(colon + 1)..]))
            {
                return false;
            }

            nameEnd = colon;
        }

        ReadOnlySpan<char> name = beforeDigest[..nameEnd];
        int slash = name.IndexOf('/');
        int domainLength = 0;
        if (slash > 0 && IsDomainAndPort<TMap>(name[..slash]))
        {
            domainLength = slash;
            if (!IsPath<TMap>(name[(slash + 1)..]))
            {
                return false;
            }
        }
        else if (!IsPath<TMap>(name))
        {
            return false;
        }

        layout = new ReferenceLayout(domainLength, nameEnd, beforeDigest.Length);
        return true;
    }

    /// <summary>
    /// One or more path components joined by single slashes; a component is <c>[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*</c>.
    /// One scalar pass: references are short, and a pass beats many vectorised calls of a few characters each.
    /// </summary>
    public static bool IsPath<TMap>(ReadOnlySpan<char> c)
        where TMap : struct, ICharMap
    {
        int i = 0;
        int n = c.Length;
        while (true)
        {
            // A run of lowercase letters and digits must start here: at the start, after '/', or after a separator.
            if (i >= n || !IsLowerAlnum(TMap.Map(c[i])))
            {
                return false;
            }

            i++;
            while (i < n && IsLowerAlnum(TMap.Map(c[i])))
            {
                i++;
            }

            if (i == n)
            {
                return true;
            }

            switch (TMap.Map(c[i]))
            {
                case '/':
                case '.':
                    i++;
                    break;
                case '_':
                    i++;
                    if (i < n && TMap.Map(c[i]) == '_')
                    {
                        i++;
                    }

                    break;
                case '-':
                    i++;
                    while (i < n && TMap.Map(c[i]) == '-')
                    {
                        i++;
                    }

                    break;
                default:
                    return false;
            }
        }
    }

    /// <summary><c>host(:port)?</c> where host is DNS labels or a bracketed IPv6 literal and port is digits (no range check).</summary>
    public static bool IsDomainAndPort<TMap>(ReadOnlySpan<char> d)
        where TMap : struct, ICharMap
    {
        int hostEnd;
        if (!d.IsEmpty && TMap.Map(d[0]) == '[')
        {
            int i = 1;
            while (i < d.Length && (IsHex(TMap.Map(d[i])) || TMap.Map(d[i]) == ':'))
            {
                i++;
            }

            if (i == 1 || i >= d.Length || TMap.Map(d[i]) != ']')
            {
                return false;
            }

            hostEnd = i + 1;
        }
        else
        {
            hostEnd = d.IndexOf(':');
            if (hostEnd < 0)
            {
                hostEnd = d.Length;
            }

            if (!IsDomainName<TMap>(d[..hostEnd]))
            {
                return false;
            }
        }

        if (hostEnd == d.Length)
        {
            return true;
        }

        if (TMap.Map(d[hostEnd]) != ':' || hostEnd + 1 == d.Length)
        {
            return false;
        }

        foreach (char ch in d[(hostEnd + 1)..])
        {
            if (!char.IsAsciiDigit(TMap.Map(ch)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Labels joined by '.'; a label is alphanumeric at both ends with '-' allowed inside. Uppercase is allowed.</summary>
    public static bool IsDomainName<TMap>(ReadOnlySpan<char> host)
        where TMap : struct, ICharMap
    {
        if (host.IsEmpty)
        {
            return false;
        }

        int labelStart = 0;
        for (int i = 0; i <= host.Length; i++)
        {
            if (i == host.Length || TMap.Map(host[i]) == '.')
            {
                if (i == labelStart || TMap.Map(host[i - 1]) == '-')
                {
                    return false;
                }

                labelStart = i + 1;
                continue;
            }

            char ch = TMap.Map(host[i]);
            if (char.IsAsciiLetterOrDigit(ch))
            {
                continue;
            }

            if (ch != '-' || i == labelStart)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><c>[\w][\w.-]{0,127}</c> with ASCII <c>\w</c>.</summary>
    public static bool IsTag<TMap>(ReadOnlySpan<char> tag)
        where TMap : struct, ICharMap
    {
        if (tag.IsEmpty || tag.Length > MaxTagLength || !IsWord(TMap.Map(tag[0])))
        {
            return false;
        }

        if (typeof(TMap) == typeof(Identity))
        {
            return tag.IndexOfAnyExcept(TagChars) < 0;
        }

        for (int i = 1; i < tag.Length; i++)
        {
            char ch = TMap.Map(tag[i]);
            if (!IsWord(ch) && ch != '.' && ch != '-')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><c>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}</c></summary>
    public static bool IsDigest<TMap>(ReadOnlySpan<char> d)
        where TMap : struct, ICharMap
    {
        int colon = d.IndexOf(':');
        if (colon <= 0)
        {
            return false;
        }

        ReadOnlySpan<char> algorithm = d[..colon];
        bool expectLetter = true;
        foreach (char raw in algorithm)
        {
            char ch = TMap.Map(raw);
            if (expectLetter)
            {
                if (!char.IsAsciiLetter(ch))
                {
                    return false;
                }

                expectLetter = false;
            }
            else if (ch is '-' or '_' or '+' or '.')
            {
                expectLetter = true;
            }
            else if (!char.IsAsciiLetterOrDigit(ch))
            {
                return false;
            }
        }

        if (expectLetter)
        {
            return false;
        }

        ReadOnlySpan<char> hex = d[(colon + 1)..];
        if (hex.Length < MinDigestHexLength)
        {
            return false;
        }

        if (typeof(TMap) == typeof(Identity))
        {
            return hex.IndexOfAnyExcept(HexDigits) < 0;
        }

        foreach (char ch in hex)
        {
            if (!IsHex(TMap.Map(ch)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// go-digest's <c>Digest.Validate</c> for a digest that already matched <see cref="IsDigest{TMap}"/>: sha256, sha384 and
    /// sha512 are registered (as in the kubelet); length is checked before case.
    /// </summary>
    public static ReferenceErrorKind ValidateDigest(ReadOnlySpan<char> d)
    {
        int colon = d.IndexOf(':');
        ReadOnlySpan<char> algorithm = d[..colon];
        ReadOnlySpan<char> encoded = d[(colon + 1)..];
        int expectedLength = algorithm switch
        {
            "sha256" => 64,
            "sha384" => 96,
            "sha512" => 128,
            _ => 0,
        };

        if (expectedLength == 0)
        {
            return MatchesGoDigestPattern(d) ? ReferenceErrorKind.DigestUnsupported : ReferenceErrorKind.DigestInvalidFormat;
        }

        if (encoded.Length != expectedLength)
        {
            return ReferenceErrorKind.DigestInvalidLength;
        }

        return encoded.IndexOfAnyExcept(LowerHexDigits) < 0 ? ReferenceErrorKind.None : ReferenceErrorKind.DigestInvalidFormat;
    }

    /// <summary>go-digest's <c>DigestRegexpAnchored</c>: <c>[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+</c>.</summary>
    private static bool MatchesGoDigestPattern(ReadOnlySpan<char> d)
    {
        int colon = d.IndexOf(':');
        bool expectRun = true;
        foreach (char ch in d[..colon])
        {
            if (IsLowerAlnum(ch))
            {
                expectRun = false;
            }
            else if (!expectRun && ch is '.' or '+' or '_' or '-')
            {
                expectRun = true;
            }
            else
            {
                return false;
            }
        }

        if (expectRun)
        {
            return false;
        }

        foreach (char ch in d[(colon + 1)..])
        {
            if (!char.IsAsciiLetterOrDigit(ch) && ch is not ('=' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Exactly 64 lowercase hex characters: go's <c>anchoredIdentifierRegexp</c>.</summary>
    public static bool IsHexIdentifier(ReadOnlySpan<char> s)
    {
        return s.Length == 64 && s.IndexOfAnyExcept(LowerHexDigits) < 0;
    }

    public static bool IsLowerAlnum(char ch) => (uint)(ch - '0') <= 9 || (uint)(ch - 'a') <= 'z' - 'a';

    private static bool IsHex(char ch) => char.IsAsciiHexDigit(ch);

    private static bool IsWord(char ch) => char.IsAsciiLetterOrDigit(ch) || ch == '_';
}

/// <summary>A per-character mapping applied by the scanner before classification.</summary>
internal interface ICharMap
{
    static abstract char Map(char c);
}

/// <summary>Reads characters as they are.</summary>
internal readonly struct Identity : ICharMap
{
    public static char Map(char c) => c;
}

/// <summary>
/// Go's <c>strings.ToLower</c>, reduced to what can change a grammar decision: ASCII letters, and the two non-ASCII runes whose
/// lowercase form is ASCII (U+212A KELVIN SIGN to <c>k</c>, U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE to <c>i</c>).
/// </summary>
internal readonly struct GoLower : ICharMap
{
    public static char Map(char c) => c switch
    {
        >= 'A' and <= 'Z' => (char)(c | 0x20),
        '\u212A' => 'k',
        '\u0130' => 'i',
        _ => c,
    };
}
