using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace RegistryPolicy.Credentials;

/// <summary>
/// A username and password (or token) for one registry, as read from a pull secret. The secret parts are never shown:
/// <see cref="ToString"/>, the debugger display and any serialisation of the public properties show the username and a
/// <see cref="Fingerprint"/> (a short SHA-256 of the password) so two values can be compared without being revealed. Read the
/// password itself only through <see cref="RevealPassword"/>.
/// Immutable and thread-safe.
/// </summary>
/// <remarks>Immutable and thread-safe. Equality compares every field, the secret ones included.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class RegistryCredential : IEquatable<RegistryCredential>
{
    private readonly string _password;
    private readonly string? _identityToken;
    private readonly string? _registryToken;
    private string? _fingerprint;

    /// <summary>Creates a credential.</summary>
    /// <param name="username">The username (not secret; may be empty).</param>
    /// <param name="password">The password (secret; may be empty).</param>
    /// <param name="email">The e-mail address kubectl can record, or <see langword="null"/>.</param>
    /// <param name="identityToken">A Docker <c>identitytoken</c>, kept but unused by the kubelet.</param>
    /// <param name="registryToken">A Docker <c>registrytoken</c>, kept but unused by the kubelet.</param>
    public RegistryCredential(string username, string password, string? email = null, string? identityToken = null, string? registryToken = null)
    {
        ArgumentNullException.ThrowIfNull(username);
        ArgumentNullException.ThrowIfNull(password);
        Username = username;
        _password = password;
        _fingerprint = null;
        Email = string.IsNullOrEmpty(email) ? null : email;
        _identityToken = string.IsNullOrEmpty(identityToken) ? null : identityToken;
        _registryToken = string.IsNullOrEmpty(registryToken) ? null : registryToken;
    }

    /// <summary>The username.</summary>
    public string Username { get; }

    /// <summary>The e-mail address, or <see langword="null"/>.</summary>
    public string? Email { get; }

    /// <summary>Whether a password is set (non-empty).</summary>
    public bool HasPassword => _password.Length > 0;

    /// <summary>Whether an identity token or registry token is set.</summary>
    public bool HasToken => _identityToken is not null || _registryToken is not null;

    /// <summary>
    /// <c>sha256:</c> and the first 12 hex characters of SHA-256 over <c>registry-policy:</c> and the password's UTF-8 bytes:
    /// equal passwords have equal fingerprints; the password cannot be read from it.
    /// </summary>
    public string Fingerprint => _fingerprint ??= FingerprintOf(_password); // computed on first read (a benign race computes it twice)

    /// <summary>Returns the password. Call only where the user asked to see secrets, or to hand it to a registry client.</summary>
    /// <returns>The password.</returns>
    public string RevealPassword() => _password;

    /// <summary>Returns the identity token, if any. Secret.</summary>
    /// <returns>The token, or <see langword="null"/>.</returns>
    public string? RevealIdentityToken() => _identityToken;

    /// <summary>Returns the registry token, if any. Secret.</summary>
    /// <returns>The token, or <see langword="null"/>.</returns>
    public string? RevealRegistryToken() => _registryToken;

    /// <summary>Computes the fingerprint of a secret value, as shown by <see cref="Fingerprint"/>.</summary>
    /// <param name="secret">The value.</param>
    /// <returns><c>sha256:</c> and 12 hex characters.</returns>
    public static string FingerprintOf(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        byte[] input = Encoding.UTF8.GetBytes("registry-policy:" + secret);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        CryptographicOperations.ZeroMemory(input);
        return "sha256:" + Convert.ToHexStringLower(hash[..6]);
    }

    /// <summary>Shows the username and the fingerprint; never the password.</summary>
    /// <returns>For example <c>user (password sha256:1a2b3c4d5e6f)</c>.</returns>
    public override string ToString() =>
        HasPassword ? $"{Username} (password {Fingerprint})" : $"{Username} (no password)";

    /// <inheritdoc/>
    public bool Equals(RegistryCredential? other) =>
        other is not null
        && Username == other.Username
        && _password == other._password
        && Email == other.Email
        && _identityToken == other._identityToken
        && _registryToken == other._registryToken;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as RegistryCredential);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Username, _password, Email);
}
