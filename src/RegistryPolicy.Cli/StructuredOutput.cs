using System.Text.Json.Nodes;
using RegistryPolicy.Documents;

namespace RegistryPolicy.Cli;

/// <summary>Writes a <see cref="JsonNode"/> tree to a stream as indented JSON or as YAML (the core's <see cref="ManifestText"/>).</summary>
internal static class StructuredOutput
{
    public static void WriteJson(TextWriter output, JsonNode node, bool compact = false) => output.WriteLine(ManifestText.ToJson(node, indented: !compact));

    public static void WriteYaml(TextWriter output, JsonNode node) => output.Write(ManifestText.ToYaml(node));

    public static void Write(TextWriter output, JsonNode node, string format, bool compact = false)
    {
        if (format == "yaml")
        {
            WriteYaml(output, node);
        }
        else
        {
            WriteJson(output, node, compact);
        }
    }
}
