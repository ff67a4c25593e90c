using System.Buffers;
using System.Text;

namespace RegistryPolicy.Primitives;

/// <summary>
/// Writes JSON string literals byte for byte as Go's <c>encoding/json</c> does with its default HTML escaping (what kubectl
/// uses): <c>&lt; &gt; &amp;</c> as <c>\u003c \u003e \u0026</c>; <c>\b \f \n \r \t</c> short escapes; other control bytes as
/// lowercase <c>\u00xx</c>; U+2028/U+2029 escaped; DEL and all other non-ASCII text raw; each byte of invalid UTF-8 as
/// <c>\ufffd</c>. Neither System.Text.Json encoder does this, so it is written out here.
/// </summary>
internal static class GoJson
{
    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;

    public static void WriteString(IBufferWriter<byte> output, ReadOnlySpan<byte> utf8)
    {
        Write(output, "\""u8);
        int runStart = 0;
        int i = 0;
        while (i < utf8.Length)
        {
            byte b = utf8[i];
            if (b < 0x80)
            {
                if (b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&')
                {
                    i++;
                    continue;
                }

                Write(output, utf8[runStart..i]);
                switch (b)
                {
                    case (byte)'"': Write(output, "\\\""u8); break;
                    case (byte)'\\': Write(output, "\\\\"u8); break;
                    case (byte)'\b': Write(output, "\\b"u8); break;
                    case (byte)'\f': Write(output, "\\f"u8); break;
                    case (byte)'\n': Write(output, "\\n"u8); break;
                    case (byte)'\r': Write(output, "\\r"u8); break;
                    case (byte)'\t': Write(output, "\\t"u8); break;
                    default: WriteUnicodeEscape(output, b); break;
                }

                i++;
                runStart = i;
                continue;
            }

            OperationStatus status = Rune.DecodeFromUtf8(utf8[i..], out Rune rune, out int consumed);
            if (status != OperationStatus.Done)
            {
                // Go decodes an invalid sequence one byte at a time, each as U+FFFD.
                Write(output, utf8[runStart..i]);
                Write(output, "\\ufffd"u8);
                i++;
                runStart = i;
                continue;
            }

            if (rune.Value is 0x2028 or 0x2029)
            {
                Write(output, utf8[runStart..i]);
                WriteUnicodeEscape(output, rune.Value);
                i += consumed;
                runStart = i;
                continue;
            }

            i += consumed;
        }

        Write(output, utf8[runStart..]);
        Write(output, "\""u8);
    }

    public static void WriteString(IBufferWriter<byte> output, string value)
    {
        byte[] rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(value.Length));
        try
        {
            int length = Encoding.UTF8.GetBytes(value, rented);
            WriteString(output, rented.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented, clearArray: true);
        }
    }

    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        if (!bytes.IsEmpty)
        {
            bytes.CopyTo(output.GetSpan(bytes.Length));
            output.Advance(bytes.Length);
        }
    }

    private static void WriteUnicodeEscape(IBufferWriter<byte> output, int value)
    {
        Span<byte> escape = output.GetSpan(6);
        escape[0] = (byte)'\\';
        escape[1] = (byte)'u';
        escape[2] = HexDigits[(value >> 12) & 0xF];
        escape[3] = HexDigits[(value >> 8) & 0xF];
        escape[4] = HexDigits[(value >> 4) & 0xF];
        escape[5] = HexDigits[value & 0xF];
        output.Advance(6);
    }
}
