namespace RegistryPolicy.Cli;

/// <summary>The three standard streams a command uses, so the whole tool can run in-process in tests.</summary>
/// <param name="In">Standard input.</param>
/// <param name="Out">Standard output.</param>
/// <param name="Error">Standard error.</param>
internal sealed record CliStreams(TextReader In, TextWriter Out, TextWriter Error)
{
    /// <summary>Standard input as bytes (the underlying stream when there is one, else the text re-encoded as UTF-8).</summary>
    public Stream InStream() => In is StreamReader { BaseStream: { } stream } ? stream : new MemoryStream(System.Text.Encoding.UTF8.GetBytes(In.ReadToEnd()));
}
