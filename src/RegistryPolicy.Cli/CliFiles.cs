using System.Text;

namespace RegistryPolicy.Cli;

/// <summary>
/// Every file the tool reads goes through here: a name must not be empty, a directory is not a file, and what is read is
/// bounded (so an endless input such as <c>/dev/zero</c> is refused after a bounded amount of work, not read until memory
/// runs out). Text is UTF-8 with an optional byte order mark; invalid bytes read as U+FFFD, as Go's readers do.
/// </summary>
internal static class CliFiles
{
    /// <summary>The most a policy, map, change document or registry config file may hold.</summary>
    public const int MaxTextBytes = 16 * 1024 * 1024;

    /// <summary>The most a manifest file read whole (<c>swap -f -o yaml</c>) may hold.</summary>
    public const int MaxManifestBytes = 256 * 1024 * 1024;

    /// <summary>The most a <c>.dockerconfigjson</c> file may hold (a Secret holds at most 1 MiB; a docker config.json rarely more).</summary>
    public const int MaxDockerConfigBytes = 4 * 1024 * 1024;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>Checks a file name given on the command line before anything is opened.</summary>
    public static void CheckName(string path, string option)
    {
        if (path.Length == 0)
        {
            throw new InputException($"{option}: the file name is empty");
        }
    }

    /// <summary>Reads a whole text file (or standard input for '-'), at most <paramref name="maxBytes"/>.</summary>
    public static string ReadText(string path, string option, CliStreams streams, int maxBytes = MaxTextBytes)
    {
        byte[] bytes = ReadBytes(path, option, streams, maxBytes);
        ReadOnlySpan<byte> content = bytes;
        if (content.StartsWith("\uFEFF"u8))
        {
            content = content[3..];
        }

        return Utf8.GetString(content);
    }

    /// <summary>Reads a whole file (or standard input for '-'), at most <paramref name="maxBytes"/>.</summary>
    public static byte[] ReadBytes(string path, string option, CliStreams streams, int maxBytes)
    {
        CheckName(path, option);
        if (path == "-")
        {
            return ReadBounded(streams.InStream(), "<stdin>", maxBytes);
        }

        if (Directory.Exists(path))
        {
            throw new InputException($"{path}: is a directory; {option} takes a file");
        }

        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            return ReadBounded(stream, path, maxBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{path}: cannot read the file: {e.Message}");
        }
    }

    /// <summary>Opens a file for streaming (snapshots), with the same checks.</summary>
    public static FileStream Open(string path, string option)
    {
        CheckName(path, option);
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{path}: cannot read the file: {e.Message}");
        }
    }

    private static byte[] ReadBounded(Stream stream, string name, int maxBytes)
    {
        var buffer = new MemoryStream();
        byte[] chunk = new byte[1 << 16];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                string limit = maxBytes >= 1024 * 1024 ? $"{maxBytes / (1024 * 1024)} MiB" : $"{maxBytes / 1024} KiB";
                throw new InputException($"{name}: larger than {limit}; no input of this kind is that large (is it the right file?)");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
