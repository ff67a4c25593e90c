using System.Buffers;
using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using RegistryPolicy.Policies;
using RegistryPolicy.Primitives;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Swap;

namespace RegistryPolicy.AspNetCore;

/// <summary>
/// Answers <c>admission.k8s.io/v1</c> AdmissionReviews as the API server expects them: the request's <c>uid</c>, apiVersion
/// and kind echoed; a base64 RFC 6902 patch with <c>patchType: JSONPatch</c>, or no patch when nothing changes; DELETE,
/// CONNECT and subresource requests allowed untouched. Patches are computed on the raw request JSON (no typed model, so no
/// field is dropped or normalised). Framework-free, so it can serve any HTTP stack. Never throws for bad input: a body that
/// is not a review gets a 400 answer with the reason. Immutable and thread-safe.
/// </summary>
public sealed class AdmissionReviewHandler
{
    /// <summary>At most this many warnings per answer, each at most <see cref="MaxWarningLength"/> characters.</summary>
    public const int MaxWarnings = 8;

    /// <summary>The longest warning sent (the API server's advice for admission warnings).</summary>
    public const int MaxWarningLength = 256;

    private static readonly JsonDocumentOptions ReadOptions = new() { MaxDepth = 256 };
    private static readonly JsonWriterOptions WriteOptions = new() { Indented = false, SkipValidation = true };

    /// <summary>Compiles a handler for one configuration version.</summary>
    /// <param name="configuration">The map, policy and exclusions.</param>
    public AdmissionReviewHandler(WebhookConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        Configuration = configuration;
    }

    /// <summary>The configuration answered with.</summary>
    public WebhookConfiguration Configuration { get; }

    /// <summary>
    /// The image-swap webhook: for a Pod, or a workload with a Pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet,
    /// Job, CronJob), the images the map rewrites, as <c>replace</c> operations on each changed <c>image</c>. On UPDATE only
    /// images that differ from <c>oldObject</c> are rewritten, so an update never restarts a container the map did not
    /// already rewrite. An image that already points at a map target is left alone, so a second pass answers no patch.
    /// </summary>
    /// <param name="review">The request body.</param>
    /// <returns>The answer.</returns>
    public AdmissionAnswer MutatePods(ReadOnlyMemory<byte> review) => Answer(review, pods: true);

    /// <summary>The Secret-defaulting webhook: what the policy's admission rule answers (see <see cref="PolicyEngine.Admit"/>).</summary>
    /// <param name="review">The request body.</param>
    /// <returns>The answer; its body holds credentials only inside the base64 patch, as the API server needs.</returns>
    public AdmissionAnswer MutateSecrets(ReadOnlyMemory<byte> review) => Answer(review, pods: false);

