using System.Collections.Immutable;
using RegistryPolicy.Diagnostics;

namespace RegistryPolicy.Swap;

/// <summary>
/// An image-swap map in the imageswap-webhook v1.5.3 format (also Palette's <c>MIRROR_REGISTRIES</c>), parsed exactly as
/// upstream parses it: comments, space removal, the <c>::</c> and deprecated <c>:</c> separators, empty values,
/// <c>default</c>, <c>noswap_wildcards</c>, <c>&lt;registry&gt;/library</c>, <c>[EXACT]</c>, <c>[REPLACE]</c>, and
/// duplicate keys (the last line wins). Every line upstream skips or misreads is reported with its line number.
/// Immutable and thread-safe.
/// </summary>
public sealed class ImageSwapMap
{
    private ImageSwapMap(ImmutableDictionary<string, string> maps, ImmutableDictionary<string, string> exact,
        ImmutableArray<KeyValuePair<string, string>> replace, ImmutableArray<Diagnostic> diagnostics, bool impliedDefault, ImmutableArray<string> keyOrder)
    {
        KeyOrder = keyOrder;
        Maps = maps;
        Exact = exact;
        Replace = replace;
        Diagnostics = diagnostics;
        ImpliedDefault = impliedDefault;
    }

    /// <summary>Registry keys (including <c>default</c>, <c>noswap_wildcards</c> and <c>&lt;registry&gt;/library</c>) and their values.</summary>
    public ImmutableDictionary<string, string> Maps { get; }

    /// <summary><c>[EXACT]</c> images and their replacements.</summary>
    public ImmutableDictionary<string, string> Exact { get; }

    /// <summary><c>[REPLACE]</c> glob patterns and their values, in file order (a repeated pattern keeps its first position and its last value).</summary>
    public ImmutableArray<KeyValuePair<string, string>> Replace { get; }

    /// <summary>Every line that was skipped or read in a way its author may not expect.</summary>
    public ImmutableArray<Diagnostic> Diagnostics { get; }

