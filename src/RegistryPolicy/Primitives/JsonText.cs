using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace RegistryPolicy.Primitives;

/// <summary>
/// Reads JSON strings as Go's <c>encoding/json</c> does (and so kubectl, the API server and the kubelet): a byte that is not
/// part of valid UTF-8 becomes U+FFFD, one per byte, and a <c>\uXXXX</c> escape of an unpaired surrogate becomes U+FFFD.
/// <see cref="Utf8JsonReader.GetString"/> throws on both; these never throw.
/// </summary>
internal static class JsonText
{
    private const int StackLimit = 256;

    /// <summary>The current string or property-name token, read as Go reads it.</summary>
    /// <param name="reader">A reader on a <see cref="JsonTokenType.String"/> or <see cref="JsonTokenType.PropertyName"/> token.</param>
    /// <param name="replaced">Whether some bytes or escapes were replaced with U+FFFD.</param>
    /// <returns>The text.</returns>
    public static string GetString(ref Utf8JsonReader reader, out bool replaced)
    {
        if (reader.HasValueSequence)
        {
            byte[] raw = reader.ValueSequence.ToArray();
            return Decode(raw, reader.ValueIsEscaped, out replaced);
        }

        return Decode(reader.ValueSpan, reader.ValueIsEscaped, out replaced);
    }

    /// <summary>The current string token when it needs no replacement; false (and no string) when Go would replace something.</summary>
    /// <param name="reader">A reader on a string or property-name token.</param>
    /// <param name="value">The text.</param>
    /// <returns>Whether the text is exact.</returns>
    public static bool TryGetExactString(ref Utf8JsonReader reader, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
    {
        value = GetString(ref reader, out bool replaced);
        if (replaced)
        {
            value = null;
            return false;
        }

        return true;
    }

    /// <summary>A string element's text, read as Go reads it.</summary>
    /// <param name="element">An element of kind <see cref="JsonValueKind.String"/>.</param>
    /// <param name="replaced">Whether something was replaced with U+FFFD.</param>
    /// <returns>The text.</returns>
    public static string GetString(JsonElement element, out bool replaced)
    {
        ReadOnlySpan<byte> raw = JsonMarshal.GetRawUtf8Value(element);
        return Decode(raw[1..^1], raw.IndexOf((byte)'\\') >= 0, out replaced);
    }

    /// <summary>A property's name, read as Go reads it.</summary>
    /// <param name="property">The property.</param>
    /// <param name="replaced">Whether something was replaced with U+FFFD.</param>
    /// <returns>The name.</returns>
    public static string GetName(JsonProperty property, out bool replaced)
    {
        ReadOnlySpan<byte> raw = JsonMarshal.GetRawUtf8PropertyName(property);
        return Decode(raw, raw.IndexOf((byte)'\\') >= 0, out replaced);
    }

    /// <summary>
    /// The text of a JSON string's content (between the quotes, escapes still in place), as Go's <c>unquote</c> gives it.
    /// The content is assumed to have passed a JSON syntax check (escapes well formed, no raw control characters).
    /// </summary>
    /// <param name="content">The raw bytes between the quotes.</param>
    /// <param name="escaped">Whether the content may hold backslash escapes.</param>
    /// <param name="replaced">Whether something was replaced with U+FFFD.</param>
    /// <returns>The text.</returns>
    public static string Decode(ReadOnlySpan<byte> content, bool escaped, out bool replaced)
    {
        if (!escaped && Utf8.IsValid(content))
        {
            replaced = false;
            return Encoding.UTF8.GetString(content);
        }

        // Every escape or invalid byte gives at most 3 bytes out of at least 1 in (\uXXXX pairs: 4 out of 12).
        byte[]? rented = null;
        Span<byte> output = content.Length * 3 <= StackLimit
            ? stackalloc byte[StackLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(content.Length * 3));
        int written = Unquote(content, output, out replaced);
        string text = Encoding.UTF8.GetString(output[..written]);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented, clearArray: true);
        }

