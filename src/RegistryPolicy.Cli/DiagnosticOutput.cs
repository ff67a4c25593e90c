using RegistryPolicy.Diagnostics;

namespace RegistryPolicy.Cli;

/// <summary>Writes diagnostics as text lines (to stderr) or as a JSON array.</summary>
internal static class DiagnosticOutput
{
    public static void WriteText(TextWriter error, IEnumerable<Diagnostic> diagnostics)
    {
        foreach (Diagnostic diagnostic in diagnostics)
        {
            error.WriteLine(diagnostic.ToString());
        }
    }

    public static void WriteJson(JsonLineWriter json, IEnumerable<Diagnostic> diagnostics)
    {
        json.StartArray("diagnostics");
        foreach (Diagnostic d in diagnostics)
        {
            json.StartObject();
            json.String("severity", d.Severity.ToString().ToLowerInvariant());
            json.String("code", d.Code);
            json.String("message", d.Message);
            json.String("object", d.Subject?.ToString());
            json.String("field", d.Field);
            json.String("location", d.Location?.ToString());
            json.EndObject();
        }

        json.EndArray();
    }
}

/// <summary>Writes rows as space-aligned columns; a cell cannot break its row (control characters are shown as <c>\uXXXX</c>).</summary>
internal static class Table
{
    public static void Write(TextWriter output, List<string[]> rows)
    {
        rows = [.. rows.Select(row => row.Select(Cell).ToArray())];
        int columns = rows[0].Length;
        int[] widths = new int[columns];
        foreach (string[] row in rows)
        {
            for (int i = 0; i < columns; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        foreach (string[] row in rows)
        {
            output.WriteLine(string.Join("   ", row.Select((cell, i) => i == columns - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }
    }

    /// <summary>The cell with control characters, line separators and unpaired surrogates escaped (input names may hold them).</summary>
    public static string Cell(string? cell)
    {
        cell ??= string.Empty;
        if (!cell.Any(NeedsEscape))
        {
            return cell;
        }

        var text = new System.Text.StringBuilder(cell.Length + 16);
        for (int i = 0; i < cell.Length; i++)
        {
            char c = cell[i];
            if (char.IsHighSurrogate(c) && i + 1 < cell.Length && char.IsLowSurrogate(cell[i + 1]))
            {
                text.Append(c).Append(cell[++i]);
            }
            else if (NeedsEscape(c))
            {
                text.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }

    /// <summary>Controls, line separators, surrogates, and format characters such as U+202E (which reorders what a terminal shows).</summary>
    private static bool NeedsEscape(char c) =>
        char.IsControl(c) || c is '\u2028' or '\u2029' || char.IsSurrogate(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format;
}
