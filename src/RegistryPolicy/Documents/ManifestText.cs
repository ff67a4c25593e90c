using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RegistryPolicy.Documents;

/// <summary>
/// Writes <see cref="JsonNode"/> trees (manifests, structured results) as YAML or JSON, without reflection: the one writer
/// of documents for the CLI and the hosts. The YAML reads back, with go-yaml's (kubectl's) YAML 1.1 typing, as exactly the
/// tree: a string that would read as a number, a boolean or null is quoted, and no string can end a line or start a
/// document. Thread-safe.
/// </summary>
public static class ManifestText
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonWriterOptions Compact = new() { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The tree as JSON (non-ASCII text kept as is).</summary>
    /// <param name="node">The tree.</param>
    /// <param name="indented">Indented with two spaces (default), or compact on one line.</param>
    /// <returns>The JSON text, without a trailing newline.</returns>
    public static string ToJson(JsonNode? node, bool indented = true)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, indented ? Indented : Compact))
        {
            if (node is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                node.WriteTo(writer);
            }
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>The tree as block-style YAML, ending with a newline.</summary>
    /// <param name="node">The tree.</param>
    /// <returns>The YAML text.</returns>
    public static string ToYaml(JsonNode? node)
    {
        var text = new StringBuilder();
        Yaml(text, node, 0, inSequence: false);
        return text.ToString();
    }

    private static void Yaml(StringBuilder text, JsonNode? node, int indent, bool inSequence)
    {
        switch (node)
        {
            case JsonObject obj when obj.Count > 0:
                bool first = true;
                foreach (var (key, value) in obj)
                {
                    if (!(first && inSequence))
                    {
                        text.Append(' ', indent);
                    }

                    first = false;
                    text.Append(YamlScalar(key)).Append(':');
                    WriteChild(text, value, indent);
                }

                break;
            case JsonArray array when array.Count > 0:
                foreach (JsonNode? item in array)
                {
                    text.Append(' ', indent).Append("- ");
                    if (item is JsonObject { Count: > 0 } or JsonArray { Count: > 0 })
                    {
                        if (item is JsonArray)
                        {
                            text.AppendLine();
                            Yaml(text, item, indent + 2, inSequence: false);
                        }
                        else
                        {
                            Yaml(text, item, indent + 2, inSequence: true);
                        }
                    }
                    else
                    {
                        text.AppendLine(Inline(item));
                    }
                }

                break;
            default:
                text.Append(' ', indent).AppendLine(Inline(node));
                break;
        }
    }

    private static void WriteChild(StringBuilder text, JsonNode? value, int indent)
    {
        if (value is JsonObject { Count: > 0 })
        {
            text.AppendLine();
            Yaml(text, value, indent + 2, inSequence: false);
        }
        else if (value is JsonArray { Count: > 0 })
        {
            text.AppendLine();
            Yaml(text, value, indent, inSequence: false);
        }
        else
        {
            text.Append(' ').AppendLine(Inline(value));
        }
    }

    private static string Inline(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "{}",
        JsonArray => "[]",
        JsonValue v when v.TryGetValue(out string? s) => YamlScalar(s),
        JsonValue v when v.TryGetValue(out bool b) => b ? "true" : "false",
        JsonValue v when v.TryGetValue(out int i) => i.ToString(CultureInfo.InvariantCulture),
        JsonValue v when v.TryGetValue(out long l) => l.ToString(CultureInfo.InvariantCulture),
        _ => node.ToJsonString(),
    };

    /// <summary>A YAML scalar that reads back (as go-yaml and kubectl read YAML 1.1) as exactly this string: plain when that is safe, else double-quoted with every character that could end a line or change the type escaped.</summary>
    /// <param name="value">The string.</param>
    /// <returns>The scalar's text.</returns>
    public static string YamlScalar(string value)
    {
        if (IsPlainSafe(value))
        {
            return value;
        }

        var text = new StringBuilder("\"");
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                default:
                    if (c < 0x20 || c == 0x7f || char.IsSurrogate(c))
                    {
                        text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        text.Append(c);
                    }

                    break;
            }
        }

        return text.Append('"').ToString();
    }

    private static bool IsPlainSafe(string value)
    {
        if (value.Length == 0 || YamlDocumentReader.PlainScalarKind(value) != DocNodeKind.String)
        {
            return false;
        }

        if (" \t-?:,[]{}#&*!|>'\"%@`~".Contains(value[0], StringComparison.Ordinal) || char.IsWhiteSpace(value[^1]))
        {
            return false;
        }

        if (value.Contains(": ", StringComparison.Ordinal) || value.Contains(" #", StringComparison.Ordinal) || value.EndsWith(':'))
        {
            return false;
        }

        foreach (char c in value)
        {
            if (c < 0x20 || c == 0x7f || c > 0x7e)
            {
                return false;
            }
        }

        return true;
    }
}
