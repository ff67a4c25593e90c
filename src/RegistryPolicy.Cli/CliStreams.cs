namespace RegistryPolicy.Cli;

/// <summary>The three standard streams a command uses, so the whole tool can run in-process in tests.</summary>
/// <param name="In">Standard input.</param>
/// <param name="Out">Standard output.</param>
/// <param name="Error">Standard error.</param>
internal sealed record CliStreams(TextReader In, TextWriter Out, TextWriter Error);
