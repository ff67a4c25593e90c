using System.Collections.Immutable;
using System.Text;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.References;
using RegistryPolicy.Swap;

namespace RegistryPolicy.Mirrors;

/// <summary>One registry and the mirror that serves it: images of <see cref="Registry"/> are fetched from <see cref="Mirror"/>. Immutable and thread-safe.</summary>
/// <param name="Registry">The upstream registry host (with port, if any), for example <c>docker.io</c>.</param>
/// <param name="Mirror">The mirror: a host and an optional path, without a scheme, for example <c>harbor.example.org/airgap/docker.io</c>.</param>
public sealed record MirrorRule(string Registry, string Mirror)
{
    /// <summary>The mirror's host (and port).</summary>
    public string MirrorHost => Mirror.Split('/', 2)[0];

    /// <summary>The mirror's path prefix, or an empty string.</summary>
    public string MirrorPath => Mirror.Contains('/', StringComparison.Ordinal) ? Mirror.Split('/', 2)[1] : string.Empty;
}

/// <summary>Options for rendering node configuration. Immutable and thread-safe.</summary>
public sealed record MirrorRenderOptions
{
    /// <summary>Mirror over plain HTTP (<c>http://</c> in hosts.toml, <c>insecure = true</c> in registries.conf).</summary>
    public bool PlainHttp { get; init; }

    /// <summary>Do not verify the mirror's TLS certificate (<c>skip_verify</c>, <c>insecure</c>).</summary>
    public bool SkipVerify { get; init; }

    /// <summary>A CA certificate file on the node for the mirror (<c>ca</c> in hosts.toml).</summary>
    public string? CaFile { get; init; }
}

/// <summary>
/// The node-level mirrors one set of swap rules implies, and the node configuration files that express them: containerd
/// <c>config.toml</c> (version 2, <c>registry.mirrors</c>, exactly as Palette writes it), containerd
/// <c>certs.d/&lt;host&gt;/hosts.toml</c>, and <c>containers-registries.conf</c> v2 (CRI-O, podman, skopeo).
/// Immutable and thread-safe.
/// </summary>
public sealed class MirrorSet
{
    private MirrorSet(ImmutableArray<MirrorRule> rules, ImmutableArray<Diagnostic> diagnostics)
    {
        Rules = rules;
        Diagnostics = diagnostics;
    }

    /// <summary>The mirrors, in the map's order.</summary>
    public ImmutableArray<MirrorRule> Rules { get; }

    /// <summary>Swap rules that a node cannot express (exact images, globs, flat prefixes, a catch-all default).</summary>
    public ImmutableArray<Diagnostic> Diagnostics { get; }

    /// <summary>Creates a set from rules.</summary>
    /// <param name="rules">The rules.</param>
    /// <returns>The set.</returns>
    /// <remarks>A rule whose registry is not a host (<c>host[:port]</c>) or whose mirror is not <c>host[:port][/path]</c> is left out and reported: the registry becomes a directory name and a TOML key.</remarks>
    public static MirrorSet Create(IEnumerable<MirrorRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var kept = new List<MirrorRule>();
        var diagnostics = new List<Diagnostic>();
        foreach (MirrorRule rule in rules)
        {
            if (ReferenceGrammar.IsDomainAndPort<Identity>(rule.Registry) && IsMirror(rule.Mirror))
            {
                kept.Add(rule);
            }
            else
            {
                diagnostics.Add(new Diagnostic("mirror-invalid-host", DiagnosticSeverity.Warning,
                    $"the rule for '{DisplayText.Escape(rule.Registry)}' does not name a registry host and a mirror host[:port][/path]; it is not rendered"));
            }
        }

        return new MirrorSet([.. kept], [.. diagnostics]);
    }

