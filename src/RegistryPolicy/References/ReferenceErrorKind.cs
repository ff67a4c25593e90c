namespace RegistryPolicy.References;

/// <summary>
/// Why an image reference was rejected. Each value corresponds to one error of the Go
/// <c>distribution/reference</c> package; <see cref="ReferenceError.Code"/> gives its stable kebab-case code.
/// </summary>
public enum ReferenceErrorKind
{
    /// <summary>No error. The value of <c>default(ReferenceError)</c>.</summary>
    None = 0,

    /// <summary><c>empty</c>: the input is the empty string.</summary>
    Empty,

    /// <summary><c>invalid-format</c>: the input does not match the reference grammar.</summary>
    InvalidFormat,

    /// <summary><c>uppercase</c>: the repository path contains uppercase letters (it would be valid lowercased).</summary>
    Uppercase,

    /// <summary><c>name-too-long</c>: the repository path (without the domain) is longer than 255 characters.</summary>
    NameTooLong,

    /// <summary><c>digest-invalid-length</c>: a sha256/sha384/sha512 digest whose hex part has the wrong length.</summary>
    DigestInvalidLength,

    /// <summary><c>digest-invalid-format</c>: a digest whose hex part is not lowercase, or whose algorithm is malformed.</summary>
    DigestInvalidFormat,

    /// <summary><c>digest-unsupported</c>: a well-formed digest whose algorithm is not sha256, sha384 or sha512.</summary>
    DigestUnsupported,

    /// <summary><c>hex-identifier</c>: the input is exactly 64 lowercase hex characters (an image ID, not a name).</summary>
    HexIdentifier,
}