    private AdmissionAnswer Answer(ReadOnlyMemory<byte> body, bool pods)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, ReadOptions);
        }
        catch (JsonException e)
        {
            // The reader's message names the line and byte position, never the text.
            return BadRequest($"the body is not JSON: {e.Message}");
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return BadRequest($"expected an AdmissionReview object, found a JSON {Describe(root.ValueKind)}");
            }

            string? apiVersion = StringOf(root, "apiVersion");
            if (apiVersion is not ("admission.k8s.io/v1" or "admission.k8s.io/v1beta1"))
            {
                return BadRequest(apiVersion is null
                    ? "the review has no apiVersion; the API server sends admission.k8s.io/v1"
                    : "apiVersion must be admission.k8s.io/v1 (or v1beta1), not " + Clip(apiVersion, 64));
            }

            if (StringOf(root, "kind") != "AdmissionReview")
            {
                return BadRequest("kind must be AdmissionReview");
            }

            if (!root.TryGetProperty("request"u8, out JsonElement request) || request.ValueKind != JsonValueKind.Object)
            {
                return BadRequest("the review has no request object");
            }

            string? uid = StringOf(request, "uid");
            if (string.IsNullOrEmpty(uid))
            {
                return BadRequest("request.uid is missing or not a string; it must be echoed in the response");
            }

            var review = new Review(apiVersion, uid);
            string operation = StringOf(request, "operation") ?? string.Empty;
            if (operation is "DELETE" or "CONNECT")
            {
                return review.Allow(AdmissionOutcome.Skipped, $"{operation} is allowed untouched");
            }

            if (operation is not ("CREATE" or "UPDATE"))
            {
                return BadRequest("request.operation must be CREATE, UPDATE, DELETE or CONNECT");
            }

            if (StringOf(request, "subResource") is { Length: > 0 } subResource)
            {
                return review.Allow(AdmissionOutcome.Skipped, $"subresource '{Clip(subResource, 64)}' is allowed untouched");
            }

            if (!request.TryGetProperty("object"u8, out JsonElement obj) || obj.ValueKind != JsonValueKind.Object)
            {
                return BadRequest($"request.object must be an object for {operation}");
            }

            string? kind = request.TryGetProperty("kind"u8, out JsonElement gvk) && gvk.ValueKind == JsonValueKind.Object ? StringOf(gvk, "kind") : null;
            kind ??= StringOf(obj, "kind");
            JsonElement metadata = obj.TryGetProperty("metadata"u8, out JsonElement m) && m.ValueKind == JsonValueKind.Object ? m : default;
            string? ns = (metadata.ValueKind == JsonValueKind.Object ? StringOf(metadata, "namespace") : null) ?? StringOf(request, "namespace");
            if (ns is not null && Configuration.ExcludedNamespaces.Contains(ns))
            {
                return review.Allow(AdmissionOutcome.Skipped, $"namespace '{ns}' is excluded");
            }

            JsonElement old = operation == "UPDATE" && request.TryGetProperty("oldObject"u8, out JsonElement o) && o.ValueKind == JsonValueKind.Object ? o : default;
            return pods
                ? SwapImages(review, kind, obj, metadata, ns, old)
                : AdmitSecret(review, kind, obj, metadata, ns, operation);
        }
    }

    private AdmissionAnswer SwapImages(Review review, string? kind, JsonElement obj, JsonElement metadata, string? ns, JsonElement old)
    {
        if (Configuration.Swapper is not { } swapper)
        {
            return review.Allow(AdmissionOutcome.Skipped, "no image-swap map is configured");
        }

        (string? path, JsonElement spec, JsonElement oldSpec) = kind switch
        {
            "Pod" => ("/spec", Get(obj, "spec"), Get(old, "spec")),
            "CronJob" => ("/spec/jobTemplate/spec/template/spec", Get(obj, "spec", "jobTemplate", "spec", "template", "spec"), Get(old, "spec", "jobTemplate", "spec", "template", "spec")),
            "Deployment" or "StatefulSet" or "DaemonSet" or "ReplicaSet" or "Job" => ("/spec/template/spec", Get(obj, "spec", "template", "spec"), Get(old, "spec", "template", "spec")),
            _ => (null, default, default),
        };
        if (path is null)
        {
            return review.Allow(AdmissionOutcome.Skipped, $"kind '{Clip(kind ?? "?", 64)}' has no Pod template this webhook rewrites");
        }

        if (spec.ValueKind != JsonValueKind.Object)
        {
            return review.Allow(AdmissionOutcome.Skipped, $"the {kind} has no Pod spec at '{path}'");
        }

        StringMap labels = metadata.ValueKind == JsonValueKind.Object ? StringsOf(Get(metadata, "labels")) : StringMap.Empty;
        if (kind == "Pod" && Get(metadata, "annotations").ValueKind == JsonValueKind.Object && Get(metadata, "annotations").TryGetProperty("kubernetes.io/config.mirror"u8, out _))
        {
            return review.Allow(AdmissionOutcome.Skipped, "a mirror pod is never mutated");
        }

        var containers = new List<ContainerSpec>(4);
        Collect(spec, oldSpec, "containers", ContainerRole.Container, containers);
        Collect(spec, oldSpec, "initContainers", ContainerRole.InitContainer, containers);
        Collect(spec, oldSpec, "ephemeralContainers", ContainerRole.EphemeralContainer, containers);
        var workload = new WorkloadObject(kind!, new ObjectMetadata(NameOf(metadata), ns) { Labels = labels },
            new PodTemplate(path, null, default, new ValueArray<ContainerSpec>(containers)));
        WorkloadSwap swap = swapper.RewriteWorkload(workload, Configuration.SwapOptions);
        if (swap.Disabled)
        {
            return review.Allow(AdmissionOutcome.Skipped, $"the opt-out label {Configuration.SwapOptions.DisableLabel}={Configuration.SwapOptions.DisableValue} is set");
        }

        List<string>? warnings = null;
        foreach (ContainerSwap c in swap.Containers)
        {
            string? warning = c.Swap switch
            {
                { Rule: SwapRule.NoDefault } => "the image-swap map has no 'default' entry, so no image is swapped (imageswap-webhook's rule); add 'default::' to the map",
                { Rule: SwapRule.UpstreamError } => $"container '{c.Container.Name}': imageswap-webhook would fail here (map key '{c.Swap.Key}'); the image '{c.Swap.Image}' was left as is",
                { ResultIsInvalid: true } => $"container '{c.Container.Name}': the map rewrites '{c.Swap.Image}' to '{c.Swap.Result}', which is not a valid image reference",
                _ => null,
            };
            if (warning is not null && !(warnings ??= []).Contains(warning) && warnings.Count < MaxWarnings)
            {
                warnings.Add(Clip(warning, MaxWarningLength));
            }
        }

        return swap.Patch.IsEmpty
            ? review.Allow(AdmissionOutcome.Unchanged, "no image to rewrite", warnings: warnings)
            : review.Allow(AdmissionOutcome.Patched, $"{swap.Patch.Length} image(s) rewritten", swap.Patch, warnings);
    }

    /// <summary>The containers of one list, skipping on UPDATE those whose image is the same as in the old object.</summary>
    private static void Collect(JsonElement spec, JsonElement oldSpec, string list, ContainerRole role, List<ContainerSpec> output)
    {
        if (!spec.TryGetProperty(list, out JsonElement items) || items.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        JsonElement oldItems = oldSpec.ValueKind == JsonValueKind.Object && oldSpec.TryGetProperty(list, out JsonElement oi) && oi.ValueKind == JsonValueKind.Array ? oi : default;
        int oldCount = oldItems.ValueKind == JsonValueKind.Array ? oldItems.GetArrayLength() : 0;
        int index = 0;
        foreach (JsonElement container in items.EnumerateArray())
        {
            int i = index++;
            if (container.ValueKind != JsonValueKind.Object || !container.TryGetProperty("image"u8, out JsonElement image) || image.ValueKind != JsonValueKind.String)
            {
                continue;
            }

            if (i < oldCount && oldItems[i].ValueKind == JsonValueKind.Object && oldItems[i].TryGetProperty("image"u8, out JsonElement oldImage) &&
                oldImage.ValueKind == JsonValueKind.String && oldImage.ValueEquals(image.GetString()))
            {
                continue; // unchanged by this update: rewriting it now would restart the container
            }

            string name = container.TryGetProperty("name"u8, out JsonElement n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : string.Empty;
            output.Add(new ContainerSpec(role, i, name, image.GetString()!, null));
        }
    }

    private AdmissionAnswer AdmitSecret(Review review, string? kind, JsonElement obj, JsonElement metadata, string? ns, string operation)
    {
        if (Configuration.Policy is not { } policy)
        {
            return review.Allow(AdmissionOutcome.Skipped, "no policy is configured");
        }

        if (kind != "Secret")
        {
            return review.Allow(AdmissionOutcome.Skipped, $"kind '{Clip(kind ?? "?", 64)}' is not a Secret");
        }

        var data = new List<KeyValuePair<string, byte[]>>();
        if (obj.TryGetProperty("data"u8, out JsonElement d) && d.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty p in d.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }

                if (p.Value.ValueKind != JsonValueKind.String || !p.Value.TryGetBytesFromBase64(out byte[]? bytes))
                {
                    // The API server refuses such a Secret after mutation; no value is quoted.
                    return review.Allow(AdmissionOutcome.Unchanged, $"data key '{Clip(p.Name, 64)}' is not base64; the Secret is left for the API server to refuse",
                        warnings: [Clip($"Secret data key '{p.Name}' is not base64, so the defaulting webhook left the Secret unchanged", MaxWarningLength)]);
                }

                Put(data, p.Name, bytes);
            }
        }

        if (obj.TryGetProperty("stringData"u8, out JsonElement sd) && sd.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty p in sd.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.String)
                {
                    Put(data, p.Name, Encoding.UTF8.GetBytes(p.Value.GetString()!));
                }
            }
        }

        string type = StringOf(obj, "type") ?? SecretObject.OpaqueType;
        var secret = new SecretObject(new ObjectMetadata(NameOf(metadata), ns) { Labels = StringsOf(Get(metadata, "labels")) }, type, SecretData.Create(data));
        AdmissionResult result = PolicyEngine.Admit(policy, new AdmissionRequest(operation == "UPDATE" ? AdmissionOperation.Update : AdmissionOperation.Create, secret)
        {
            NamespaceSelectorApplied = true,
        });
        if (!result.Allowed)
        {
            return review.Deny(result.StatusCode, result.Reason);
        }

        return result.Patch.IsEmpty
            ? review.Allow(result.Selected ? AdmissionOutcome.Unchanged : AdmissionOutcome.Skipped, result.Reason)
            : review.Allow(AdmissionOutcome.Patched, result.Reason, result.Patch);
    }

    private static void Put(List<KeyValuePair<string, byte[]>> data, string key, byte[] value)
    {
        int at = data.FindIndex(e => e.Key == key);
        if (at >= 0)
        {
            data[at] = new(key, value);
        }
        else
        {
            data.Add(new(key, value));
        }
    }

    private static string NameOf(JsonElement metadata) =>
        metadata.ValueKind != JsonValueKind.Object ? string.Empty : StringOf(metadata, "name") ?? StringOf(metadata, "generateName") ?? string.Empty;

    private static StringMap StringsOf(JsonElement map)
    {
        if (map.ValueKind != JsonValueKind.Object)
        {
            return StringMap.Empty;
        }

        var entries = new List<KeyValuePair<string, string>>();
        foreach (JsonProperty p in map.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.String)
            {
                entries.Add(new(p.Name, p.Value.GetString()!));
            }
        }

        return entries.Count == 0 ? StringMap.Empty : StringMap.Create(entries);
    }

    private static JsonElement Get(JsonElement element, params ReadOnlySpan<string> path)
    {
        foreach (string name in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element))
            {
                return default;
            }
        }

        return element;
    }

    private static string? StringOf(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => "null",
    };

    /// <summary>Cuts text to a length, on a character boundary, and escapes control characters.</summary>
    internal static string Clip(string text, int max)
    {
        var builder = new StringBuilder(Math.Min(text.Length, max));
        foreach (Rune rune in text.EnumerateRunes())
        {
            string piece = Rune.IsControl(rune) ? $"\\u{rune.Value:x4}" : rune.ToString();
            if (builder.Length + piece.Length > max - (text.Length > max ? 3 : 0))
            {
                return builder.Append("...").ToString();
            }

            builder.Append(piece);
        }

        return builder.ToString();
    }

    private static AdmissionAnswer BadRequest(string message) =>
        new(400, Encoding.UTF8.GetBytes(message + "\n"), AdmissionOutcome.BadRequest, 0, message);

    /// <summary>The parts of the request echoed in the response.</summary>
    private readonly record struct Review(string ApiVersion, string Uid)
    {
        public AdmissionAnswer Allow(AdmissionOutcome outcome, string message, ImmutableArray<JsonPatchOperation> patch = default, List<string>? warnings = null)
        {
            var output = new ArrayBufferWriter<byte>(256);
            using (var writer = Start(output))
            {
                writer.WriteBoolean("allowed"u8, true);
                if (!patch.IsDefaultOrEmpty)
                {
                    writer.WriteString("patchType"u8, "JSONPatch"u8);
                    writer.WriteBase64String("patch"u8, PatchBytes(patch));
                }

                Warnings(writer, warnings);
                End(writer);
            }

            return new AdmissionAnswer(200, output.WrittenMemory, outcome, patch.IsDefault ? 0 : patch.Length, message);
        }

        public AdmissionAnswer Deny(int code, string message)
        {
            var output = new ArrayBufferWriter<byte>(256);
            using (var writer = Start(output))
            {
                writer.WriteBoolean("allowed"u8, false);
                writer.WriteStartObject("status"u8);
                writer.WriteNumber("code"u8, code);
                writer.WriteString("message"u8, message);
                writer.WriteEndObject();
                End(writer);
            }

            return new AdmissionAnswer(200, output.WrittenMemory, AdmissionOutcome.Denied, 0, message);
        }

        private Utf8JsonWriter Start(ArrayBufferWriter<byte> output)
        {
            var writer = new Utf8JsonWriter(output, WriteOptions);
            writer.WriteStartObject();
            writer.WriteString("apiVersion"u8, ApiVersion);
            writer.WriteString("kind"u8, "AdmissionReview"u8);
            writer.WriteStartObject("response"u8);
            writer.WriteString("uid"u8, Uid);
            return writer;
        }

        private static void End(Utf8JsonWriter writer)
        {
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        private static void Warnings(Utf8JsonWriter writer, List<string>? warnings)
        {
            if (warnings is not { Count: > 0 })
            {
                return;
            }

            writer.WriteStartArray("warnings"u8);
            foreach (string warning in warnings)
            {
                writer.WriteStringValue(warning);
            }

            writer.WriteEndArray();
        }

        private static byte[] PatchBytes(ImmutableArray<JsonPatchOperation> patch)
        {
            var output = new ArrayBufferWriter<byte>(128 * patch.Length);
            using (var writer = new Utf8JsonWriter(output, WriteOptions))
            {
                writer.WriteStartArray();
                foreach (JsonPatchOperation op in patch)
                {
                    writer.WriteStartObject();
                    writer.WriteString("op"u8, op.Op);
                    writer.WriteString("path"u8, op.Path);
                    writer.WritePropertyName("value"u8);
                    writer.WriteRawValue(op.ValueJson, skipInputValidation: true);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            return output.WrittenSpan.ToArray();
        }
    }
}
