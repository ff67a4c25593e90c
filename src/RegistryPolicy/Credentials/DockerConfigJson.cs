using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Credentials;

/// <summary>
/// Encodes and decodes <c>.dockerconfigjson</c> pull-secret content: encoding byte-identical to
/// <c>kubectl create secret docker-registry</c>, decoding exactly as the kubelet reads it.
/// Stateless: safe to call from any thread.
/// </summary>
public static class DockerConfigJson
{
    /// <summary>The server kubectl uses when <c>--docker-server</c> is not given.</summary>
    public const string DefaultServer = "https://index.docker.io/v1/";

    /// <summary>The message kubectl prints when username, password or server is missing or empty.</summary>
    public const string MissingValuesMessage =
        "either --from-file or the combination of --docker-username, --docker-password and --docker-server is required";

    /// <summary>
    /// Encodes one registry entry as kubectl does. Never throws for bad values: returns <see langword="false"/> with kubectl's
    /// reason where kubectl refuses (an empty username, password or server).
    /// </summary>
    /// <param name="server">The registry key, verbatim; <see langword="null"/> means "not given" and uses <see cref="DefaultServer"/>,
    /// while an empty string is refused, as kubectl does.</param>
    /// <param name="username">The username; must not be empty.</param>
    /// <param name="password">The password; must not be empty.</param>
    /// <param name="email">The e-mail address; omitted when null or empty.</param>
    /// <param name="layout">The kubectl layout (default) or the minimal <c>auth</c>-only layout.</param>
    /// <param name="bytes">The exact <c>.dockerconfigjson</c> bytes (compact JSON, no trailing newline).</param>
    /// <param name="error">kubectl's reason when refused.</param>
    /// <returns>Whether the values were accepted.</returns>
    public static bool TryEncode(string? server, string? username, string? password, string? email, DockerConfigLayout layout,
        [NotNullWhen(true)] out byte[]? bytes, [NotNullWhen(false)] out string? error)
    {
        server ??= DefaultServer;
        if (string.IsNullOrEmpty(username) || string.IsNullOrEmpty(password) || server.Length == 0)
        {
            bytes = null;
            error = MissingValuesMessage;
            return false;
        }

        byte[] user = Encoding.UTF8.GetBytes(username);
        byte[] pass = Encoding.UTF8.GetBytes(password);
        var output = new ArrayBufferWriter<byte>(128 + (2 * (user.Length + pass.Length)) + server.Length);
        GoJson.Write(output, "{\"auths\":{"u8);
        GoJson.WriteString(output, server);
        GoJson.Write(output, ":{"u8);
        if (layout == DockerConfigLayout.Kubectl)
        {
            GoJson.Write(output, "\"username\":"u8);
            GoJson.WriteString(output, user);
            GoJson.Write(output, ",\"password\":"u8);
            GoJson.WriteString(output, pass);
            if (!string.IsNullOrEmpty(email))
            {
                GoJson.Write(output, ",\"email\":"u8);
                GoJson.WriteString(output, email);
            }

            GoJson.Write(output, ","u8);
        }

        GoJson.Write(output, "\"auth\":\""u8);
        WriteAuth(output, user, pass);
        GoJson.Write(output, "\"}}}"u8);
        CryptographicClear(user, pass);
        bytes = output.WrittenSpan.ToArray();
        error = null;
        return true;
    }

    /// <summary>Encodes one registry entry as kubectl does; throws where kubectl refuses.</summary>
    /// <param name="server">The registry key, verbatim; <see langword="null"/> uses <see cref="DefaultServer"/>.</param>
    /// <param name="username">The username; must not be empty.</param>
    /// <param name="password">The password; must not be empty.</param>
    /// <param name="email">The e-mail address; omitted when null or empty.</param>
    /// <param name="layout">The layout.</param>
    /// <returns>The exact <c>.dockerconfigjson</c> bytes.</returns>
    /// <exception cref="ArgumentException">A required value is empty (kubectl's message).</exception>
    public static byte[] Encode(string? server, string username, string password, string? email = null, DockerConfigLayout layout = DockerConfigLayout.Kubectl) =>
        TryEncode(server, username, password, email, layout, out byte[]? bytes, out string? error) ? bytes : throw new ArgumentException(error);