    /// <summary>The mirrors a swap map implies: every registry key with a value. Everything else is reported.</summary>
    /// <param name="map">The swap map.</param>
    /// <returns>The set.</returns>
    public static MirrorSet FromSwapMap(ImageSwapMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var rules = new List<MirrorRule>();
        var diagnostics = new List<Diagnostic>();
        void Skip(string code, string message) => diagnostics.Add(new Diagnostic(code, DiagnosticSeverity.Warning, message));
        foreach (string key in map.KeyOrder)
        {
            string value = map.Maps[key];
            if (key is "noswap_wildcards" || value.Length == 0)
            {
                continue;
            }

            if (key == "default")
            {
                Skip("mirror-default", $"'default::{value}' sends every other registry to one place; a node mirror is per registry, so it is not rendered");
            }
            else if (value.EndsWith('-'))
            {
                Skip("mirror-flat-prefix", $"'{key}::{value}' is a flat (ECR-style) prefix that renames repositories; a node mirror keeps repository names, so it is not rendered");
            }
            else if (key.Contains('/', StringComparison.Ordinal))
            {
                Skip("mirror-path-key", $"'{key}' maps part of a registry; node mirrors are per registry host, so it is not rendered");
            }
            else if (!ReferenceGrammar.IsDomainAndPort<Identity>(key))
            {
                // The host names a directory (certs.d/<host>) and a TOML table: it must be a host before it becomes either.
                Skip("mirror-invalid-host", $"'{DisplayText.Escape(key)}' is not a registry host (host[:port]), so no node configuration is rendered for it");
            }
            else if (!IsMirror(value.TrimEnd('/')))
            {
                Skip("mirror-invalid-mirror", $"the mirror of '{key}' is not host[:port][/path], so no node configuration is rendered for it");
            }
            else
            {
                rules.Add(new MirrorRule(key, value.TrimEnd('/')));
            }
        }

        if (!map.Exact.IsEmpty || !map.Replace.IsEmpty)
        {
            Skip("mirror-image-rule", $"{map.Exact.Count} [EXACT] and {map.Replace.Length} [REPLACE] rules rewrite single images; node mirrors cannot, so they are not rendered");
        }

        return new MirrorSet([.. rules], [.. diagnostics]);
    }

    /// <summary>
    /// Does the admission-time rewrite send each image to the same repository that these node-level mirrors would fetch? The
    /// typical disagreement is Docker Hub official images: the webhook writes <c>mirror/nginx</c>, while containerd normalises
    /// the name and asks the mirror for <c>mirror/library/nginx</c>. A rewrite that is not a valid reference is one too.
    /// </summary>
    /// <param name="swapper">The admission-time rewrite.</param>
    /// <param name="images">The images to check.</param>
    /// <returns>The images where the two disagree, in input order.</returns>
    public ImmutableArray<ConsistencyFinding> CheckConsistency(ImageSwapper swapper, IEnumerable<string> images) => MirrorConsistency.Check(swapper, this, images);

    /// <summary>containerd <c>config.toml</c> version 2 with one <c>registry.mirrors."&lt;host&gt;"</c> table per mirror, as Palette writes it.</summary>
    /// <returns>The TOML text.</returns>
    public string RenderContainerdConfig()
    {
        var text = new StringBuilder();
        text.Append("version = 2\n\n[plugins]\n  [plugins.\"io.containerd.grpc.v1.cri\"]\n");
        text.Append("    [plugins.\"io.containerd.grpc.v1.cri\".registry]\n");
        text.Append("      [plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors]\n");
        foreach (MirrorRule rule in Rules)
        {
            text.Append("        [plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.").Append(Toml(rule.Registry)).Append("]\n");
            text.Append("          endpoint = [").Append(Toml(rule.Mirror)).Append("]\n");
        }

        return text.ToString();
    }

