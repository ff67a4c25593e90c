namespace RegistryPolicy.Fuzz;

/// <summary>
/// Thrown by a fuzz target when the code under test returned normally but broke its contract: two paths disagree, a
/// round trip does not come back, a limit did not hold. The fuzzer counts it as a crash, like any other escaping exception.
/// </summary>
internal sealed class ContractViolationException : Exception
{
    public ContractViolationException()
    {
    }

    public ContractViolationException(string message)
        : base(message)
    {
    }

    public ContractViolationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The short, stable name of the broken check (the first part of the message), used to deduplicate findings.</summary>
    public string Check => Message.Split(':', 2)[0];

    /// <summary>Throws when <paramref name="condition"/> is false.</summary>
    /// <param name="condition">What must hold.</param>
    /// <param name="check">A short stable name for the check (for example <c>json-paths-agree</c>).</param>
    /// <param name="detail">What was seen, computed only on failure.</param>
    public static void Require(bool condition, string check, Func<string> detail)
    {
        if (!condition)
        {
            throw new ContractViolationException($"{check}: {detail()}");
        }
    }
}
