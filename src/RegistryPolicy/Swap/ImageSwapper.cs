using System.Text;
using System.Text.RegularExpressions;
using RegistryPolicy.References;

namespace RegistryPolicy.Swap;

/// <summary>Which rule set rewrites images.</summary>
public enum SwapDialect
{
    /// <summary>imageswap-webhook v1.5.3, rule for rule, quirks included: what Palette and imageswap users get today.</summary>
    ImageSwap,

    /// <summary>
    /// What upstream's users ask for: images read with the reference grammar (so <c>localhost:5000</c> is a registry), keys
    /// matched as path prefixes on segment boundaries (longest wins; <c>quay.io/org/image::</c> opts one image out),
    /// <c>library/</c> kept as containerd asks a mirror for it, results always valid references, and idempotent.
    /// </summary>
    Reference,
}

/// <summary>Options of an <see cref="ImageSwapper"/>. Immutable and thread-safe.</summary>
public sealed record ImageSwapOptions
{
    /// <summary>The rule set (default <see cref="SwapDialect.ImageSwap"/>).</summary>
    public SwapDialect Dialect { get; init; } = SwapDialect.ImageSwap;

    /// <summary>If set, upstream's deprecated LEGACY mode with this <c>IMAGE_PREFIX</c> instead of MAPS mode.</summary>
    public string? LegacyPrefix { get; init; }

    /// <summary>
    /// Whether an image that already points at one of the map's targets (a registry value, the <c>default</c> prefix, an
    /// <c>[EXACT]</c> result or a <c>[REPLACE]</c> target) is left alone, with <see cref="SwapRule.AlreadySwapped"/>. This makes
    /// the imageswap dialect idempotent, which an admission webhook needs: the API server sends it objects it has already
    /// mutated (reinvocation, every Pod UPDATE). Upstream swaps such images again. The reference dialect always does this.
    /// Default <see langword="false"/>, as upstream.
    /// </summary>
    public bool LeaveSwappedImages { get; init; }
}

/// <summary>Which rule decided a rewrite.</summary>
public enum SwapRule
{
    /// <summary>An <c>[EXACT]</c> entry.</summary>
    Exact,

    /// <summary>A <c>[REPLACE]</c> pattern.</summary>
    Replace,

    /// <summary>The map has no <c>default</c> key, so nothing else swaps.</summary>
    NoDefault,

    /// <summary>The image's registry key (or <c>&lt;registry&gt;/library</c>).</summary>
    Registry,

    /// <summary>A <c>noswap_wildcards</c> element.</summary>
    NoSwapWildcard,

    /// <summary>The <c>default</c> key.</summary>
    Default,

    /// <summary>LEGACY mode's prefix.</summary>
    Legacy,

    /// <summary>
    /// Upstream would crash (HTTP 500, the pod refused): a <c>&lt;registry&gt;/library</c> key without the plain key, for a
    /// non-library image; or a registry that upstream's <c>re.sub</c> cannot compile as a regular expression.
    /// </summary>
    UpstreamError,

    /// <summary>Reference dialect: the image, or the rewrite, is not a valid reference; nothing is swapped.</summary>
    Invalid,

    /// <summary>
    /// The image already points at a target, so it is left alone: always in the reference dialect, and in the imageswap
    /// dialect with <see cref="ImageSwapOptions.LeaveSwappedImages"/>.
    /// </summary>
    AlreadySwapped,
}

/// <summary>The result of rewriting one image. Immutable and thread-safe.</summary>
/// <param name="Image">The image as given.</param>
/// <param name="Result">The image after the rewrite (the input when nothing swapped).</param>
/// <param name="Swapped">Whether upstream counts it as swapped (an identity <c>[EXACT]</c>/<c>[REPLACE]</c> hit counts, and sends an empty patch).</param>
/// <param name="Rule">The rule that decided.</param>
/// <param name="Key">The map key that decided, if any.</param>
public readonly record struct SwapResult(string Image, string Result, bool Swapped, SwapRule Rule, string? Key)
{
    /// <summary>
    /// Whether the rewrite changed the image into something that is not a valid image reference (upstream's rules can, for
    /// example with a registry that has a port): the kubelet then fails the pod with <c>InvalidImageName</c>. The
    /// reference dialect never produces one.
    /// </summary>
    public bool ResultIsInvalid { get; init; }

    /// <summary>Formats as <c>image -> result (rule key)</c>.</summary>
    /// <returns>The result as text.</returns>
    public override string ToString() => $"{Image} -> {Result} ({Rule}{(Key is null ? "" : " " + Key)})";
}