    /// <summary>
    /// Decodes pull-secret JSON as the kubelet reads it. Never throws. A JSON error (malformed, wrongly typed field, bad
    /// <c>auth</c>) is an error diagnostic and an empty config, because the kubelet then fails the pull instead of skipping the
    /// secret; quirks the kubelet accepts silently (no <c>auths</c> wrapper, a legacy config with one) are warnings.
    /// </summary>
    /// <param name="json">The UTF-8 JSON.</param>
    /// <param name="format">Which shape to read.</param>
    /// <param name="source">The Secret the content came from, named in diagnostics.</param>
    /// <param name="field">The data key, named in diagnostics (for example <c>.dockerconfigjson</c>).</param>
    /// <returns>The entries and diagnostics.</returns>
    public static DockerConfigReadResult Read(ReadOnlySpan<byte> json, DockerConfigFormat format, ObjectReference? source = null, string? field = null)
    {
        var diagnostics = new List<Diagnostic>();
        string fieldPrefix = field is null ? "" : $"data[{field}]";
        Diagnostic Make(string code, DiagnosticSeverity severity, string message, string? path = null) =>
            new(code, severity, message) { Subject = source, Field = path is null ? NullIfEmpty(fieldPrefix) : fieldPrefix + path };

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            diagnostics.Add(Make("json-malformed", DiagnosticSeverity.Error,
                $"not valid JSON ({Describe(e)}); the kubelet refuses every pull that uses this secret. Re-create it with 'kubectl create secret docker-registry'."));
            return new DockerConfigReadResult(DockerConfig.Empty, diagnostics);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                diagnostics.Add(Make("json-wrong-type", DiagnosticSeverity.Error,
                    $"the content is a JSON {Kind(root)}, not an object; the kubelet refuses every pull that uses this secret."));
                return new DockerConfigReadResult(DockerConfig.Empty, diagnostics);
            }

            var entries = new List<DockerConfigEntry>();
            bool ok;
            if (format == DockerConfigFormat.DockerConfigJson)
            {
                ok = true;
                bool sawAuths = false;
                foreach (JsonProperty property in root.EnumerateObject())
                {
                    string propertyName = GoFoldedName(JsonText.GetName(property, out _));
                    if (propertyName == "auths")
                    {
                        sawAuths = true;
                        if (property.Value.ValueKind == JsonValueKind.Null)
                        {
                            continue;
                        }

                        if (property.Value.ValueKind != JsonValueKind.Object)
                        {
                            diagnostics.Add(Make("json-wrong-type", DiagnosticSeverity.Error,
                                $"'auths' is a JSON {Kind(property.Value)}, not an object; the kubelet refuses every pull that uses this secret.", ".auths"));
                            ok = false;
                            continue;
                        }

                        ok &= ReadEntries(property.Value, ".auths", entries, diagnostics, Make);
                    }
                    else if (propertyName == "httpheaders")
                    {
                        ok &= CheckHeaders(property.Value, diagnostics, Make);
                    }
                }

                if (!sawAuths && ok)
                {
                    diagnostics.Add(Make("no-auths", DiagnosticSeverity.Warning,
                        "the content has no 'auths' object, so the kubelet reads no credentials from it (silently). " +
                        "Wrap the entries: {\"auths\": {...}}; a flat map belongs in a kubernetes.io/dockercfg Secret under .dockercfg."));
                }
            }
            else
            {
                ok = ReadEntries(root, "", entries, diagnostics, Make);
                if (ok && entries.Any(e => e.Server == "auths"))
                {
                    diagnostics.Add(Make("dockercfg-has-auths", DiagnosticSeverity.Warning,
                        "this legacy .dockercfg has an 'auths' wrapper, which the kubelet reads as one registry literally named 'auths' " +
                        "with empty credentials. Store it as type kubernetes.io/dockerconfigjson under .dockerconfigjson instead."));
                }
            }

