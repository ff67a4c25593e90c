using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Swap;

/// <summary>
/// Palette's registry override, read from its <c>registry-info</c> Secret (namespace <c>jet-system</c>): the custom
/// registry (<c>DOMAIN</c>, <c>BASE_PATH</c>), its credential (<c>USERNAME</c>, <c>PASSWORD</c>: never printed), TLS
/// (<c>INSECURE</c>, <c>CA_CERT</c>) and the image-swap rules (<c>MIRROR_REGISTRIES</c>). Values come from <c>stringData</c>
/// or base64 <c>data</c> (the snapshot reader merges both).
/// Immutable and thread-safe.
/// </summary>
public sealed record PaletteRegistryInfo
{
    /// <summary>The custom registry's domain.</summary>
    public required string Domain { get; init; }

    /// <summary>The base path in that registry.</summary>
    public required string BasePath { get; init; }

    /// <summary>The credential, or <see langword="null"/> when the registry needs none. Its <c>ToString</c> shows only a fingerprint.</summary>
    public RegistryCredential? Credential { get; init; }

    /// <summary>Whether TLS is not verified (<c>INSECURE: "true"</c>).</summary>
    public required bool Insecure { get; init; }

    /// <summary>The CA certificate (PEM), or <see langword="null"/>.</summary>
    public string? CaCert { get; init; }

    /// <summary>The image-swap rules from <c>MIRROR_REGISTRIES</c> (with the implied <c>default::</c>).</summary>
    public required ImageSwapMap Map { get; init; }

    /// <summary>Reads and validates the Secret; every problem is reported, naming the key. Never throws.</summary>
    /// <param name="secret">The <c>registry-info</c> Secret.</param>
    /// <returns>The override when there are no errors, and every error and warning (without credential values).</returns>
    public static PaletteRegistryInfoReadResult Read(SecretObject secret) => Read(secret, null);

    /// <summary>Reads and validates the Secret; every problem is reported, naming the key and where the Secret is. Never throws.</summary>
    /// <param name="secret">The <c>registry-info</c> Secret.</param>
    /// <param name="location">Where the Secret was read (<see cref="ClusterSnapshot.LocationOf"/>), given to every diagnostic.</param>
    /// <returns>The override when there are no errors, and every error and warning (without credential values).</returns>
    public static PaletteRegistryInfoReadResult Read(SecretObject secret, SourceLocation? location)
    {
        bool usable = TryRead(secret, location, out PaletteRegistryInfo? info, out ImmutableArray<Diagnostic> diagnostics);
        return new PaletteRegistryInfoReadResult(usable ? info : null, [.. diagnostics]);
    }

