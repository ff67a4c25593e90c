namespace RegistryPolicy.Cli;

/// <summary>Helpers for the <c>-o</c> option shared by every command with structured output.</summary>
internal static class OutputFormat
{
    public static System.CommandLine.Option<string> Create(string defaultValue, params string[] allowed)
    {
        var option = new System.CommandLine.Option<string>("--output", "-o")
        {
            Description = $"Output format: {string.Join(", ", allowed)}.",
            DefaultValueFactory = _ => defaultValue,
            HelpName = string.Join('|', allowed),
        };
        option.AcceptOnlyFromAmong(allowed);
        return option;
    }

    /// <summary><c>--compact</c>: JSON on one line instead of indented (the default everywhere).</summary>
    public static System.CommandLine.Option<bool> CompactOption() =>
        new("--compact") { Description = "With -o json, print JSON on one line (default: indented)." };
}
