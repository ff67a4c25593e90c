using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json.Nodes;

namespace RegistryPolicy.Primitives;

/// <summary>One RFC 6902 operation. Immutable and thread-safe.</summary>
/// <param name="Op">The operation (<c>add</c>, <c>replace</c>, <c>remove</c>, <c>test</c>).</param>
/// <param name="Path">The JSON pointer (RFC 6901: <c>~1</c> is '/', <c>~0</c> is '~').</param>
/// <param name="ValueJson">The value as JSON text (empty for <c>remove</c>). For Secret data it holds credentials: print it only when asked to show secrets.</param>
public sealed record JsonPatchOperation(string Op, string Path, string ValueJson)
{
    /// <summary>Formats as <c>op path</c>; never the value.</summary>
    /// <returns>The operation without its value.</returns>
    public override string ToString() => $"{Op} {Path}";
}

/// <summary>
/// RFC 6902 JSON Patch documents: written as JSON (strings escaped as Go's <c>encoding/json</c> writes them, as kubectl
/// does) and applied to a <see cref="JsonNode"/> tree, with RFC 6901 pointers (<c>~1</c>, <c>~0</c>). The one patch
/// writer and applier of the library: the CLI, the webhook host and the tests use these.
/// Stateless: safe to call from any thread.
/// </summary>
public static class JsonPatch
{
    /// <summary>The patch as a compact JSON array.</summary>
    /// <param name="operations">The operations, in order.</param>
    /// <returns>For example <c>[{"op":"add","path":"/a","value":1}]</c>.</returns>
    public static string ToJson(IEnumerable<JsonPatchOperation> operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        var text = new StringBuilder("[");
        foreach (JsonPatchOperation op in operations)
        {
            text.Append(text.Length > 1 ? ",{\"op\":" : "{\"op\":").Append(JsonString(op.Op)).Append(",\"path\":").Append(JsonString(op.Path));
            if (op.Op != "remove")
            {
                text.Append(",\"value\":").Append(op.ValueJson);
            }

            text.Append('}');
        }

        return text.Append(']').ToString();
    }

    /// <summary>A JSON string literal, escaped as Go's <c>encoding/json</c> escapes it.</summary>
    /// <param name="value">The text.</param>
    /// <returns>The literal, quotes included.</returns>
    public static string JsonString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var output = new ArrayBufferWriter<byte>(value.Length + 2);
        GoJson.WriteString(output, value);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    /// <summary>
    /// Applies the operations to a copy of the document, as RFC 6902 says: <c>add</c> (an array index or <c>-</c> inserts),
    /// <c>replace</c>, <c>remove</c> and <c>test</c>. Never throws for a patch that does not fit the document.
    /// </summary>
    /// <param name="document">The document; not changed.</param>
    /// <param name="operations">The operations, in order.</param>
    /// <param name="result">The patched copy.</param>
    /// <param name="error">Why the patch does not apply (the operation's index and path), when it does not.</param>
    /// <returns>Whether every operation applied.</returns>
    public static bool TryApply(JsonNode? document, IEnumerable<JsonPatchOperation> operations, out JsonNode? result, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(operations);
        JsonNode? root = document?.DeepClone();
        int index = 0;
        foreach (JsonPatchOperation op in operations)
        {
            if (!TryApplyOne(ref root, op, out string? problem))
            {
                result = null;
                error = $"operation {index} ({op}): {problem}";
                return false;
            }

            index++;
        }

        result = root;
        error = null;
        return true;
    }

