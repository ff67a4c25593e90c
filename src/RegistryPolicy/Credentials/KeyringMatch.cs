using System.Collections.Immutable;
using System.Runtime.InteropServices;
using RegistryPolicy.References;
using RegistryPolicy.Diagnostics;

namespace RegistryPolicy.Credentials;

/// <summary>One credential the kubelet would try for an image. Immutable and thread-safe.</summary>
/// <param name="IndexKey">The keyring key that matched (the config key without scheme and <c>/v1/</c>/<c>/v2/</c>).</param>
/// <param name="Server">The config key exactly as written in the pull secret.</param>
/// <param name="Credential">The credential (redacted when printed).</param>
/// <param name="Secret">The pull secret it came from, if known.</param>
/// <param name="ViaDockerHubFallback">Whether it came from the Docker Hub fallback (<c>index.docker.io</c>) rather than a direct match.</param>
public sealed record KeyringMatch(string IndexKey, string Server, RegistryCredential Credential, ObjectReference? Secret, bool ViaDockerHubFallback)
{
    /// <summary>The config key as it may be shown: <see cref="Server"/> with any URL userinfo hidden.</summary>
    public string DisplayServer => ConfigKeys.Redact(Server);

    /// <summary>Shows key, source and the redacted credential.</summary>
    /// <returns>One line of text without secrets.</returns>
    public override string ToString() =>
        $"{IndexKey} ({DisplayServer}{(Secret is { } s ? $" in {s}" : "")}{(ViaDockerHubFallback ? ", Docker Hub fallback" : "")}): {Credential}";
}

/// <summary>
/// The result of <see cref="CredentialKeyring.Lookup(string)"/>: the credentials in the order the kubelet tries them, the string
/// that was looked up, and an error when the image could not be normalised (then no lookup happened).
/// Immutable and thread-safe.
/// </summary>
public readonly struct KeyringLookup : IEquatable<KeyringLookup>
{
    private readonly ImageReference _image;
    private readonly string? _target;
    private readonly KeyringMatch[]? _matches;

    internal KeyringLookup(ImageReference image, string? target, KeyringMatch[] matches, string? error)
    {
        _image = image;
        _target = target;
        _matches = matches;
        Error = error;
    }

    /// <summary>What was matched against the keyring: the normalised name without tag or digest (computed on first use).</summary>
    public string Target => _target ?? _image.Name;

    /// <summary>The credentials, in kubelet order. Immutable; reading it does not allocate.</summary>
    public ImmutableArray<KeyringMatch> Matches => ImmutableCollectionsMarshal.AsImmutableArray(_matches ?? []);

    /// <summary>Why the image could not be looked up, or <see langword="null"/>.</summary>
    public string? Error { get; }

    /// <summary>Whether any credential matched.</summary>
    public bool Found => _matches is { Length: > 0 };

    /// <summary>Whether the matches came from the Docker Hub fallback.</summary>
    public bool UsedDockerHubFallback => _matches is { Length: > 0 } m && m[0].ViaDockerHubFallback;

    /// <summary>Shows the target and the matched keys; never a password.</summary>
    /// <returns>One line of text.</returns>
    public override string ToString() =>
        Error is not null ? $"{Target}: {Error}" : $"{Target}: [{string.Join(", ", Matches.Select(m => m.IndexKey))}]";

    /// <inheritdoc/>
    public bool Equals(KeyringLookup other) =>
        Target == other.Target && Error == other.Error && Matches.AsSpan().SequenceEqual(other.Matches.AsSpan());

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is KeyringLookup other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Target, Matches.Length);

    /// <summary>Whether two lookups have the same target, error and matches.</summary>
    /// <param name="left">The first.</param>
    /// <param name="right">The second.</param>
    /// <returns>Whether equal.</returns>
    public static bool operator ==(KeyringLookup left, KeyringLookup right) => left.Equals(right);

    /// <summary>Whether two lookups differ.</summary>
    /// <param name="left">The first.</param>
    /// <param name="right">The second.</param>
    /// <returns>Whether different.</returns>
    public static bool operator !=(KeyringLookup left, KeyringLookup right) => !left.Equals(right);
}
