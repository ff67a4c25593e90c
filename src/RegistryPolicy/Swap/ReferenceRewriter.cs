using RegistryPolicy.References;

namespace RegistryPolicy.Swap;

/// <summary>
/// The <see cref="SwapDialect.Reference"/> rules. Every key and value is normalised as a repository
/// (<c>nginx</c> and <c>index.docker.io/library/nginx</c> are both <c>docker.io/library/nginx</c>):
/// <list type="number">
/// <item>an image that does not parse is left alone (<see cref="SwapRule.UpstreamError"/> is not used: the rule is <c>Invalid</c>);</item>
/// <item>an image already in a target (a value of any rule) is left alone, so rewriting twice changes nothing;</item>
/// <item><c>[EXACT]</c> compares normalised references; <c>[REPLACE]</c> globs match the normalised reference (rules with an empty value are ignored: their results could be swapped again);</item>
/// <item>the longest registry or path key that is a prefix of the repository on a <c>/</c> boundary wins: empty value, no swap; otherwise value + the rest of the repository + tag and digest;</item>
/// <item><c>noswap_wildcards</c> are substrings of the normalised reference;</item>
/// <item><c>default</c>: empty, no swap; otherwise value + <c>/</c> + the whole repository (registry included).</item>
/// </list>
/// A result that is not a valid reference is refused (no swap).
/// </summary>
internal sealed class ReferenceRewriter
{
    private readonly (string Key, string Value)[] _prefixes;
    private readonly Dictionary<string, string> _exact = new(StringComparer.Ordinal);
    private readonly (string Pattern, string Value)[] _replace;
    private readonly string[] _targets;
    private readonly string[] _wildcards;
    private readonly string? _default;

    public ReferenceRewriter(ImageSwapMap map)
    {
        var prefixes = new List<(string, string)>();
        var targets = new List<string>();
        foreach (var (key, value) in map.Maps)
        {
            if (key is "default" or "noswap_wildcards")
            {
                continue;
            }

            prefixes.Add((Repository(key), value.TrimEnd('/')));
            if (value.Length > 0)
            {
                targets.AddRange(TargetsOf(value.TrimEnd('/')));
            }
        }

        _prefixes = [.. prefixes.OrderByDescending(p => p.Item1.Length)];
        foreach (var (key, value) in map.Exact)
        {
            _exact[Normalized(key)] = value;
            targets.AddRange(TargetsOf(value));
        }

        _replace = [.. map.Replace.Where(r => r.Value.Length > 0).Select(r => (r.Key, r.Value.TrimEnd('/')))];
        targets.AddRange(_replace.SelectMany(r => TargetsOf(r.Value)));
        _default = map.Maps.GetValueOrDefault("default");
        if (_default is { Length: > 0 })
        {
            targets.AddRange(TargetsOf(_default.TrimEnd('/')));
        }

        _targets = [.. targets.Where(t => t.Length > 0).Distinct(StringComparer.Ordinal)];
        _wildcards = map.Maps.TryGetValue("noswap_wildcards", out string? w) && w.Length > 0 ? w.Split(',').Where(e => e.Length > 0).ToArray() : [];
    }

    public SwapResult Rewrite(string image)
    {
        if (!ImageReference.TryParseNormalized(image, out ImageReference reference, out _))
        {
            return new(image, image, false, SwapRule.Invalid, null);
        }

        // The name without tag or digest (upstream normalises some names without a domain, such as 'm.e_a/app').
        string repository = reference.Name;
        string full = reference.ToString();
        string suffix = full[repository.Length..];
        foreach (string target in _targets)
        {
            if (full == target || repository == target || repository.StartsWith(target + "/", StringComparison.Ordinal))
            {
                return new(image, image, false, SwapRule.AlreadySwapped, target);
            }
        }

        if (_exact.TryGetValue(reference.WithDefaultTag().ToString(), out string? exact) || _exact.TryGetValue(full, out exact))
        {
            return Valid(image, exact, SwapRule.Exact, "[EXACT]");
        }

        foreach (var (pattern, value) in _replace)
        {
            if (ImageSwapper.FnMatch(full, pattern))
            {
                return Valid(image, value + "/" + full[(full.LastIndexOf('/') + 1)..], SwapRule.Replace, "[REPLACE]" + pattern);
            }
        }

        foreach (var (key, value) in _prefixes)
        {
            if (repository == key || repository.StartsWith(key + "/", StringComparison.Ordinal))
            {
                if (value.Length == 0)
                {
                    return new(image, image, false, SwapRule.Registry, key);
                }

                string rest = repository[key.Length..];
                return Valid(image, value + rest + suffix, SwapRule.Registry, key);
            }
        }

        foreach (string wildcard in _wildcards)
        {
            if (full.Contains(wildcard, StringComparison.Ordinal))
            {
                return new(image, image, false, SwapRule.NoSwapWildcard, wildcard);
            }
        }

        if (_default is null)
        {
            return new(image, image, false, SwapRule.NoDefault, null);
        }

        return _default.Length == 0
            ? new(image, image, false, SwapRule.Default, "default")
            : Valid(image, _default.TrimEnd('/') + "/" + repository + suffix, SwapRule.Default, "default");
    }

    private static SwapResult Valid(string image, string result, SwapRule rule, string key) =>
        ImageReference.TryParse(result, out _, out _)
            ? new(image, result, true, rule, key)
            : new(image, image, false, SwapRule.Invalid, key);

    /// <summary>
    /// Every normalised form a result built from <paramref name="value"/> can take, so that a rewritten image is recognised as
    /// already swapped: the value as a reference (with and without the default tag), and the value as a repository prefix
    /// (what <c>value/rest</c> normalises to: <c>m</c> alone is a Docker Hub path, <c>m.io</c> a registry host).
    /// </summary>
    private static IEnumerable<string> TargetsOf(string value)
    {
        yield return Repository(value);
        if (ImageReference.TryParseNormalized(value, out ImageReference whole, out _))
        {
            yield return whole.ToString();
            yield return whole.Name;
            yield return whole.WithDefaultTag().ToString();
        }

        const string probe = "/x-probe";
        if (ImageReference.TryParseNormalized(value + probe, out ImageReference prefix, out _) && prefix.Name.EndsWith(probe, StringComparison.Ordinal))
        {
            yield return prefix.Name[..^probe.Length];
        }
    }

    /// <summary>A key or value as a normalised repository (<c>nginx</c> → <c>docker.io/library/nginx</c>, <c>index.docker.io</c> → <c>docker.io</c>).</summary>
    private static string Repository(string text)
    {
        if (!text.Contains('/', StringComparison.Ordinal))
        {
            return text == "index.docker.io" ? "docker.io" : text; // a registry host (possibly with port)
        }

        return ImageReference.TryParseNormalized(text, out ImageReference r, out _) ? r.Domain + "/" + r.Path : text;
    }

    private static string Normalized(string text) =>
        ImageReference.TryParseNormalizedWithDefaultTag(text, out ImageReference r, out _) ? r.ToString() : text;
}
