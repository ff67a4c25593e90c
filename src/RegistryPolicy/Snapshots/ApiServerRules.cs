using System.Text.Json;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Snapshots;

/// <summary>
/// What the API server refuses to store, for the fields a snapshot reads (<c>ValidateObjectMeta</c>, <c>ValidateSecret</c>):
/// an object it refuses never exists in a cluster, so the reader treats it as absent, with an error that says why. Each
/// check returns the reason, or <see langword="null"/> when the value is accepted.
/// </summary>
internal static class ApiServerRules
{
    /// <summary>The most a Secret's data may hold (<c>MaxSecretSize</c>).</summary>
    public const int MaxSecretBytes = 1024 * 1024;

    /// <summary>The most all annotations of an object may hold (<c>TotalAnnotationSizeLimitB</c>).</summary>
    public const int MaxAnnotationBytes = 256 * 1024;

    /// <summary>Why the API server refuses this name for this kind, or null.</summary>
    public static string? NameProblem(string kind, string name) => kind switch
    {
        "Namespace" => KubernetesNames.IsDns1123Label(name) ? null
            : "a Namespace name must be a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
        "CronJob" when name.Length > 52 => "a CronJob name must be at most 52 characters (the Jobs it creates add 11)",
        _ => KubernetesNames.IsDns1123Subdomain(name) ? null
            : $"a {kind} name must be a DNS-1123 subdomain: at most 253 lower-case letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit",
    };

    /// <summary>Why the API server refuses this namespace name in <c>metadata.namespace</c>, or null.</summary>
    public static string? NamespaceProblem(string name) => KubernetesNames.IsDns1123Label(name) ? null
        : "'metadata.namespace' must be a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit";

    /// <summary>Why the API server refuses this label, or null.</summary>
    public static string? LabelProblem(string key, string value) =>
        !KubernetesNames.IsQualifiedName(key)
            ? "the label key is not a qualified name: an optional DNS-1123 subdomain prefix and '/', then at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
            : !KubernetesNames.IsLabelValue(value)
                ? "the label value must be empty or at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
                : null;

    /// <summary>Why the API server refuses this annotation key, or null.</summary>
    public static string? AnnotationKeyProblem(string key) => KubernetesNames.IsAnnotationKey(key) ? null
        : "the annotation key is not a qualified name: an optional DNS-1123 subdomain prefix and '/', then at most 63 letters, digits, '-', '_' and '.'";

    /// <summary>Why the API server refuses annotations this large, or null.</summary>
    public static string? AnnotationSizeProblem(StringMap annotations)
    {
        long total = 0;
        foreach (var (key, value) in annotations.Entries)
        {
            total += key.Length + System.Text.Encoding.UTF8.GetByteCount(value);
        }

        return total > MaxAnnotationBytes ? $"the annotations hold more than {MaxAnnotationBytes / 1024} KiB, the API server's limit" : null;
    }

    /// <summary>Why the API server refuses this finalizer, or null.</summary>
    public static string? FinalizerProblem(string finalizer) => KubernetesNames.IsQualifiedName(finalizer) ? null
        : "a finalizer must be a qualified name, for example 'example.com/cleanup'";

    /// <summary>Why the API server refuses this Secret or ConfigMap data key, or null.</summary>
    public static string? DataKeyProblem(string key) => KubernetesNames.IsDataKey(key) ? null
        : "a data key must be at most 253 letters, digits, '-', '_' and '.', and not '.', '..' or start with '..'";

    /// <summary>Why the API server refuses a Secret of this type with this content (<c>ValidateSecret</c>), or null.</summary>
    public static string? SecretProblem(string type, SecretData data, StringMap annotations) => SecretProblemAt(type, data, annotations)?.Message;

