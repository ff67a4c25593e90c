namespace RegistryPolicy.References;

/// <summary>
/// Why an image reference could not be parsed: a <see cref="Kind"/> with a stable <see cref="Code"/> and the message the
/// Go <c>distribution/reference</c> package gives for the same input.
/// Immutable and thread-safe.
/// </summary>
/// <param name="Kind">What went wrong.</param>
/// <param name="Message">A human-readable message, worded as upstream words it.</param>
public readonly record struct ReferenceError(ReferenceErrorKind Kind, string Message)
{
    /// <summary>The stable, kebab-case code of <see cref="Kind"/> (for example <c>invalid-format</c>); empty for <see cref="ReferenceErrorKind.None"/>.</summary>
    public string Code => CodeOf(Kind);

    /// <summary>Returns the stable code of an error kind, as used in JSON output.</summary>
    /// <param name="kind">The kind of error.</param>
    /// <returns>The kebab-case code, or an empty string for <see cref="ReferenceErrorKind.None"/>.</returns>
    public static string CodeOf(ReferenceErrorKind kind) => kind switch
    {
        ReferenceErrorKind.Empty => "empty",
        ReferenceErrorKind.InvalidFormat => "invalid-format",
        ReferenceErrorKind.Uppercase => "uppercase",
        ReferenceErrorKind.NameTooLong => "name-too-long",
        ReferenceErrorKind.DigestInvalidLength => "digest-invalid-length",
        ReferenceErrorKind.DigestInvalidFormat => "digest-invalid-format",
        ReferenceErrorKind.DigestUnsupported => "digest-unsupported",
        ReferenceErrorKind.HexIdentifier => "hex-identifier",
        _ => string.Empty,
    };

    /// <summary>Formats the error as <c>code: message</c>.</summary>
    /// <returns>The code and the message.</returns>
    public override string ToString() => Kind == ReferenceErrorKind.None ? string.Empty : $"{Code}: {Message}";

    internal static readonly ReferenceError Empty = new(ReferenceErrorKind.Empty, "repository name must have at least one component");
    internal static readonly ReferenceError InvalidFormat = new(ReferenceErrorKind.InvalidFormat, "invalid reference format");
    internal static readonly ReferenceError Uppercase = new(ReferenceErrorKind.Uppercase, "invalid reference format: repository name must be lowercase");
    internal static readonly ReferenceError NameTooLong = new(ReferenceErrorKind.NameTooLong, "repository name must not be more than 255 characters");
    internal static readonly ReferenceError DigestInvalidLength = new(ReferenceErrorKind.DigestInvalidLength, "invalid checksum digest length");
    internal static readonly ReferenceError DigestInvalidFormat = new(ReferenceErrorKind.DigestInvalidFormat, "invalid checksum digest format");
    internal static readonly ReferenceError DigestUnsupported = new(ReferenceErrorKind.DigestUnsupported, "unsupported digest algorithm");

    internal static ReferenceError UppercaseRemote(string remote) =>
        new(ReferenceErrorKind.Uppercase, $"invalid reference format: repository name ({remote}) must be lowercase");

    internal static ReferenceError HexIdentifierOf(string input) =>
        new(ReferenceErrorKind.HexIdentifier, $"invalid repository name ({input}), cannot specify 64-byte hexadecimal strings");
}
