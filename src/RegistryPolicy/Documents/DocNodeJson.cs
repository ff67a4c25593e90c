using System.Globalization;
using System.Text.Json.Nodes;

namespace RegistryPolicy.Documents;

/// <summary>
/// A document tree as JSON, as <c>sigs.k8s.io/yaml</c> converts YAML to JSON for the API server: YAML 1.1 booleans
/// (<c>yes</c>, <c>on</c>...) become <c>true</c>/<c>false</c>, integers in any YAML 1.1 notation (<c>0x1F</c>, <c>0b101</c>,
/// <c>012</c> octal, <c>1_000</c>) become JSON numbers, other numbers stay as their text when JSON cannot hold them.
/// </summary>
internal static class DocNodeJson
{
    public static JsonNode? ToJsonNode(DocNode node) => node.Kind switch
    {
        DocNodeKind.Mapping => Mapping(node),
        DocNodeKind.Sequence => new JsonArray([.. node.Items.Select(ToJsonNode)]),
        DocNodeKind.String => JsonValue.Create(node.Scalar),
        DocNodeKind.Bool => JsonValue.Create(YamlDocumentReader.IsTrue(node.Scalar!)),
        DocNodeKind.Number => Number(node.Scalar!),
        _ => null,
    };

    private static JsonObject Mapping(DocNode node)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in node.Entries)
        {
            obj.TryAdd(key.Scalar ?? string.Empty, ToJsonNode(value)); // the reader already refused a repeated key
        }

        return obj;
    }

    private static JsonValue Number(string text)
    {
        string s = text.Replace("_", string.Empty, StringComparison.Ordinal);
        bool negative = s.StartsWith('-');
        string digits = s.TrimStart('+', '-');
        if (TryInteger(digits, out ulong magnitude))
        {
            if (!negative && magnitude <= long.MaxValue)
            {
                return JsonValue.Create((long)magnitude);
            }

            if (negative && magnitude <= (ulong)long.MaxValue + 1)
            {
                return JsonValue.Create(magnitude == (ulong)long.MaxValue + 1 ? long.MinValue : -(long)magnitude);
            }
        }

        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d)
            ? JsonValue.Create(d)
            : JsonValue.Create(text);
    }

    private static bool TryInteger(string digits, out ulong value)
    {
        value = 0;
        if (digits.Length > 2 && digits[0] == '0' && digits[1] is 'x' or 'X')
        {
            return ulong.TryParse(digits.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }

        if (digits.Length > 2 && digits[0] == '0' && digits[1] is 'b' or 'B')
        {
            return ulong.TryParse(digits.AsSpan(2), NumberStyles.AllowBinarySpecifier, CultureInfo.InvariantCulture, out value);
        }

        if (digits.Length > 1 && digits[0] == '0' && digits.All(c => c is >= '0' and <= '7'))
        {
            try
            {
                value = Convert.ToUInt64(digits, 8); // YAML 1.1: a leading zero means octal
                return true;
            }
            catch (OverflowException)
            {
                return false;
            }
        }

        return digits.Length > 0 && digits.All(char.IsAsciiDigit) && ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