        return text;
    }

    /// <summary>
    /// The text with every unpaired surrogate replaced by U+FFFD, as Go's <c>utf8.EncodeRune</c> writes one (so as go-yaml
    /// reads a <c>"\ud800"</c> escape). Returns the same instance when there is none.
    /// </summary>
    /// <param name="text">Text from a parser that lets unpaired surrogates through.</param>
    /// <returns>Well-formed text.</returns>
    public static string WithoutLoneSurrogates(string text)
    {
        int i = text.AsSpan().IndexOfAnyInRange('\ud800', '\udfff');
        if (i < 0)
        {
            return text;
        }

        char[] chars = text.ToCharArray();
        for (; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(chars[i]))
            {
                chars[i] = '\ufffd';
            }
        }

        return new string(chars);
    }

    private static int Unquote(ReadOnlySpan<byte> s, Span<byte> output, out bool replaced)
    {
        replaced = false;
        int w = 0;
        int r = 0;
        while (r < s.Length)
        {
            byte c = s[r];
            if (c == (byte)'\\' && r + 1 < s.Length)
            {
                byte e = s[r + 1];
                r += 2;
                switch (e)
                {
                    case (byte)'b': output[w++] = (byte)'\b'; continue;
                    case (byte)'f': output[w++] = (byte)'\f'; continue;
                    case (byte)'n': output[w++] = (byte)'\n'; continue;
                    case (byte)'r': output[w++] = (byte)'\r'; continue;
                    case (byte)'t': output[w++] = (byte)'\t'; continue;
                    case (byte)'u':
                        int rr = Hex4(s, r);
                        if (rr < 0)
                        {
                            // Not reachable after a syntax check; keep the text rather than fail.
                            output[w++] = e;
                            continue;
                        }

                        r += 4;
                        if (char.IsSurrogate((char)rr))
                        {
                            int rr1 = r + 1 < s.Length && s[r] == (byte)'\\' && s[r + 1] == (byte)'u' ? Hex4(s, r + 2) : -1;
                            if (char.IsHighSurrogate((char)rr) && rr1 >= 0 && char.IsLowSurrogate((char)rr1))
                            {
                                r += 6;
                                w += new Rune(char.ConvertToUtf32((char)rr, (char)rr1)).EncodeToUtf8(output[w..]);
                                continue;
                            }

                            replaced = true;
                            rr = Rune.ReplacementChar.Value;
                        }

                        w += new Rune(rr).EncodeToUtf8(output[w..]);
                        continue;
                    default:
                        output[w++] = e; // '"', '\\', '/'
                        continue;
                }
            }

            if (c < 0x80)
            {
                output[w++] = c;
                r++;
                continue;
            }

            if (Rune.DecodeFromUtf8(s[r..], out _, out int consumed) == OperationStatus.Done)
            {
                s.Slice(r, consumed).CopyTo(output[w..]);
                w += consumed;
                r += consumed;
                continue;
            }

            // Go's utf8.DecodeRune: an invalid byte is one U+FFFD, and decoding resumes at the next byte.
            replaced = true;
            w += Rune.ReplacementChar.EncodeToUtf8(output[w..]);
            r++;
        }

        return w;
    }

    private static int Hex4(ReadOnlySpan<byte> s, int at)
    {
        if (at + 4 > s.Length)
        {
            return -1;
        }

        int value = 0;
        for (int i = at; i < at + 4; i++)
        {
            int digit = s[i] switch
            {
                >= (byte)'0' and <= (byte)'9' => s[i] - '0',
                >= (byte)'a' and <= (byte)'f' => s[i] - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => s[i] - 'A' + 10,
                _ => -1,
            };
            if (digit < 0)
            {
                return -1;
            }

            value = (value * 16) + digit;
        }

        return value;
    }
}
