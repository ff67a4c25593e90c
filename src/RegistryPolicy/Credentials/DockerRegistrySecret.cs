using System.Buffers;
using System.Text;

using RegistryPolicy.Primitives;

namespace RegistryPolicy.Credentials;

/// <summary>
/// Builds the Secret manifest <c>kubectl create secret docker-registry NAME ... --dry-run=client -o yaml|json</c> prints, so
/// ours can be diffed against kubectl's: the same fields, order, indentation and base64.
/// Stateless: safe to call from any thread.
/// </summary>
public static class DockerRegistrySecret
{
    /// <summary>The YAML kubectl prints (<c>-o yaml</c>), ending with a newline.</summary>
    /// <param name="name">The Secret's name (kubectl does not validate it client-side, and neither does this).</param>
    /// <param name="namespace">The namespace (<c>-n</c>), or <see langword="null"/>.</param>
    /// <param name="dockerConfigJson">The <c>.dockerconfigjson</c> bytes, for example from <see cref="DockerConfigJson.Encode"/>.</param>
    /// <returns>The manifest.</returns>
    public static string ToYaml(string name, string? @namespace, ReadOnlySpan<byte> dockerConfigJson)
    {
        ArgumentNullException.ThrowIfNull(name);
        var text = new StringBuilder();
        text.Append("apiVersion: v1\n");
        text.Append("data:\n");
        text.Append("  .dockerconfigjson: ").Append(Convert.ToBase64String(dockerConfigJson)).Append('\n');
        text.Append("kind: Secret\n");
        text.Append("metadata:\n");
        text.Append("  creationTimestamp: null\n");
        text.Append("  name: ").Append(YamlScalar(name)).Append('\n');
        if (!string.IsNullOrEmpty(@namespace))
        {
            text.Append("  namespace: ").Append(YamlScalar(@namespace)).Append('\n');
        }

        text.Append("type: kubernetes.io/dockerconfigjson\n");
        return text.ToString();
    }

    /// <summary>The JSON kubectl prints (<c>-o json</c>): four-space indentation, ending with a newline.</summary>
    /// <param name="name">The Secret's name.</param>
    /// <param name="namespace">The namespace, or <see langword="null"/>.</param>
    /// <param name="dockerConfigJson">The <c>.dockerconfigjson</c> bytes.</param>
    /// <returns>The manifest.</returns>
    public static string ToJson(string name, string? @namespace, ReadOnlySpan<byte> dockerConfigJson)
    {
        ArgumentNullException.ThrowIfNull(name);
        var text = new StringBuilder();
        text.Append("{\n");
        text.Append("    \"kind\": \"Secret\",\n");
        text.Append("    \"apiVersion\": \"v1\",\n");
        text.Append("    \"metadata\": {\n");
        text.Append("        \"name\": ").Append(JsonString(name)).Append(",\n");
        if (!string.IsNullOrEmpty(@namespace))
        {
            text.Append("        \"namespace\": ").Append(JsonString(@namespace)).Append(",\n");
        }

        text.Append("        \"creationTimestamp\": null\n");
        text.Append("    },\n");
        text.Append("    \"data\": {\n");
        text.Append("        \".dockerconfigjson\": \"").Append(Convert.ToBase64String(dockerConfigJson)).Append("\"\n");
        text.Append("    },\n");
        text.Append("    \"type\": \"kubernetes.io/dockerconfigjson\"\n");
        text.Append("}\n");
        return text.ToString();
    }

    private static string JsonString(string value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        GoJson.WriteString(buffer, value);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A plain scalar where YAML would read it back as the same string, otherwise a double-quoted one.</summary>
    private static string YamlScalar(string value)
    {
        bool plain = value.Length > 0
            && char.IsAsciiLetterOrDigit(value[0])
            && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')
            && !IsReserved(value);
        return plain ? value : JsonString(value);
    }

    private static bool IsReserved(string value) =>
        value.ToLowerInvariant() is "true" or "false" or "yes" or "no" or "on" or "off" or "null" or "y" or "n"
        || double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)
        || (value.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && value.Length > 2);
}