    /// <summary>As <see cref="SecretProblem"/>, with the field the problem is in (<c>data[.dockerconfigjson]</c>, say).</summary>
    public static (string Field, string Message)? SecretProblemAt(string type, SecretData data, StringMap annotations)
    {
        if (data.TotalLength > MaxSecretBytes)
        {
            return ("data", "the data holds more than 1 MiB, the API server's limit for a Secret");
        }

        return type switch
        {
            "kubernetes.io/dockerconfigjson" => JsonObjectProblem(data, ".dockerconfigjson", type),
            "kubernetes.io/dockercfg" => JsonObjectProblem(data, ".dockercfg", type),
            "kubernetes.io/basic-auth" when !data.ContainsKey("username") && !data.ContainsKey("password") =>
                ("data[username]", "a kubernetes.io/basic-auth Secret must have 'username' or 'password' in its data"),
            "kubernetes.io/ssh-auth" when !data.ContainsKey("ssh-privatekey") =>
                ("data[ssh-privatekey]", "a kubernetes.io/ssh-auth Secret must have 'ssh-privatekey' in its data"),
            "kubernetes.io/tls" when !data.ContainsKey("tls.crt") || !data.ContainsKey("tls.key") =>
                (data.ContainsKey("tls.crt") ? "data[tls.key]" : "data[tls.crt]", "a kubernetes.io/tls Secret must have both 'tls.crt' and 'tls.key' in its data"),
            "kubernetes.io/service-account-token" when !annotations.ContainsKey("kubernetes.io/service-account.name") =>
                ("metadata.annotations[kubernetes.io/service-account.name]", "a kubernetes.io/service-account-token Secret must have the annotation 'kubernetes.io/service-account.name'"),
            _ => null,
        };
    }

    /// <summary>Whether <see cref="SecretProblem"/> reads the content of a Secret of this type (not just its keys).</summary>
    public static bool ChecksContent(string type) => type is "kubernetes.io/dockerconfigjson" or "kubernetes.io/dockercfg"
        or "kubernetes.io/basic-auth" or "kubernetes.io/ssh-auth" or "kubernetes.io/tls";

    /// <summary>Whether every rule above accepts the object (the fast JSON path declines an object that any refuses).</summary>
    public static bool Accepts(KubeObject obj)
    {
        ObjectMetadata meta = obj.Metadata;
        if (NameProblem(obj.Kind, meta.Name) is not null || (meta.Namespace is { } ns && NamespaceProblem(ns) is not null))
        {
            return false;
        }

        foreach (var (key, value) in meta.Labels.Entries)
        {
            if (LabelProblem(key, value) is not null)
            {
                return false;
            }
        }

        foreach (var (key, _) in meta.Annotations.Entries)
        {
            if (AnnotationKeyProblem(key) is not null)
            {
                return false;
            }
        }

        if (AnnotationSizeProblem(meta.Annotations) is not null)
        {
            return false;
        }

        foreach (string finalizer in meta.Finalizers.AsSpan())
        {
            if (FinalizerProblem(finalizer) is not null)
            {
                return false;
            }
        }

        if (obj is SecretObject secret)
        {
            for (int i = 0; i < secret.Data.Count; i++)
            {
                if (DataKeyProblem(secret.Data.KeyAt(i)) is not null)
                {
                    return false;
                }
            }

            return SecretProblem(secret.Type, secret.Data, meta.Annotations) is null;
        }

        return true;
    }

    /// <summary>The API server only checks that the content is a JSON object (<c>json.Unmarshal</c> into a map; <c>null</c> passes).</summary>
    private static (string, string)? JsonObjectProblem(SecretData data, string key, string type)
    {
        if (!data.TryGetBytes(key, out ReadOnlyMemory<byte> content))
        {
            return ($"data[{key}]", $"a {type} Secret must have '{key}' in its data");
        }

        return IsJsonObjectOrNull(content.Span) ? null : ($"data[{key}]", $"'{key}' must be a JSON object (the API server parses it); it is not");
    }

    private static bool IsJsonObjectOrNull(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 10_000 });
        try
        {
            if (!reader.Read() || reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.Null))
            {
                return false;
            }

            reader.Skip();
            return !reader.Read(); // nothing may follow the value
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