            return new DockerConfigReadResult(ok ? new DockerConfig(entries) : DockerConfig.Empty, diagnostics);
        }
    }

    private static bool ReadEntries(JsonElement map, string path, List<DockerConfigEntry> entries, List<Diagnostic> diagnostics,
        Func<string, DiagnosticSeverity, string, string?, Diagnostic> make)
    {
        bool ok = true;
        var read = new List<DockerConfigEntry?>();
        var indexOf = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonProperty entry in map.EnumerateObject())
        {
            string server = JsonText.GetName(entry, out bool replaced);
            string entryPath = $"{path}[{ConfigKeys.Redact(server)}]";
            if (replaced)
            {
                diagnostics.Add(make("invalid-utf8", DiagnosticSeverity.Warning,
                    "the key holds bytes that are not UTF-8 (or an unpaired surrogate escape); the kubelet reads it with U+FFFD in their place.", entryPath));
            }

            RegistryCredential? credential = ReadEntry(entry.Value, entryPath, diagnostics, make);
            if (credential is null)
            {
                ok = false;
                continue;
            }

            if (indexOf.TryGetValue(server, out int existing))
            {
                // Go decodes into a map: a repeated key replaces the earlier value.
                diagnostics.Add(make("duplicate-server", DiagnosticSeverity.Warning,
                    "the key appears more than once; the kubelet keeps only the last one.", entryPath));
                read[existing] = null;
            }

            indexOf[server] = read.Count;
            read.Add(new DockerConfigEntry(server, credential));
        }

        foreach (DockerConfigEntry? e in read)
        {
            if (e is not null)
            {
                entries.Add(e);
            }
        }

        return ok;
    }

    private static RegistryCredential? ReadEntry(JsonElement value, string path, List<Diagnostic> diagnostics,
        Func<string, DiagnosticSeverity, string, string?, Diagnostic> make)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return new RegistryCredential("", "");
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            diagnostics.Add(make("json-wrong-type", DiagnosticSeverity.Error,
                $"the entry is a JSON {Kind(value)}, not an object; the kubelet refuses every pull that uses this secret.", path));
            return null;
        }

        string? username = null, password = null, email = null, auth = null, identityToken = null, registryToken = null;
        bool ok = true;
        foreach (JsonProperty field in value.EnumerateObject())
        {
            string fieldName = JsonText.GetName(field, out _);
            string name = GoFoldedName(fieldName);
            if (name is not ("username" or "password" or "email" or "auth" or "identitytoken" or "registrytoken"))
            {
                continue;
            }

            if (field.Value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            if (field.Value.ValueKind != JsonValueKind.String)
            {
                // The kubelet does not decode identitytoken/registrytoken, so a wrong type there is no error.
                if (name is "identitytoken" or "registrytoken")
                {
                    continue;
                }

                diagnostics.Add(make("json-wrong-type", DiagnosticSeverity.Error,
                    $"'{name}' is a JSON {Kind(field.Value)}, not a string; the kubelet refuses every pull that uses this secret.", $"{path}.{name}"));
                ok = false;
                continue;
            }

            string text = JsonText.GetString(field.Value, out bool replacedText);
            if (replacedText && name is "username" or "password" or "auth")
            {
                diagnostics.Add(make("invalid-utf8", DiagnosticSeverity.Warning,
                    $"'{name}' holds bytes that are not UTF-8 (or an unpaired surrogate escape); the kubelet reads it with U+FFFD in their place.", $"{path}.{name}"));
            }

            switch (name)
            {
                case "username": username = text; break;
                case "password": password = text; break;
                case "email": email = text; break;
                case "auth": auth = text; break;
                case "identitytoken": identityToken = text; break;
                default: registryToken = text; break;
            }
        }

        if (!ok)
        {
            return null;
        }

        if (!string.IsNullOrEmpty(auth))
        {
            bool padded = auth.Trim().EndsWith('=');
            if (!GoBase64.TryDecode(auth, padded, out byte[] decoded))
            {
                diagnostics.Add(make("auth-not-base64", DiagnosticSeverity.Error,
                    $"'auth' is not {(padded ? "padded" : "unpadded")} standard base64 (only \\r and \\n may appear inside; no spaces, no '-' or '_'); " +
                    "the kubelet refuses every pull that uses this secret. Set it to base64 of 'username:password'.", $"{path}.auth"));
                return null;
            }

            int colon = Array.IndexOf(decoded, (byte)':');
            if (colon < 0)
            {
                diagnostics.Add(make("auth-no-colon", DiagnosticSeverity.Error,
                    "'auth' decodes to text without ':'; it must be base64 of 'username:password'. The kubelet refuses every pull that uses this secret.", $"{path}.auth"));
                CryptographicClear(decoded);
                return null;
            }

            var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: false);
            string fromAuthUser = utf8.GetString(decoded, 0, colon);
            string fromAuthPassword = utf8.GetString(decoded, colon + 1, decoded.Length - colon - 1);
            if (!IsValidUtf8(decoded))
            {
                diagnostics.Add(make("auth-not-utf8", DiagnosticSeverity.Warning,
                    "'auth' decodes to bytes that are not valid UTF-8; they are shown with U+FFFD here, while the registry receives the raw bytes.", $"{path}.auth"));
            }

            if ((username is not null && username != fromAuthUser) || (password is not null && password != fromAuthPassword))
            {
                diagnostics.Add(make("auth-overrides-fields", DiagnosticSeverity.Warning,
                    "'auth' disagrees with 'username'/'password'; the kubelet uses 'auth'. Make them agree, or drop the separate fields.", $"{path}.auth"));
            }

            CryptographicClear(decoded);
            username = fromAuthUser;
            password = fromAuthPassword;
        }

        return new RegistryCredential(username ?? "", password ?? "", email, identityToken, registryToken);
    }

    private static bool CheckHeaders(JsonElement headers, List<Diagnostic> diagnostics, Func<string, DiagnosticSeverity, string, string?, Diagnostic> make)
    {
        if (headers.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        bool ok = headers.ValueKind == JsonValueKind.Object
            && headers.EnumerateObject().All(h => h.Value.ValueKind is JsonValueKind.String or JsonValueKind.Null);
        if (!ok)
        {
            diagnostics.Add(make("json-wrong-type", DiagnosticSeverity.Error,
                "'HttpHeaders' must be an object of strings; the kubelet refuses every pull that uses this secret.", ".HttpHeaders"));
        }

        return ok;
    }

    /// <summary>
    /// The single-entry <c>auth</c>-only JSON that Go's <c>json.Marshal</c> gives for Kyma's webhook struct, from raw Secret
    /// bytes. Unlike <see cref="TryEncode"/>, empty values are allowed (Kyma's webhook only checks that the keys exist).
    /// </summary>
    internal static byte[] EncodeAuthOnlyRaw(ReadOnlySpan<byte> server, byte[] user, byte[] pass)
    {
        var output = new ArrayBufferWriter<byte>(64 + (2 * (user.Length + pass.Length)) + server.Length);
        GoJson.Write(output, "{\"auths\":{"u8);
        GoJson.WriteString(output, server);
        GoJson.Write(output, ":{\"auth\":\""u8);
        WriteAuth(output, user, pass);
        GoJson.Write(output, "\"}}}"u8);
        return output.WrittenSpan.ToArray();
    }

    private static void WriteAuth(ArrayBufferWriter<byte> output, byte[] user, byte[] pass)
    {
        byte[] joined = new byte[user.Length + 1 + pass.Length];
        user.CopyTo(joined, 0);
        joined[user.Length] = (byte)':';
        pass.CopyTo(joined, user.Length + 1);
        int length = ((joined.Length + 2) / 3) * 4;
        Span<byte> destination = output.GetSpan(length);
        System.Buffers.Text.Base64.EncodeToUtf8(joined, destination, out _, out int written);
        output.Advance(written);
        CryptographicClear(joined);
    }

    private static bool IsValidUtf8(byte[] bytes) => System.Text.Unicode.Utf8.IsValid(bytes);

    private static void CryptographicClear(params byte[][] buffers)
    {
        foreach (byte[] buffer in buffers)
        {
            Array.Clear(buffer);
        }
    }

    /// <summary>A field name folded as Go's <c>encoding/json</c> matches names (<c>bytes.EqualFold</c>: 'ſ' is an 's', the Kelvin sign a 'k').</summary>
    private static string GoFoldedName(string name) => name.ToLowerInvariant().Replace('\u017f', 's');

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => "object",
    };

    // JsonException messages can quote input; keep only the position so a password in broken JSON is never echoed.
    private static string Describe(JsonException e) =>
        e.LineNumber is long line ? $"at line {line + 1}, byte {e.BytePositionInLine + 1}" : "unreadable";
}