    /// <summary>Whether any diagnostic is an error (a line upstream would skip or misread in a way that changes swaps).</summary>
    public bool HasErrors => Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);

    /// <summary>The registry keys of <see cref="Maps"/> in the order they first appear (for rendering in the author's order).</summary>
    public ImmutableArray<string> KeyOrder { get; }

    /// <summary>Whether <c>default::</c> was implied (Palette's comma-separated list), not written.</summary>
    public bool ImpliedDefault { get; }

    /// <summary>Whether the map has a <c>default</c> key (without one, upstream swaps only <c>[EXACT]</c> and <c>[REPLACE]</c> images).</summary>
    public bool HasDefault => Maps.ContainsKey("default");

    /// <summary>Parses a map file (one map per line). Never throws.</summary>
    /// <param name="text">The file's text.</param>
    /// <param name="source">The name used in diagnostics.</param>
    /// <returns>The map and its diagnostics.</returns>
    public static ImageSwapMap Load(string text, string source = "maps")
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] lines = text.Split('\n');
        return Build(lines.Select((line, i) => (line.TrimEnd('\r'), i + 1)), source, impliedDefault: false);
    }

    /// <summary>
    /// Parses Palette's <c>MIRROR_REGISTRIES</c>: a comma-separated list, each element one map line, with an implied
    /// <c>default::</c> line first so that unlisted registries are left alone (Palette must add it: without a
    /// <c>default</c> key upstream swaps nothing). An explicit <c>default</c> element wins, as a later line does.
    /// </summary>
    /// <param name="list">The comma-separated list.</param>
    /// <param name="source">The name used in diagnostics.</param>
    /// <returns>The map and its diagnostics.</returns>
    public static ImageSwapMap LoadMirrorRegistries(string list, string source = "MIRROR_REGISTRIES")
    {
        ArgumentNullException.ThrowIfNull(list);
        IEnumerable<(string, int)> elements = list.Split(',').Select((element, i) => (element, i + 1));
        return Build(elements.Prepend(("default::", 0)), source, impliedDefault: true);
    }

    private static ImageSwapMap Build(IEnumerable<(string Line, int Number)> lines, string source, bool impliedDefault)
    {
        var maps = new Dictionary<string, string>(StringComparer.Ordinal);
        var exact = new Dictionary<string, string>(StringComparer.Ordinal);
        var replace = new List<KeyValuePair<string, string>>();
        var order = new List<string>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var diagnostics = new List<Diagnostic>();
        void Report(DiagnosticSeverity severity, string code, int line, string message) =>
            diagnostics.Add(new Diagnostic(code, severity, message) { Location = new SourceLocation(source, line, line == 0 ? 0 : 1) });

        foreach ((string raw, int number) in lines)
        {
            if (raw.Length > 0 && raw[0] == '#')
            {
                continue; // a full-line comment (rule 2)
            }

            string line = StripTrailingComment(raw);
            if (line.Length != raw.Length && raw[line.Length..].Count(c => c == '#') > 1)
            {
                Report(DiagnosticSeverity.Warning, "comment-hash", number,
                    "the trailing comment holds a second '#': upstream keeps the text before the last '#' only, so part of the comment becomes part of the value. Use one '#' per comment");
            }

            line = line.TrimEnd().Replace(" ", string.Empty, StringComparison.Ordinal);
            if (line.Length == 0)
            {
                continue;
            }

            if (line.Contains('\t', StringComparison.Ordinal))
            {
                Report(DiagnosticSeverity.Warning, "tab-in-line", number, "the line holds a tab, which upstream keeps (only spaces are removed): it becomes part of the key or value");
            }

            string key, value;
            string[] parts = line.Split("::");
            if (line.Contains("::", StringComparison.Ordinal) && parts.Length == 2)
            {
                (key, value) = (parts[0], parts[1]);
                if (value.StartsWith(':'))
                {
                    Report(DiagnosticSeverity.Warning, "triple-colon", number, $"':::' is read as key '{key}' and value '{value}' (the value starts with ':'); write '::' once");
                }
            }
            else if (line.Split(':') is { Length: 2 } single)
            {
                (key, value) = (single[0], single[1]);
                Report(DiagnosticSeverity.Warning, "single-colon", number, "the single ':' separator is deprecated; write '::' (a port in the key or value needs it)");
            }
            else
            {
                Report(DiagnosticSeverity.Error, "line-skipped", number,
                    line.Contains("::", StringComparison.Ordinal)
                        ? "the line has more than one '::', so upstream skips it; write exactly one 'key::value' per line"
                        : "the line is neither 'key::value' nor 'key:value' (a port needs '::'), so upstream skips it");
                continue;
            }

            if (key.StartsWith("[EXACT]", StringComparison.Ordinal))
            {
                string image = key["[EXACT]".Length..].TrimStart();
                Duplicate("[EXACT]" + image);
                exact[image] = value;
                if (value.Length == 0)
                {
                    Report(DiagnosticSeverity.Warning, "exact-empty", number, $"'[EXACT]{image}::' with an empty value sets the image to the empty string (upstream); give the replacement image");
                }
            }
            else if (key.StartsWith("[REPLACE]", StringComparison.Ordinal))
            {
                string pattern = key["[REPLACE]".Length..].TrimStart();
                Duplicate("[REPLACE]" + pattern);
                int index = replace.FindIndex(p => p.Key == pattern);
                if (index >= 0)
                {
                    replace[index] = new(pattern, value);
                }
                else
                {
                    replace.Add(new(pattern, value));
                }
            }
            else
            {
                if (key.StartsWith("[exact]", StringComparison.OrdinalIgnoreCase) || key.StartsWith("[replace]", StringComparison.OrdinalIgnoreCase))
                {
                    Report(DiagnosticSeverity.Warning, "keyword-case", number, $"'{key}' is not a keyword (they are case-sensitive: [EXACT], [REPLACE]); it is a registry key that never matches");
                }
                else if (key.Contains('/', StringComparison.Ordinal) && !key.EndsWith("/library", StringComparison.Ordinal))
                {
                    Report(DiagnosticSeverity.Warning, "path-key", number, $"'{key}': upstream compares keys with the registry host only, so a key with a path never matches (issue #117)");
                }

                Duplicate(key);
                if (!maps.ContainsKey(key))
                {
                    order.Add(key);
                }

                maps[key] = value;
                if (key == "noswap_wildcards" && value.Split(',').Any(e => e.Length == 0))
                {
                    Report(DiagnosticSeverity.Warning, "wildcard-empty", number, "an empty element in noswap_wildcards matches every image, so nothing outside the listed registries is swapped; remove the extra ','");
                }
            }

            void Duplicate(string k)
            {
                if (seen.TryGetValue(k, out int first) && !(impliedDefault && first == 0))
                {
                    Report(DiagnosticSeverity.Warning, "duplicate-key", number, $"'{k}' was already set on line {first}; the last line wins");
                }

                seen[k] = number;
            }
        }

        if (!maps.ContainsKey("default"))
        {
            Report(DiagnosticSeverity.Warning, "no-default", 0,
                "the map has no 'default' key, so upstream swaps only [EXACT] and [REPLACE] images; add 'default::' to leave other registries alone while swapping listed ones");
        }

        foreach (var (key, _) in maps)
        {
            if (key.EndsWith("/library", StringComparison.Ordinal) && !maps.ContainsKey(key[..^"/library".Length]))
            {
                Report(DiagnosticSeverity.Warning, "library-only", seen.GetValueOrDefault(key),
                    $"'{key}' is defined without '{key[..^"/library".Length]}': upstream crashes (HTTP 500, pod refused) on a non-library image of that registry; add the plain key too");
            }
        }

        return new ImageSwapMap(maps.ToImmutableDictionary(StringComparer.Ordinal), exact.ToImmutableDictionary(StringComparer.Ordinal), [.. replace],
            [.. diagnostics], impliedDefault, [.. order]);
    }

    /// <summary>Upstream's trailing-comment rule: keep the text before the last '#' that directly follows a non-'#' character.</summary>
    internal static string StripTrailingComment(string line)
    {
        for (int i = line.Length - 1; i > 0; i--)
        {
            if (line[i] == '#' && line[i - 1] != '#')
            {
                return line[..i];
            }
        }

        return line;
    }
}