    /// <summary>One <c>hosts.toml</c> per registry, keyed by the directory name under <c>certs.d</c>.</summary>
    /// <param name="options">Scheme and TLS options.</param>
    /// <returns>Directory name (the registry host) and file text.</returns>
    public ImmutableSortedDictionary<string, string> RenderHostsToml(MirrorRenderOptions? options = null)
    {
        options ??= new MirrorRenderOptions();
        var files = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (MirrorRule rule in Rules)
        {
            string scheme = options.PlainHttp ? "http" : "https";
            var text = new StringBuilder();
            text.Append("server = ").Append(Toml(ServerOf(rule.Registry))).Append("\n\n");
            string hostUrl = rule.MirrorPath.Length > 0 ? $"{scheme}://{rule.MirrorHost}/v2/{rule.MirrorPath}" : $"{scheme}://{rule.MirrorHost}";
            text.Append("[host.").Append(Toml(hostUrl)).Append("]\n");
            text.Append("  capabilities = [\"pull\", \"resolve\"]\n");
            if (options.CaFile is { } ca)
            {
                text.Append("  ca = ").Append(Toml(ca)).Append('\n');
            }

            if (options.SkipVerify)
            {
                text.Append("  skip_verify = true\n");
            }

            if (rule.MirrorPath.Length > 0)
            {
                // With a path, the URL is the whole API root: containerd must not add /v2 itself.
                text.Append("  override_path = true\n");
            }

            files[rule.Registry] = text.ToString();
        }

        return files.ToImmutable();
    }

    /// <summary><c>containers-registries.conf</c> version 2: one <c>[[registry]]</c> with its <c>[[registry.mirror]]</c> per mirror.</summary>
    /// <param name="options">Scheme and TLS options.</param>
    /// <returns>The TOML text.</returns>
    public string RenderRegistriesConf(MirrorRenderOptions? options = null)
    {
        options ??= new MirrorRenderOptions();
        var text = new StringBuilder("unqualified-search-registries = []\n");
        foreach (MirrorRule rule in Rules)
        {
            text.Append("\n[[registry]]\nprefix = ").Append(Toml(rule.Registry)).Append("\nlocation = ").Append(Toml(rule.Registry)).Append('\n');
            text.Append("\n[[registry.mirror]]\nlocation = ").Append(Toml(rule.Mirror)).Append('\n');
            if (options.PlainHttp || options.SkipVerify)
            {
                text.Append("insecure = true\n");
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// The repository a node fetches for an image through these mirrors (containerd and CRI-O normalise the name first:
    /// Docker Hub official images get <c>library/</c>), or <see langword="null"/> when no mirror applies.
    /// </summary>
    /// <param name="image">The image.</param>
    /// <returns>The mirror repository (host and path, no tag), or null.</returns>
    public string? NodeRepository(string image)
    {
        if (!ImageReference.TryParseNormalized(image, out ImageReference reference, out _))
        {
            return null;
        }

        foreach (MirrorRule rule in Rules)
        {
            if (rule.Registry == reference.Domain)
            {
                return rule.Mirror + "/" + reference.Path;
            }
        }

        return null;
    }

    private static bool IsMirror(string mirror)
    {
        int slash = mirror.IndexOf('/', StringComparison.Ordinal);
        return slash < 0
            ? ReferenceGrammar.IsDomainAndPort<Identity>(mirror)
            : ReferenceGrammar.IsDomainAndPort<Identity>(mirror.AsSpan(0, slash)) && ReferenceGrammar.IsPath<Identity>(mirror.AsSpan(slash + 1));
    }

    private static string ServerOf(string registry) => registry == "docker.io" ? "https://registry-1.docker.io" : "https://" + registry;

    private static string Toml(string value)
    {
        var text = new StringBuilder("\"");
        foreach (char c in value)
        {
            _ = c switch
            {
                '"' => text.Append("\\\""),
                '\\' => text.Append("\\\\"),
                < ' ' => text.Append($"\\u{(int)c:X4}"),
                _ => text.Append(c),
            };
        }

        return text.Append('"').ToString();
    }
}