    /// <summary>The reference tokens of a JSON pointer, unescaped (<c>~1</c> to '/', then <c>~0</c> to '~').</summary>
    /// <param name="path">The pointer, empty or starting with '/'.</param>
    /// <param name="tokens">The tokens.</param>
    /// <returns>Whether the pointer is well formed.</returns>
    public static bool TryParsePointer(string path, [NotNullWhen(true)] out string[]? tokens)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            tokens = [];
            return true;
        }

        if (path[0] != '/')
        {
            tokens = null;
            return false;
        }

        string[] parts = path[1..].Split('/');
        for (int i = 0; i < parts.Length; i++)
        {
            string part = parts[i];
            for (int c = 0; c < part.Length; c++)
            {
                if (part[c] == '~' && (c + 1 >= part.Length || part[c + 1] is not ('0' or '1')))
                {
                    tokens = null;
                    return false;
                }
            }

            parts[i] = part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
        }

        tokens = parts;
        return true;
    }

    private static bool TryApplyOne(ref JsonNode? root, JsonPatchOperation op, out string? problem)
    {
        problem = null;
        if (!TryParsePointer(op.Path, out string[]? tokens))
        {
            problem = "the path is not a JSON pointer";
            return false;
        }

        JsonNode? value = null;
        if (op.Op is "add" or "replace" or "test")
        {
            try
            {
                value = JsonNode.Parse(op.ValueJson);
            }
            catch (System.Text.Json.JsonException)
            {
                problem = "the value is not JSON";
                return false;
            }
        }

        if (tokens.Length == 0)
        {
            switch (op.Op)
            {
                case "add" or "replace":
                    root = value;
                    return true;
                case "test":
                    return JsonNode.DeepEquals(root, value) || Fail("the test fails", out problem);
                default:
                    return Fail("the whole document cannot be removed", out problem);
            }
        }

        JsonNode? parent = root;
        for (int i = 0; i < tokens.Length - 1; i++)
        {
            parent = Child(parent, tokens[i]);
            if (parent is null)
            {
                return Fail("the path does not exist", out problem);
            }
        }

        string last = tokens[^1];
        switch (parent)
        {
            case JsonObject obj:
                switch (op.Op)
                {
                    case "add":
                        obj[last] = value;
                        return true;
                    case "replace" or "remove" when !obj.ContainsKey(last):
                        return Fail("the member does not exist", out problem);
                    case "replace":
                        obj[last] = value;
                        return true;
                    case "remove":
                        obj.Remove(last);
                        return true;
                    case "test":
                        return (obj.TryGetPropertyValue(last, out JsonNode? actual) && JsonNode.DeepEquals(actual, value)) || Fail("the test fails", out problem);
                    default:
                        return Fail($"the operation '{op.Op}' is not supported", out problem);
                }

            case JsonArray array:
                bool append = last == "-";
                if (!append && !TryIndex(last, out _))
                {
                    return Fail("the array index is not a number", out problem);
                }

                int at = append ? array.Count : int.Parse(last, System.Globalization.CultureInfo.InvariantCulture);
                bool inRange = op.Op == "add" ? at <= array.Count : at < array.Count && !append;
                if (!inRange)
                {
                    return Fail("the array index is out of range", out problem);
                }

                switch (op.Op)
                {
                    case "add":
                        array.Insert(at, value);
                        return true;
                    case "replace":
                        array[at] = value;
                        return true;
                    case "remove":
                        array.RemoveAt(at);
                        return true;
                    case "test":
                        return JsonNode.DeepEquals(array[at], value) || Fail("the test fails", out problem);
                    default:
                        return Fail($"the operation '{op.Op}' is not supported", out problem);
                }

            default:
                return Fail("the parent of the path is not an object or an array", out problem);
        }
    }

    private static JsonNode? Child(JsonNode? node, string token) => node switch
    {
        JsonObject obj => obj.TryGetPropertyValue(token, out JsonNode? child) ? child : null,
        JsonArray array when TryIndex(token, out int i) && i < array.Count => array[i],
        _ => null,
    };

    /// <summary>An array index as RFC 6901 writes it: digits without a leading zero.</summary>
    private static bool TryIndex(string token, out int index)
    {
        index = -1;
        if (token.Length == 0 || (token.Length > 1 && token[0] == '0') || token.Length > 9)
        {
            return false;
        }

        foreach (char c in token)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        index = int.Parse(token, System.Globalization.CultureInfo.InvariantCulture);
        return true;
    }

    private static bool Fail(string message, out string? problem)
    {
        problem = message;
        return false;
    }
}
