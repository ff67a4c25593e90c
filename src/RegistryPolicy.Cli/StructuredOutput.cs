using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RegistryPolicy.Cli;

/// <summary>Writes a <see cref="JsonNode"/> tree as indented JSON or as YAML, without reflection.</summary>
internal static class StructuredOutput
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void WriteJson(TextWriter output, JsonNode node)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            node.WriteTo(writer);
        }

        output.WriteLine(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    public static void WriteYaml(TextWriter output, JsonNode node)
    {
        var text = new StringBuilder();
        Yaml(text, node, 0, inSequence: false);
        output.Write(text.ToString());
    }

    public static void Write(TextWriter output, JsonNode node, string format)
    {
        if (format == "yaml")
        {
            WriteYaml(output, node);
        }
        else
        {
            WriteJson(output, node);
        }
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
                    text.Append(Scalar(key)).Append(':');
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
        JsonValue v when v.TryGetValue(out string? s) => Scalar(s),
        JsonValue v when v.TryGetValue(out bool b) => b ? "true" : "false",
        JsonValue v when v.TryGetValue(out int i) => i.ToString(CultureInfo.InvariantCulture),
        JsonValue v when v.TryGetValue(out long l) => l.ToString(CultureInfo.InvariantCulture),
        _ => node.ToJsonString(),
    };

    /// <summary>A YAML scalar: plain when it reads back as the same string, else double-quoted with JSON escapes.</summary>
    internal static string Scalar(string value)
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
        if (value.Length == 0 || Documents.YamlDocumentReader.PlainScalarKind(value) != Documents.DocNodeKind.String)
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
