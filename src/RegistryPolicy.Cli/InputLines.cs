using System.Buffers;

namespace RegistryPolicy.Cli;

/// <summary>
/// Splits a text stream into lines exactly as given: a line ends at <c>\n</c>, one <c>\r</c> before it is removed, nothing is
/// trimmed, and a last line without a newline still counts. Streams in constant memory (one line at a time).
/// </summary>
internal static class InputLines
{
    /// <summary>The longest line read (an image reference is at most a few hundred characters; this bounds endless input).</summary>
    public const int MaxLineChars = 1024 * 1024;

    public static IEnumerable<string> Read(TextReader reader)
    {
        char[] buffer = ArrayPool<char>.Shared.Rent(1 << 16);
        try
        {
            int start = 0;
            int end = 0;
            while (true)
            {
                int newline = Array.IndexOf(buffer, '\n', start, end - start);
                if (newline >= 0)
                {
                    int length = newline - start;
                    if (length > 0 && buffer[newline - 1] == '\r')
                    {
                        length--;
                    }

                    yield return new string(buffer, start, length);
                    start = newline + 1;
                    continue;
                }

                // No newline in what is buffered: keep the partial line at the front, grow if it fills the buffer, read more.
                if (start > 0)
                {
                    Array.Copy(buffer, start, buffer, 0, end - start);
                    end -= start;
                    start = 0;
                }

                if (end >= MaxLineChars)
                {
                    throw new InputException($"a line of the input is longer than {MaxLineChars / 1024} KiB characters; no image or reference is that long (is it the right input?)");
                }

                if (end == buffer.Length)
                {
                    char[] larger = ArrayPool<char>.Shared.Rent(buffer.Length * 2);
                    Array.Copy(buffer, larger, end);
                    ArrayPool<char>.Shared.Return(buffer);
                    buffer = larger;
                }

                int read = reader.Read(buffer, end, buffer.Length - end);
                if (read == 0)
                {
                    if (end > 0)
                    {
                        yield return new string(buffer, 0, end);
                    }

                    yield break;
                }

                end += read;
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }
}
