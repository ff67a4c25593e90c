using RegistryPolicy.Diagnostics;

namespace RegistryPolicy.Credentials;

/// <summary>Which of the two pull-secret JSON shapes to read.</summary>
public enum DockerConfigFormat
{
    /// <summary><c>.dockerconfigjson</c>: <c>{"auths": {SERVER: ENTRY}, "HttpHeaders": {...}}</c>.</summary>
    DockerConfigJson = 0,

    /// <summary>Legacy <c>.dockercfg</c>: the flat map <c>{SERVER: ENTRY}</c>.</summary>
    DockerCfg = 1,
}

/// <summary>One registry entry of a pull secret: the config key exactly as written, and its credential. Immutable and thread-safe.</summary>
/// <param name="Server">The key in <c>auths</c> (or in the legacy flat map), verbatim.</param>
/// <param name="Credential">The credential the kubelet reads from the entry.</param>
public sealed record DockerConfigEntry(string Server, RegistryCredential Credential)
{
    /// <summary>
    /// The key as it may be shown: <see cref="Server"/> with any URL userinfo (<c>https://bot:PASS@r.io</c>) hidden. The
    /// kubelet ignores userinfo when it matches, so nothing that decides a match is hidden.
    /// </summary>
    public string DisplayServer => ConfigKeys.Redact(Server);

    /// <summary>Shows the server (userinfo hidden) and the redacted credential.</summary>
    /// <returns>For example <c>r.io: user (password sha256:...)</c>.</returns>
    public override string ToString() => $"{DisplayServer}: {Credential}";
}

/// <summary>The entries of one decoded pull secret, in document order. Immutable and thread-safe.</summary>
/// <param name="Entries">The entries, in the order their keys appear (a key repeated later replaces the earlier entry).</param>
public sealed record DockerConfig(IReadOnlyList<DockerConfigEntry> Entries)
{
    /// <summary>A config with no entries.</summary>
    public static DockerConfig Empty { get; } = new([]);

    /// <inheritdoc/>
    public bool Equals(DockerConfig? other) => other is not null && Entries.SequenceEqual(other.Entries);

    /// <inheritdoc/>
    public override int GetHashCode() => Entries.Count;
}

/// <summary>The outcome of decoding a pull secret: the config (empty when unusable) and every diagnostic found. Immutable and thread-safe.</summary>
/// <param name="Config">The decoded entries; empty on error.</param>
/// <param name="Diagnostics">Errors and warnings, in the order found.</param>
public sealed record DockerConfigReadResult(DockerConfig Config, IReadOnlyList<Diagnostic> Diagnostics)
{
    /// <summary>Whether any diagnostic is an error (the kubelet would refuse the pull).</summary>
    public bool HasErrors => Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);

    /// <inheritdoc/>
    public bool Equals(DockerConfigReadResult? other) =>
        other is not null && Config.Equals(other.Config) && Diagnostics.SequenceEqual(other.Diagnostics);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Config, Diagnostics.Count);
}
