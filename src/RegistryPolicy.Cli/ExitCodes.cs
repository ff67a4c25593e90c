namespace RegistryPolicy.Cli;

/// <summary>The process exit codes of <c>registry-policy</c>, documented in docs/cli.md.</summary>
internal static class ExitCodes
{
    /// <summary>Every input was processed (invalid inputs are reported in the output, not by the exit code).</summary>
    public const int Ok = 0;

    /// <summary>The input could not be used: a file that does not exist or cannot be read, or a value the command refuses.</summary>
    public const int InputError = 1;

    /// <summary>The command line is wrong: unknown command or option, a missing or malformed argument.</summary>
    public const int UsageError = 2;

    /// <summary>
    /// What was asked to fail did: <c>admit</c> refuses the object, <c>whatif --fail-on-change</c> finds a change,
    /// <c>policy diff</c> a disagreement, <c>swap check</c> an image that disagrees, <c>pulls --fail-on-finding</c> an error finding.
    /// </summary>
    public const int Refused = 3;

    /// <summary>A bug in the tool (an exception it did not expect). Tests fail on it; users should report it.</summary>
    public const int InternalError = 70;
}
