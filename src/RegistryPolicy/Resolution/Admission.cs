using System.Collections.Immutable;
using System.Text;
using RegistryPolicy.Credentials;
using RegistryPolicy.Policies;
using RegistryPolicy.Primitives;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Resolution;

/// <summary>A Secret sent to the defaulting webhook. Immutable and thread-safe.</summary>
/// <param name="Operation">Create or update.</param>
/// <param name="Secret">The Secret as the API server passes it (<c>stringData</c> already merged into <c>data</c>).</param>
public sealed record AdmissionRequest(AdmissionOperation Operation, SecretObject Secret)
{
    /// <summary>The labels of the Secret's namespace, for the webhook's namespace selector; null when unknown (treated as none).</summary>
    public StringMap? NamespaceLabels { get; init; }

    /// <summary>
    /// Whether the namespace selector was already applied by the API server (a webhook host, registered with the policy's
    /// namespace selector, knows only that it was called): then <see cref="NamespaceLabels"/> is not consulted.
    /// </summary>
    public bool NamespaceSelectorApplied { get; init; }
}

/// <summary>What the defaulting webhook answers. Immutable and thread-safe.</summary>
public sealed record AdmissionResult
{
    /// <summary>Whether the request is allowed.</summary>
    public required bool Allowed { get; init; }

    /// <summary>Whether the webhook receives this request at all (selectors and operations match).</summary>
    public required bool Selected { get; init; }

    /// <summary>The HTTP-style code of the webhook's answer (200 allowed, 500 refused, as Kyma's webhook answers).</summary>
    public int StatusCode { get; init; } = 200;

    /// <summary>The JSON patch against the request's object; empty when nothing changes.</summary>
    public ImmutableArray<JsonPatchOperation> Patch { get; init; } = [];

    /// <summary>The object after the patch; <see langword="null"/> when refused.</summary>
    public SecretObject? MutatedSecret { get; init; }

    /// <summary>Why, for people. Never contains credentials.</summary>
    public required string Reason { get; init; }
}

internal static class Admission
{
    public static AdmissionResult Admit(CompiledPolicy policy, AdmissionRequest request)
    {
        SecretObject secret = request.Secret;
        AdmissionRule? rule = policy.Document.Spec.Admission;
        if (rule is null)
        {
            return Unchanged(secret, false, "the policy has no admission rule: no webhook mutates Secrets");
        }

        if (!rule.Operations.Contains(request.Operation))
        {
            return Unchanged(secret, false, $"the webhook is not called for {request.Operation.ToString().ToUpperInvariant()}");
        }

        if (!policy.AdmissionSelector!.Matches(secret.Metadata.Labels))
        {
            return Unchanged(secret, false, $"the webhook's object selector ({policy.AdmissionSelector.Text}) does not select this Secret; it is stored as sent");
        }

        if (!request.NamespaceSelectorApplied && !policy.AdmissionNamespaceSelector!.Matches(request.NamespaceLabels ?? StringMap.Empty))
        {
            return Unchanged(secret, false, $"the webhook's namespace selector ({policy.AdmissionNamespaceSelector.Text}) does not select namespace '{secret.Namespace}'");
        }

        foreach (string key in rule.RequiredKeys)
        {
            if (!secret.Data.ContainsKey(key))
            {
                return new AdmissionResult
                {
                    Allowed = false,
                    Selected = true,
                    StatusCode = 500,
                    Reason = rule.MissingKeyMessage.Replace("{key}", key, StringComparison.Ordinal),
                };
            }
        }

        DockerConfigWrite writes = rule.Writes;
        byte[] server = Bytes(secret.Data, writes.ServerKey);
        byte[] user = Bytes(secret.Data, writes.UsernameKey);
        byte[] pass = Bytes(secret.Data, writes.PasswordKey);
        byte[] json;
        if (writes.Layout == DockerConfigLayout.AuthOnly)
        {
            json = DockerConfigJson.EncodeAuthOnlyRaw(server, user, pass);
        }
        else if (!DockerConfigJson.TryEncode(Encoding.UTF8.GetString(server), Encoding.UTF8.GetString(user), Encoding.UTF8.GetString(pass), null,
                     DockerConfigLayout.Kubectl, out byte[]? encoded, out string? error))
        {
            return new AdmissionResult { Allowed = false, Selected = true, StatusCode = 500, Reason = error };
        }
        else
        {
            json = encoded;
        }

        if (secret.Data.TryGetBytes(writes.Key, out ReadOnlyMemory<byte> current) && current.Span.SequenceEqual(json))
        {
            return Unchanged(secret, true, $"'{writes.Key}' already holds what the webhook writes; no patch");
        }

        string value = "\"" + Convert.ToBase64String(json) + "\"";
        JsonPatchOperation patch = secret.Data.Count == 0
            ? new JsonPatchOperation("add", "/data", "{" + JsonString(writes.Key) + ":" + value + "}")
            : new JsonPatchOperation(secret.Data.ContainsKey(writes.Key) ? "replace" : "add", "/data/" + Pointer(writes.Key), value);
        return new AdmissionResult
        {
            Allowed = true,
            Selected = true,
            Patch = [patch],
            MutatedSecret = secret with { Data = secret.Data.With(writes.Key, json) },
            Reason = $"'{writes.Key}' {(patch.Op == "replace" ? "replaced" : "set")} from '{writes.ServerKey}', '{writes.UsernameKey}' and '{writes.PasswordKey}' ({writes.Layout} layout)",
        };
    }

    private static AdmissionResult Unchanged(SecretObject secret, bool selected, string reason) =>
        new() { Allowed = true, Selected = selected, MutatedSecret = secret, Reason = reason };

    private static byte[] Bytes(SecretData data, string key) => data.TryGetBytes(key, out ReadOnlyMemory<byte> value) ? value.ToArray() : [];

    private static string Pointer(string key) => key.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static string JsonString(string value)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        GoJson.WriteString(output, value);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }
}
