namespace RegistryPolicy.Primitives;

/// <summary>
/// Go's <c>base64.StdEncoding</c> (padded) and <c>RawStdEncoding</c> (unpadded) decoders as the kubelet uses them for
/// <c>auth</c>: <c>\r</c> and <c>\n</c> are skipped, any other whitespace or a URL-safe character is an error, and trailing
/// bits are not checked. (.NET's decoders accept spaces, so they cannot be used.)
/// </summary>
internal static class GoBase64
{
    public static bool TryDecode(string text, bool padded, out byte[] bytes)
    {
        bytes = [];
        var clean = new List<byte>(text.Length);
        foreach (char c in text)
        {
            if (c is '\r' or '\n')
            {
                continue;
            }

            if (c > 0x7F)
            {
                return false;
            }

            clean.Add((byte)c);
        }

        int padding = 0;
        if (padded)
        {
            if (clean.Count % 4 != 0)
            {
                return false;
            }

            while (padding < 2 && clean.Count - padding > 0 && clean[clean.Count - 1 - padding] == '=')
            {
                padding++;
            }
        }

        int dataLength = clean.Count - padding;
        if (!padded && dataLength % 4 == 1)
        {
            return false;
        }

        var output = new byte[dataLength * 3 / 4];
        int bits = 0;
        int accumulator = 0;
        int written = 0;
        for (int i = 0; i < dataLength; i++)
        {
            int value = ValueOf(clean[i]);
            if (value < 0)
            {
                return false;
            }

            accumulator = (accumulator << 6) | value;
            bits += 6;
            if (bits >= 8)
            {
                bits -= 8;
                output[written++] = (byte)(accumulator >> bits);
                accumulator &= (1 << bits) - 1;
            }
        }

        // A padded quantum must be complete: "xx==" or "xxx=", never "x===".
        if (padded && padding > 0 && (dataLength % 4) + padding != 4)
        {
            return false;
        }

        bytes = written == output.Length ? output : output[..written];
        return true;
    }

    private static int ValueOf(byte c) => c switch
    {
        >= (byte)'A' and <= (byte)'Z' => c - 'A',
        >= (byte)'a' and <= (byte)'z' => c - 'a' + 26,
        >= (byte)'0' and <= (byte)'9' => c - '0' + 52,
        (byte)'+' => 62,
        (byte)'/' => 63,
        _ => -1,
    };
}
