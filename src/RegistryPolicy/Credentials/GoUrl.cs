using System.Text;

namespace RegistryPolicy.Credentials;

/// <summary>
/// The part of Go's <c>net/url.Parse</c> the kubelet's keyring depends on, for strings of the form <c>https://AUTHORITY/PATH</c>:
/// control characters, the fragment and query cut, userinfo, the host grammar (an invalid port or character is an error),
/// and percent-decoding of host and path.
/// </summary>
internal static class GoUrl
{
    /// <summary>Parses <paramref name="url"/> (which must start with <c>http://</c> or <c>https://</c>) into host and decoded path.</summary>
    public static bool TryParse(string url, out string host, out string path)
    {
        host = path = string.Empty;
        foreach (char c in url)
        {
            if (c < 0x20 || c == 0x7F)
            {
                return false;
            }
        }

        int schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        ReadOnlySpan<char> rest = url.AsSpan(schemeEnd + 3);
        int hash = rest.IndexOf('#');
        if (hash >= 0)
        {
            if (!TryUnescape(rest[(hash + 1)..], hostMode: false, out _))
            {
                return false;
            }

            rest = rest[..hash];
        }

        int question = rest.IndexOf('?');
        if (question >= 0)
        {
            rest = rest[..question];
        }

        int slash = rest.IndexOf('/');
        ReadOnlySpan<char> authority = slash < 0 ? rest : rest[..slash];
        ReadOnlySpan<char> rawPath = slash < 0 ? default : rest[slash..];

        int at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            foreach (char c in authority[..at])
            {
                if (!char.IsAsciiLetterOrDigit(c) && !"-._:~!$&'()*+,;=%@".Contains(c, StringComparison.Ordinal))
                {
                    return false;
                }
            }

            authority = authority[(at + 1)..];
        }

        if (!TryParseHost(authority, out host) || !TryUnescape(rawPath, hostMode: false, out path))
        {
            return false;
        }

        return true;
    }

    private static bool TryParseHost(ReadOnlySpan<char> host, out string result)
    {
        result = string.Empty;
        if (host.StartsWith('['))
        {
            int close = host.LastIndexOf(']');
            if (close < 0 || !IsValidOptionalPort(host[(close + 1)..]))
            {
                return false;
            }
        }
        else
        {
            int colon = host.LastIndexOf(':');
            if (colon >= 0 && !IsValidOptionalPort(host[colon..]))
            {
                return false;
            }
        }

        return TryUnescape(host, hostMode: true, out result);
    }

    private static bool IsValidOptionalPort(ReadOnlySpan<char> port)
    {
        if (port.IsEmpty)
        {
            return true;
        }

        if (port[0] != ':')
        {
            return false;
        }

        foreach (char c in port[1..])
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryUnescape(ReadOnlySpan<char> text, bool hostMode, out string result)
    {
        result = string.Empty;
        if (text.IndexOf('%') < 0 && (!hostMode || IsPlainHost(text)))
        {
            result = text.ToString();
            return true;
        }

        var bytes = new List<byte>(text.Length);
        Span<byte> scratch = stackalloc byte[4];
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '%')
            {
                if (i + 2 >= text.Length || !char.IsAsciiHexDigit(text[i + 1]) || !char.IsAsciiHexDigit(text[i + 2]))
                {
                    return false;
                }

                int value = Convert.ToInt32(text.Slice(i + 1, 2).ToString(), 16);

                // In a host, Go allows percent-encoding only of non-ASCII bytes, and "%25".
                if (hostMode && value < 0x80 && value != 0x25)
                {
                    return false;
                }

                bytes.Add((byte)value);
                i += 2;
                continue;
            }

            if (hostMode && c < 0x80 && !IsHostChar(c))
            {
                return false;
            }

            int written = new Rune(char.IsSurrogate(c) ? '\uFFFD' : c).EncodeToUtf8(scratch);
            for (int k = 0; k < written; k++)
            {
                bytes.Add(scratch[k]);
            }
        }

        result = Encoding.UTF8.GetString(bytes.ToArray());
        return true;
    }

    private static bool IsPlainHost(ReadOnlySpan<char> host)
    {
        foreach (char c in host)
        {
            if (c < 0x80 && !IsHostChar(c))
            {
                return false;
            }
        }

        return true;
    }

    // Characters Go's shouldEscape(c, encodeHost) lets through unescaped.
    private static bool IsHostChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || "-_.~!$&'()*+,;=:[]<>\"".Contains(c, StringComparison.Ordinal);

    /// <summary>
    /// Go's <c>net.SplitHostPort</c> applied as the keyring applies it: on any error the whole string is the host and the
    /// port is empty. Returns ranges into <paramref name="hostport"/>, so it never allocates.
    /// </summary>
    public static void SplitHostPort(ReadOnlySpan<char> hostport, out Range host, out Range port)
    {
        host = Range.All;
        port = 0..0;
        int lastColon = hostport.LastIndexOf(':');
        if (lastColon < 0)
        {
            return;
        }

        int hostStart = 0, hostEnd, j = 0, k = 0;
        if (hostport[0] == '[')
        {
            int end = hostport.IndexOf(']');
            if (end < 0 || end + 1 == hostport.Length || end + 1 != lastColon)
            {
                return;
            }

            hostStart = 1;
            hostEnd = end;
            j = 1;
            k = end + 1;
        }
        else
        {
            hostEnd = lastColon;
            if (hostport[..lastColon].IndexOf(':') >= 0)
            {
                return;
            }
        }

        if (hostport[j..].IndexOf('[') >= 0 || hostport[k..].IndexOf(']') >= 0)
        {
            return;
        }

        host = hostStart..hostEnd;
        port = (lastColon + 1)..;
    }
}