/// <summary>
/// Rewrites image strings with an <see cref="ImageSwapMap"/>. The map is compiled once; rewriting does not allocate when
/// the image is not swapped (except for <c>[REPLACE]</c> patterns, matched without a regex engine, and registry keys with
/// regular-expression characters other than <c>.</c>, which upstream treats as a regex).
/// Immutable and thread-safe.
/// </summary>
public sealed class ImageSwapper
{
    private static readonly System.Buffers.SearchValues<char> RegexCharacters = System.Buffers.SearchValues.Create(@"\^$*+?()[]{}|");
    private readonly ImageSwapMap _map;
    private readonly ImageSwapOptions _options;
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _maps;
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _libraryByRegistry;
    private readonly Dictionary<string, string> _exact;
    private readonly KeyValuePair<string, string>[] _replace;
    private readonly string? _default;
    private readonly string[] _wildcards;

    /// <summary>Compiles a swapper.</summary>
    /// <param name="map">The map.</param>
    /// <param name="options">The options; the imageswap dialect in MAPS mode by default.</param>
    public ImageSwapper(ImageSwapMap map, ImageSwapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        _map = map;
        _options = options ?? new ImageSwapOptions();
        _maps = new Dictionary<string, string>(map.Maps, StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        _libraryByRegistry = map.Maps.Where(p => p.Key.EndsWith("/library", StringComparison.Ordinal))
            .ToDictionary(p => p.Key[..^"/library".Length], p => p.Value, StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        _exact = new Dictionary<string, string>(map.Exact, StringComparer.Ordinal);
        _replace = [.. map.Replace];
        _default = map.Maps.GetValueOrDefault("default");
        _wildcards = map.Maps.TryGetValue("noswap_wildcards", out string? w) && w.Length > 0 ? w.Split(',') : [];
        _reference = _options.Dialect == SwapDialect.Reference ? new ReferenceRewriter(map) : null;
        _targets = _options.LeaveSwappedImages ? TargetsOf(map) : [];
    }

    /// <summary>Where the imageswap dialect's rewrites point: each map value, the default prefix, [REPLACE] targets and [EXACT] results.</summary>
    private static string[] TargetsOf(ImageSwapMap map)
    {
        var targets = new List<string>();
        foreach (var (key, value) in map.Maps)
        {
            if (key != "noswap_wildcards")
            {
                targets.Add(value.EndsWith('-') ? value : value.TrimEnd('/'));
            }
        }

        targets.AddRange(map.Replace.Select(r => r.Value.TrimEnd('/')));
        targets.AddRange(map.Exact.Values);
        return [.. targets.Where(t => t.Length > 0).Distinct(StringComparer.Ordinal)];
    }

    private readonly string[] _targets;

    private string? TargetOf(string image)
    {
        foreach (string target in _targets)
        {
            if (image.StartsWith(target, StringComparison.Ordinal) &&
                (image.Length == target.Length || target.EndsWith('-') || image[target.Length] is '/' or ':' or '@'))
            {
                return target;
            }
        }

        return null;
    }

    private readonly ReferenceRewriter? _reference;

    /// <summary>The options the swapper was compiled with.</summary>
    public ImageSwapOptions Options => _options;

    /// <summary>
    /// What an image-swap webhook answers for one Pod or workload: <c>containers</c> then <c>initContainers</c> (and
    /// <c>ephemeralContainers</c> when asked), at the Pod spec's path, unless the object carries the opt-out label.
    /// </summary>
    /// <param name="workload">The workload.</param>
    /// <param name="options">The opt-out label and what is visited.</param>
    /// <returns>The containers' rewrites and the RFC 6902 patch (<c>replace</c> of each changed image).</returns>
    public WorkloadSwap RewriteWorkload(Snapshots.WorkloadObject workload, WorkloadSwapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(workload);
        return WorkloadSwapper.Swap(this, workload, options);
    }

    /// <summary>
    /// Rewrites the Pods and workloads of a manifest file (YAML documents, a <c>v1 List</c>, JSON): each whole object, every
    /// field kept, with its patch applied. Other objects are counted, not returned. Never throws for bad content.
    /// </summary>
    /// <param name="stream">The file; read to its end, not closed.</param>
    /// <param name="source">Its name, for diagnostics.</param>
    /// <param name="options">The opt-out label and what is visited.</param>
    /// <returns>The rewritten manifests and what was found.</returns>
    public ManifestSwapResult RewriteManifests(Stream stream, string source, WorkloadSwapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(source);
        return ManifestSwapper.Rewrite(this, stream, source, options);
    }

    /// <summary>Rewrites one image string as upstream would.</summary>
    /// <param name="image">The container image, exactly as in the pod spec.</param>
    /// <returns>The result, whether it swapped, and the rule that decided.</returns>
    public SwapResult Rewrite(string image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (_options.Dialect == SwapDialect.Reference && _options.LegacyPrefix is null)
        {
            return _reference!.Rewrite(image);
        }

        if (_targets.Length > 0 && TargetOf(image) is { } target)
        {
            return new(image, image, false, SwapRule.AlreadySwapped, target);
        }

        SwapResult result = _options.LegacyPrefix is { } prefix ? Legacy(image, prefix) : Maps(image);
        // Only a rewrite that breaks a valid image is flagged: an image that was invalid already stays as broken as it was.
        return result.Result != image && !ImageReference.TryParseNormalized(result.Result, out _, out _) && ImageReference.TryParseNormalized(image, out _, out _)
            ? result with { ResultIsInvalid = true }
            : result;
    }

    private static SwapResult Legacy(string image, string prefix)
    {
        if (prefix.Length == 0 || image.Contains(prefix, StringComparison.Ordinal))
        {
            return new(image, image, false, SwapRule.Legacy, null);
        }

        int slash = image.LastIndexOf('/');
        string result = prefix.EndsWith('-') ? prefix + image : slash < 0 ? prefix + "/" + image : prefix + "/" + image[(slash + 1)..];
        return new(image, result, true, SwapRule.Legacy, null);
    }

    private SwapResult Maps(string image)
    {
        if (_exact.Count > 0 && _exact.TryGetValue(image, out string? exact))
        {
            return new(image, exact, true, SwapRule.Exact, "[EXACT]" + image);
        }

        foreach (var (pattern, target) in _replace)
        {
            if (FnMatch(image, pattern))
            {
                string last = image[(image.LastIndexOf('/') + 1)..];
                string result = target.Length == 0 ? last : target.EndsWith('/') ? target + last : target + "/" + last;
                return new(image, result, true, SwapRule.Replace, "[REPLACE]" + pattern);
            }
        }

        if (_default is null)
        {
            return new(image, image, false, SwapRule.NoDefault, null);
        }

        // Registry detection (rule 11): the part before the first '/' is a registry only if it contains a '.'.
        int firstSlash = image.IndexOf('/');
        ReadOnlySpan<char> first = firstSlash > 0 ? image.AsSpan(0, firstSlash) : default;
        bool explicitRegistry = firstSlash > 0 && firstSlash < image.Length - 1 && first.Contains('.');
        ReadOnlySpan<char> registry = explicitRegistry ? first : "docker.io";
        int colon = registry.IndexOf(':');
        ReadOnlySpan<char> registryNoPort = colon >= 0 ? registry[..colon] : registry;

        // Rule 20: the registry as written, else without its port.
        ReadOnlySpan<char> key = registry;
        if (!_maps.ContainsKey(key) && _maps.ContainsKey(registryNoPort))
        {
            key = registryNoPort;
        }

        bool hasKey = _maps.TryGetValue(key, out string? value);
        bool hasLibrary = _libraryByRegistry.TryGetValue(key, out string? libraryValue);
        if (hasKey || hasLibrary)
        {
            bool libraryImage = !image.Contains('/', StringComparison.Ordinal);
            if (libraryImage && hasLibrary)
            {
                return RegistryBranch(image, string.Concat(key, "/library"), libraryValue!, explicitRegistry);
            }

            if (!hasKey)
            {
                return new(image, image, false, SwapRule.UpstreamError, string.Concat(key, "/library"));
            }

            return RegistryBranch(image, key.ToString(), value!, explicitRegistry);
        }

        foreach (string wildcard in _wildcards)
        {
            if (image.Contains(wildcard, StringComparison.Ordinal))
            {
                return new(image, image, false, SwapRule.NoSwapWildcard, wildcard);
            }
        }

        string d = _default;
        if (d.Length == 0)
        {
            return new(image, image, false, SwapRule.Default, "default");
        }

        string registryText = registry.ToString();
        string? swapped = d.EndsWith('-') ? d + registryNoPort.ToString() + "/" + image
            : image.Contains(registryText, StringComparison.Ordinal) ? RegexReplace(image, registryText, d)
            : d + "/" + image;
        return swapped is null ? new(image, image, false, SwapRule.UpstreamError, "default") : new(image, swapped, true, SwapRule.Default, "default");
    }

    private static SwapResult RegistryBranch(string image, string key, string value, bool explicitRegistry)
    {
        if (value.Length == 0)
        {
            return new(image, image, false, SwapRule.Registry, key);
        }

        string? result;
        if (value.EndsWith('-'))
        {
            result = explicitRegistry ? value + StripPort(image) : value + "docker.io/" + StripPort(image);
        }
        else if (image.Contains(key, StringComparison.Ordinal))
        {
            result = RegexReplace(image, key, value);
        }
        else
        {
            result = value + "/" + image;
        }

        return result is null ? new(image, image, false, SwapRule.UpstreamError, key) : new(image, result, true, SwapRule.Registry, key);
    }

    /// <summary>Upstream's <c>re.sub(":.*/", "/", image)</c>: from the first ':' to the last '/' (greedy) becomes one '/'.</summary>
    private static string StripPort(string image)
    {
        int colon = image.IndexOf(':');
        int slash = image.LastIndexOf('/');
        return colon >= 0 && slash > colon ? string.Concat(image.AsSpan(0, colon), "/", image.AsSpan(slash + 1)) : image;
    }

    /// <summary>
    /// Python <c>re.sub(pattern, replacement, text)</c> with a map key as the pattern: every non-overlapping match is replaced.
    /// Keys made of literal characters and '.' (any character) are matched here; other regular-expression characters use
    /// a regex, as upstream does.
    /// </summary>
    /// <returns>The replaced text, or <see langword="null"/> where upstream's <c>re.sub</c> raises (the key or registry is not a valid
    /// regular expression: imageswap-webhook then answers HTTP 500 and the pod is refused) or would run for too long.</returns>
    internal static string? RegexReplace(string text, string pattern, string replacement)
    {
        if (pattern.AsSpan().IndexOfAny(RegexCharacters) >= 0)
        {
            try
            {
                return Regex.Replace(text, pattern, replacement.Replace("$", "$$", StringComparison.Ordinal), RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
            }
            catch (ArgumentException)
            {
                return null; // RegexParseException: not a regular expression
            }
            catch (RegexMatchTimeoutException)
            {
                return null;
            }
        }

        if (pattern.Length == 0)
        {
            return text;
        }

        // The first byte of a host key is never '.', so a vectorised search for it finds the candidates.
        StringBuilder? output = null;
        int copied = 0;
        int i = 0;
        while (i <= text.Length - pattern.Length)
        {
            int next = pattern[0] == '.' ? i : text.IndexOf(pattern[0], i);
            if (next < 0 || next > text.Length - pattern.Length)
            {
                break;
            }

            if (MatchesAt(text, next, pattern))
            {
                output ??= new StringBuilder(text.Length + replacement.Length);
                output.Append(text, copied, next - copied).Append(replacement);
                i = copied = next + pattern.Length;
            }
            else
            {
                i = next + 1;
            }
        }

        if (output is null)
        {
            return text;
        }

        output.Append(text, copied, text.Length - copied);
        return output.ToString();

        static bool MatchesAt(string text, int at, string pattern)
        {
            for (int k = 0; k < pattern.Length; k++)
            {
                char c = text[at + k];
                if (pattern[k] != '.' ? pattern[k] != c : c == '\n')
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>Python <c>fnmatch.fnmatch</c> on Linux (case-sensitive): '*' matches anything including '/', '?' one character, '[...]' and '[!...]' classes.</summary>
    internal static bool FnMatch(string text, string pattern)
    {
        int t = 0, p = 0, starP = -1, starT = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                starP = p++;
                starT = t;
                continue;
            }

            if (p < pattern.Length && Single(pattern, ref p, text[t], out bool matched) && matched)
            {
                t++;
                continue;
            }

            if (starP >= 0)
            {
                p = starP + 1;
                t = ++starT;
                continue;
            }

            return false;
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;

        // Consumes one pattern element at p if it matches c; returns whether an element was available.
        static bool Single(string pattern, ref int p, char c, out bool matched)
        {
            char head = pattern[p];
            if (head == '?')
            {
                p++;
                matched = true;
                return true;
            }

            if (head == '[')
            {
                int j = p + 1;
                bool negate = j < pattern.Length && pattern[j] == '!';
                if (negate)
                {
                    j++;
                }

                if (j < pattern.Length && pattern[j] == ']')
                {
                    j++;
                }

                int close = pattern.IndexOf(']', j);
                if (close < 0)
                {
                    matched = c == '[';
                    if (matched)
                    {
                        p++;
                    }

                    return true;
                }

                int start = p + 1 + (negate ? 1 : 0);
                bool inClass = false;
                for (int k = start; k < close; k++)
                {
                    if (k + 2 < close && pattern[k + 1] == '-')
                    {
                        inClass |= c >= pattern[k] && c <= pattern[k + 2];
                        k += 2;
                    }
                    else
                    {
                        inClass |= c == pattern[k];
                    }
                }

                matched = inClass != negate;
                if (matched)
                {
                    p = close + 1;
                }

                return true;
            }

            matched = head == c;
            if (matched)
            {
                p++;
            }

            return true;
        }
    }
}
