using System.Text;
using System.Text.Json;

namespace RegistryPolicy.Tests.Support;

/// <summary>
/// Cluster dumps in the exact shapes real <c>kubectl get -A -o json|yaml</c> prints, made by the real kubectl without a
/// server: <c>kubectl patch --local --type merge</c> prints objects through the same unstructured printer as <c>kubectl
/// get</c> (keys sorted at every level, so <c>data</c> comes before <c>metadata</c>; 4-space JSON; go-yaml YAML), and the
/// patch adds what a server adds (uid, resourceVersion, creationTimestamp, managedFields). The <c>v1 List</c> wrapper is
/// laid out as kubectl lays it out around those objects.
/// </summary>
internal static class KubectlDumps
{
    /// <summary>What the API server adds to every object it stores (a merge patch).</summary>
    private const string ServerFields = """
        {"metadata":{"uid":"0b6f6c1e-5d1a-4c55-9f0e-7a3f2d9c1b11","resourceVersion":"481516","creationTimestamp":"2026-11-30T09:12:44Z",
         "managedFields":[{"apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{}}}},"manager":"kubectl-client-side-apply","operation":"Update","time":"2026-11-30T09:12:44Z"}]}}
        """;

    private static readonly Dictionary<string, Dump> Cache = new(StringComparer.Ordinal);

    /// <summary>The objects of a manifest file re-printed by kubectl, one JSON text and one YAML text per object, in order.</summary>
    public static Dump Of(string manifest)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue(manifest, out Dump? known))
            {
                return known;
            }

            string kubectl = RealTools.Require("kubectl", "kubectl is expected on every machine");
            string[] args = ["patch", "--local", "--type", "merge", "-f", manifest, "-p", ServerFields.ReplaceLineEndings(string.Empty)];
            ProcessResult json = RealTools.Run(kubectl, [.. args, "-o", "json"]);
            Assert.True(json.ExitCode == 0, json.Error);
            ProcessResult yaml = RealTools.Run(kubectl, [.. args, "-o", "yaml"]);
            Assert.True(yaml.ExitCode == 0, yaml.Error);
            var dump = new Dump(SplitJson(json.Output), SplitYaml(yaml.Output));
            Assert.Equal(dump.Json.Count, dump.Yaml.Count);
            Cache[manifest] = dump;
            return dump;
        }
    }

    /// <summary>kubectl prints several objects as JSON values one after another.</summary>
    private static List<string> SplitJson(string text)
    {
        var objects = new List<string>();
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { AllowMultipleValues = true });
        while (reader.Read())
        {
            long start = reader.TokenStartIndex;
            reader.Skip();
            objects.Add(Encoding.UTF8.GetString(bytes, (int)start, (int)(reader.BytesConsumed - start)));
        }

        return objects;
    }

    /// <summary>kubectl prints several objects as YAML documents with no separator: each starts at its 'apiVersion:' line (keys are sorted).</summary>
    private static List<string> SplitYaml(string text)
    {
        var objects = new List<string>();
        var current = new StringBuilder();
        foreach (string line in text.Split('\n'))
        {
            if (line.StartsWith("apiVersion: ", StringComparison.Ordinal) && current.Length > 0)
            {
                objects.Add(current.ToString());
                current.Clear();
            }

            if (line.Length > 0 || current.Length > 0)
            {
                current.Append(line).Append('\n');
            }
        }

        if (current.ToString().Trim().Length > 0)
        {
            objects.Add(current.ToString().TrimEnd('\n') + "\n");
        }

        return objects;
    }
}

/// <summary>The objects of one dump, as kubectl prints each.</summary>
internal sealed record Dump(IReadOnlyList<string> Json, IReadOnlyList<string> Yaml)
{
    /// <summary>A <c>v1 List</c> as <c>kubectl get -A -o json</c> prints it.</summary>
    public static string JsonList(IEnumerable<string> objects)
    {
        var text = new StringBuilder("{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n");
        string[] items = [.. objects];
        for (int i = 0; i < items.Length; i++)
        {
            string[] lines = items[i].TrimEnd('\n').Split('\n');
            for (int l = 0; l < lines.Length; l++)
            {
                text.Append("        ").Append(lines[l]);
                text.Append(l + 1 < lines.Length ? "\n" : i + 1 < items.Length ? ",\n" : "\n");
            }
        }

        return text.Append("    ],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n").ToString();
    }

    /// <summary>A <c>v1 List</c> as <c>kubectl get -A -o yaml</c> prints it (go-yaml: list items at the parent's indentation).</summary>
    public static string YamlList(IEnumerable<string> objects)
    {
        var text = new StringBuilder("apiVersion: v1\nitems:\n");
        foreach (string item in objects)
        {
            string[] lines = item.TrimEnd('\n').Split('\n');
            for (int l = 0; l < lines.Length; l++)
            {
                text.Append(l == 0 ? "- " : "  ").Append(lines[l]).Append('\n');
            }
        }

        return text.Append("kind: List\nmetadata:\n  resourceVersion: \"\"\n").ToString();
    }

    /// <summary>Several YAML documents (what <c>kubectl get a/x b/y -o yaml</c> users often concatenate by hand).</summary>
    public static string YamlDocuments(IEnumerable<string> objects) => string.Join("---\n", objects);

    /// <summary>The same JSON with the keys of every object in another order (the reader must not depend on key order).</summary>
    public static string Shuffled(string json, Random random)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = random.Next(2) == 0, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            Write(document.RootElement, writer, random);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());

        static void Write(JsonElement element, Utf8JsonWriter writer, Random random)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    writer.WriteStartObject();
                    JsonProperty[] properties = [.. element.EnumerateObject()];
                    random.Shuffle(properties);
                    foreach (JsonProperty property in properties)
                    {
                        writer.WritePropertyName(property.Name);
                        Write(property.Value, writer, random);
                    }

                    writer.WriteEndObject();
                    break;
                case JsonValueKind.Array:
                    writer.WriteStartArray();
                    foreach (JsonElement item in element.EnumerateArray())
                    {
                        Write(item, writer, random);
                    }

                    writer.WriteEndArray();
                    break;
                default:
                    element.WriteTo(writer);
                    break;
            }
        }
    }
}
