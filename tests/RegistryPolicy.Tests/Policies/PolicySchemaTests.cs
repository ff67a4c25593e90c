using System.Text.Json.Nodes;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Documents;
using RegistryPolicy.Policies;

namespace RegistryPolicy.Tests.Policies;

public sealed class PolicySchemaTests
{
    private static readonly JsonObject Schema = JsonNode.Parse(PolicySchema.Generate())!.AsObject();

    [Fact]
    public void The_shipped_schema_in_docs_is_the_generated_one()
    {
        string shipped = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "registrypolicy.schema.json")).ReplaceLineEndings("\n").TrimEnd();

        Assert.Equal(PolicySchema.Generate().ReplaceLineEndings("\n").TrimEnd(), shipped);
    }

    [Theory]
    [MemberData(nameof(Support.Presets.Names), MemberType = typeof(Support.Presets))]
    public void Every_preset_validates_against_the_schema(string name)
    {
        Assert.True(PolicyPresets.TryGetText(name, out string? text));
        var diagnostics = new List<Diagnostic>();
        DocNode root = YamlDocumentReader.Read(new StringReader(text), name, DocumentLimits.Default, diagnostics).Single();

        List<string> errors = [];
        Validate(Schema, Schema, root, "", errors);

        Assert.Empty(errors);
    }

    [Fact]
    public void The_schema_validator_used_here_does_find_errors()
    {
        var diagnostics = new List<Diagnostic>();
        DocNode root = YamlDocumentReader.Read(new StringReader("apiVersion: x\nkind: RegistryPolicy\nmetadata: {name: a, extra: 1}\nspec: {rebuild: {onChange: [colour]}}\n"), "bad", DocumentLimits.Default, diagnostics).Single();

        List<string> errors = [];
        Validate(Schema, Schema, root, "", errors);

        Assert.Contains(errors, e => e.Contains("metadata.extra", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("colour", StringComparison.Ordinal));
    }

    internal static string RepositoryRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "RegistryPolicy.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("RegistryPolicy.sln not found above the test directory");
    }

    /// <summary>A small JSON Schema validator: type, properties, additionalProperties, required, enum, items, $ref (JSON pointers).</summary>
    internal static void Validate(JsonObject rootSchema, JsonObject schema, DocNode node, string path, List<string> errors)
    {
        if (schema["$ref"] is JsonValue reference)
        {
            JsonNode target = rootSchema;
            foreach (string part in reference.GetValue<string>().TrimStart('#').Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                target = target[part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)]!;
            }

            Validate(rootSchema, target.AsObject(), node, path, errors);
            return;
        }

        if (schema["type"] is { } type)
        {
            string[] types = type is JsonArray array ? [.. array.Select(t => t!.GetValue<string>())] : [type.GetValue<string>()];
            string actual = node.Kind switch
            {
                DocNodeKind.Mapping => "object",
                DocNodeKind.Sequence => "array",
                DocNodeKind.Bool => "boolean",
                DocNodeKind.Number => "number",
                DocNodeKind.Null => "null",
                _ => "string",
            };
            if (!types.Contains(actual) && !(actual == "number" && types.Contains("integer")))
            {
                errors.Add($"{path}: {actual} is not {string.Join("|", types)}");
                return;
            }
        }

        if (schema["enum"] is JsonArray values && !values.Any(v => v?.GetValue<string>() == node.Scalar))
        {
            errors.Add($"{path}: '{node.Scalar}' is not one of {values.ToJsonString()}");
        }

        if (node.Kind == DocNodeKind.Mapping)
        {
            var properties = schema["properties"] as JsonObject;
            foreach (var (key, value) in node.Entries)
            {
                string at = path.Length == 0 ? key.Scalar! : $"{path}.{key.Scalar}";
                if (properties?[key.Scalar!] is JsonObject property)
                {
                    Validate(rootSchema, property, value, at, errors);
                }
                else if (schema["additionalProperties"] is JsonObject additional)
                {
                    Validate(rootSchema, additional, value, at, errors);
                }
                else if (schema["additionalProperties"] is JsonValue allowed && !allowed.GetValue<bool>())
                {
                    errors.Add($"{at}: not allowed by the schema");
                }
            }

            foreach (JsonNode? required in schema["required"] as JsonArray ?? [])
            {
                if (node.Get(required!.GetValue<string>()) is null)
                {
                    errors.Add($"{path}: '{required}' is required");
                }
            }
        }

        if (node.Kind == DocNodeKind.Sequence && schema["items"] is JsonObject items)
        {
            for (int i = 0; i < node.Items.Count; i++)
            {
                Validate(rootSchema, items, node.Items[i], $"{path}[{i}]", errors);
            }
        }
    }
}
