namespace RegistryPolicy.Credentials;

/// <summary>
/// Go's <c>filepath.Match</c> on Linux, as the keyring applies it to one DNS label: <c>*</c> matches any run of characters
/// except <c>/</c>, <c>?</c> one character, <c>[...]</c> a class (with <c>^</c> negation and ranges), <c>\</c> escapes.
/// A malformed pattern never matches.
/// </summary>
internal static class GoGlob
{
    public static bool IsValid(ReadOnlySpan<char> pattern)
    {
        for (int i = 0; i < pattern.Length; i++)
        {
            switch (pattern[i])
            {
                case '\\':
                    if (++i >= pattern.Length)
                    {
                        return false;
                    }

                    break;
                case '[':
                    if (!TryMatchClass(pattern[(i + 1)..], 'a', out _, out int consumed))
                    {
                        return false;
                    }

                    i += consumed;
                    break;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="name"/> matches <paramref name="pattern"/> (assumed valid).</summary>
    public static bool Match(ReadOnlySpan<char> pattern, ReadOnlySpan<char> name)
    {
        if (pattern.IndexOfAny('*', '?', '[') < 0 && pattern.IndexOf('\\') < 0)
        {
            return pattern.SequenceEqual(name);
        }

        int p = 0, n = 0, starP = -1, starN = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                starP = ++p;
                starN = n;
                continue;
            }

            if (p < pattern.Length && MatchOne(pattern[p..], name[n], out int consumed))
            {
                p += consumed;
                n++;
                continue;
            }

            // Backtrack: let the last '*' take one more character (never a '/').
            if (starP >= 0 && name[starN] != '/')
            {
                p = starP;
                n = ++starN;
                continue;
            }

            return false;
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static bool MatchOne(ReadOnlySpan<char> pattern, char c, out int consumed)
    {
        switch (pattern[0])
        {
            case '?':
                consumed = 1;
                return c != '/';
            case '[':
                bool ok = TryMatchClass(pattern[1..], c, out bool matched, out int used);
                consumed = used + 1;
                return ok && matched && c != '/';
            case '\\':
                consumed = 2;
                return pattern.Length > 1 && pattern[1] == c;
            default:
                consumed = 1;
                return pattern[0] == c;
        }
    }

    /// <summary>Reads a class body after '[' up to and including ']'; <paramref name="consumed"/> counts the characters read.</summary>
    private static bool TryMatchClass(ReadOnlySpan<char> body, char c, out bool matched, out int consumed)
    {
        matched = false;
        consumed = 0;
        int i = 0;
        bool negated = false;
        if (i < body.Length && body[i] == '^')
        {
            negated = true;
            i++;
        }

        bool any = false;
        while (true)
        {
            if (i >= body.Length)
            {
                return false;
            }

            if (body[i] == ']' && any)
            {
                i++;
                break;
            }

            if (!TryClassChar(body, ref i, out char lo))
            {
                return false;
            }

            char hi = lo;
            if (i < body.Length && body[i] == '-')
            {
                i++;
                if (!TryClassChar(body, ref i, out hi))
                {
                    return false;
                }
            }

            if (lo <= c && c <= hi)
            {
                matched = true;
            }

            any = true;
        }

        matched ^= negated;
        consumed = i;
        return true;
    }

    private static bool TryClassChar(ReadOnlySpan<char> body, ref int i, out char c)
    {
        c = '\0';
        if (i >= body.Length || body[i] is '-' or ']')
        {
            return false;
        }

        if (body[i] == '\\')
        {
            i++;
            if (i >= body.Length)
            {
                return false;
            }
        }

        c = body[i++];
        return true;
    }
}
