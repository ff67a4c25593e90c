using RegistryPolicy.Diagnostics;

namespace RegistryPolicy.Credentials;

/// <summary>One credential the kubelet would try for an image.</summary>
/// <param name="IndexKey">The keyring key that matched (the config key without scheme and <c>/v1/</c>/<c>/v2/</c>).</param>
/// <param name="Server">The config key exactly as written in the pull secret.</param>
/// <param name="Credential">The credential (redacted when printed).</param>
/// <param name="Secret">The pull secret it came from, if known.</param>
/// <param name="ViaDockerHubFallback">Whether it came from the Docker Hub fallback (<c>index.docker.io</c>) rather than a direct match.</param>
public sealed record KeyringMatch(string IndexKey, string Server, RegistryCredential Credential, ObjectReference? Secret, bool ViaDockerHubFallback)
{
    /// <summary>Shows key, source and the redacted credential.</summary>
    /// <returns>One line of text without secrets.</returns>
    public override string ToString() =>
        $"{IndexKey} ({Server}{(Secret is { } s ? $" in {s}" : "")}{(ViaDockerHubFallback ? ", Docker Hub fallback" : "")}): {Credential}";
}

/// <summary>
/// The result of <see cref="CredentialKeyring.Lookup(string)"/>: the credentials in the order the kubelet tries them, the string
/// that was looked up, and an error when the image could not be normalised (then no lookup happened).
/// </summary>
/// <param name="Target">What was matched against the keyring (the normalised name without tag or digest).</param>
/// <param name="Matches">The credentials, in kubelet order.</param>
/// <param name="Error">Why the image could not be looked up, or <see langword="null"/>.</param>
public readonly record struct KeyringLookup(string Target, IReadOnlyList<KeyringMatch> Matches, string? Error)
{
    /// <summary>Whether any credential matched.</summary>
    public bool Found => Matches.Count > 0;

    /// <summary>Whether the matches came from the Docker Hub fallback.</summary>
    public bool UsedDockerHubFallback => Matches.Count > 0 && Matches[0].ViaDockerHubFallback;
}