    private static bool TryRead(SecretObject secret, SourceLocation? location, [NotNullWhen(true)] out PaletteRegistryInfo? info, out ImmutableArray<Diagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var found = new List<Diagnostic>();
        void Report(DiagnosticSeverity severity, string code, string? key, string message) =>
            found.Add(new Diagnostic(code, severity, message) { Subject = secret.Reference, Field = key is null ? null : $"data[{key}]", Location = location });

        string? Get(string key, bool required)
        {
            if (!secret.Data.TryGetString(key, out string value))
            {
                if (required)
                {
                    Report(DiagnosticSeverity.Error, "key-missing", key, $"the required key '{key}' is missing; add it under stringData");
                }

                return null;
            }

            if (value.StartsWith("REPLACE_WITH_", StringComparison.Ordinal))
            {
                Report(DiagnosticSeverity.Error, "placeholder", key, $"'{key}' still holds the documentation placeholder; put the real value");
            }

            return value;
        }

        if (secret.Name != "registry-info" || secret.Namespace != "jet-system")
        {
            Report(DiagnosticSeverity.Warning, "unexpected-name", null, "Palette reads the Secret 'registry-info' in namespace 'jet-system'; this one has another name or namespace");
        }

        string? domain = Get("DOMAIN", required: true);
        string? basePath = Get("BASE_PATH", required: true);
        string? insecure = Get("INSECURE", required: true);
        string? mirrors = Get("MIRROR_REGISTRIES", required: true);
        string? username = Get("USERNAME", required: false);
        bool hasPassword = secret.Data.TryGetString("PASSWORD", out string password);
        if (hasPassword && password.StartsWith("REPLACE_WITH_", StringComparison.Ordinal))
        {
            // The placeholder is documentation, not a credential, but the check never quotes the value either way.
            Report(DiagnosticSeverity.Error, "placeholder", "PASSWORD", "'PASSWORD' still holds the documentation placeholder; put the real password");
        }

        string? ca = Get("CA_CERT", required: false);
        if (domain is { Length: 0 })
        {
            Report(DiagnosticSeverity.Error, "domain-empty", "DOMAIN", "DOMAIN is empty; give the registry's host name");
        }

        if (insecure is not null && insecure is not ("true" or "false"))
        {
            Report(DiagnosticSeverity.Error, "insecure-not-boolean", "INSECURE", "INSECURE must be \"true\" or \"false\"");
        }

        if (!string.IsNullOrEmpty(ca) && !IsPem(ca))
        {
            Report(DiagnosticSeverity.Error, "ca-not-pem", "CA_CERT", "CA_CERT is not a PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE----- with base64 between)");
        }

        if (string.IsNullOrEmpty(username) != (!hasPassword || password.Length == 0))
        {
            Report(DiagnosticSeverity.Warning, "credential-half", "USERNAME", "only one of USERNAME and PASSWORD is set; give both, or leave both empty for a registry without authentication");
        }

        ImageSwapMap map = ImageSwapMap.LoadMirrorRegistries(mirrors ?? string.Empty, $"{secret.Reference} MIRROR_REGISTRIES");
        // The list's own positions (entry N of MIRROR_REGISTRIES) go into the field; the location is the Secret's in its file.
        found.AddRange(map.Diagnostics.Where(d => d.Severity != DiagnosticSeverity.Info).Select(d => d with
        {
            Subject = secret.Reference,
            Field = d.Location is { Line: > 0 } at ? $"data[MIRROR_REGISTRIES] entry {at.Line}" : "data[MIRROR_REGISTRIES]",
            Location = location ?? d.Location,
        }));
        diagnostics = [.. found];
        if (found.Any(d => d.Severity == DiagnosticSeverity.Error))
        {
            info = null;
            return false;
        }

        info = new PaletteRegistryInfo
        {
            Domain = domain!,
            BasePath = basePath!,
            Credential = string.IsNullOrEmpty(username) && (!hasPassword || password.Length == 0) ? null : new RegistryCredential(username ?? string.Empty, password),
            Insecure = insecure == "true",
            CaCert = string.IsNullOrEmpty(ca) ? null : ca,
            Map = map,
        };
        return true;
    }

    private static bool IsPem(string text)
    {
        const string begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----";
        string trimmed = text.Trim();
        // The markers must not overlap: "-----BEGIN CERTIFICATE-----END CERTIFICATE-----" shares its dashes (found by fuzzing).
        if (trimmed.Length < begin.Length + end.Length || !trimmed.StartsWith(begin, StringComparison.Ordinal) || !trimmed.EndsWith(end, StringComparison.Ordinal))
        {
            return false;
        }

        string body = string.Concat(trimmed[begin.Length..^end.Length].Where(c => !char.IsWhiteSpace(c)));
        return body.Length > 0 && Convert.TryFromBase64String(body, new byte[body.Length], out _);
    }
}

/// <summary>What <see cref="PaletteRegistryInfo.Read(SecretObject, SourceLocation?)"/> gives. Immutable, value equality, thread-safe.</summary>
/// <param name="Info">The override, or <see langword="null"/> when the Secret has errors.</param>
/// <param name="Diagnostics">Every error and warning, naming the key; never a credential value.</param>
public sealed record PaletteRegistryInfoReadResult(PaletteRegistryInfo? Info, ValueArray<Diagnostic> Diagnostics)
{
    /// <summary>Whether any diagnostic is an error (then <see cref="Info"/> is null).</summary>
    [MemberNotNullWhen(false, nameof(Info))]
    public bool HasErrors => Info is null || Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
}
