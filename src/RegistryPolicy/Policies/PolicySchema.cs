using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.Json.Serialization;

namespace RegistryPolicy.Policies;

/// <summary>The JSON Schema of policy documents, generated from the model, and the model's JSON form. Stateless: safe to call from any thread.</summary>
public static class PolicySchema
{
    /// <summary>The schema's <c>$id</c>.</summary>
    public const string Id = "https://registrypolicy.dev/schemas/v1alpha1/registrypolicy.json";

    /// <summary>Generates the JSON Schema (draft 2020-12) of <see cref="RegistryPolicyDocument"/>.</summary>
    /// <returns>The schema, indented JSON.</returns>
    public static string Generate()
    {
        JsonNode schema = JsonSchemaExporter.GetJsonSchemaAsNode(PolicyJsonContext.Default.RegistryPolicyDocument,
            new JsonSchemaExporterOptions { TreatNullObliviousAsNonNullable = true });
        var root = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$id"] = Id,
            ["title"] = "RegistryPolicy",
            ["description"] = "A registry policy document (registrypolicy.dev/v1alpha1). Generated from the RegistryPolicy library's model.",
        };
        foreach (var (key, value) in schema.AsObject().ToList())
        {
            schema.AsObject().Remove(key);
            root[key] = value;
        }

        return root.ToJsonString(new JsonSerializerOptions(PolicyJsonContext.Default.Options) { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>Serialises a policy document to JSON (indented), as a policy file can hold it.</summary>
    /// <param name="document">The document.</param>
    /// <returns>The JSON text.</returns>
    public static string ToJson(RegistryPolicyDocument document) =>
        JsonSerializer.Serialize(document, PolicyJsonContext.Default.RegistryPolicyDocument);
}

/// <summary>Source-generated (reflection-free, AOT-safe) JSON metadata for the policy model.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    UseStringEnumConverter = true,
    WriteIndented = true)]
[JsonSerializable(typeof(RegistryPolicyDocument))]
internal sealed partial class PolicyJsonContext : JsonSerializerContext;
