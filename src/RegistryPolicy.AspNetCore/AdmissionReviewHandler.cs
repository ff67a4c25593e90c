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
    private static readonly JsonWriterOptions WriteOptions = new() { Indented = false, SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Compiles a handler for one configuration version.</summary>
    /// <param name="configuration">The map, policy and exclusions.</param>
    public AdmissionReviewHandler(WebhookConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        Configuration = configuration;
        _query = new ReviewReader.WorkloadQuery(configuration.SwapOptions.DisableLabel, configuration.SwapOptions.DisableValue,
            configuration.SwapOptions.IncludeEphemeralContainers ?? configuration.Swapper?.Options.Dialect == SwapDialect.Reference ? 3 : 2);
    }

    private readonly ReviewReader.WorkloadQuery _query;

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
        // JSON text is UTF-8 (RFC 8259); checked once here (vectorised), so no string read later can be invalid UTF-8.
        if (!System.Text.Unicode.Utf8.IsValid(body.Span))
        {
            return BadRequest("the body is not valid UTF-8; JSON text must be UTF-8");
        }

        try
        {
            return Read(body, pods);
        }
        catch (InvalidOperationException)
        {
            // A string the reader cannot decode: invalid UTF-8, or an escaped lone surrogate. The API server never sends one.
            return BadRequest("a string in the body is not valid UTF-8 (or escapes a lone surrogate); JSON text must be UTF-8");
        }
    }

    private AdmissionAnswer Read(ReadOnlyMemory<byte> body, bool pods)
    {
        ReadOnlySpan<byte> json = body.Span;
        if (!ReviewReader.TryRead(json, pods ? _query : null, out ReviewReader.Envelope envelope, out string? error, out JsonTokenType root))
        {
            return BadRequest(error!);
        }

        if (root != JsonTokenType.StartObject)
        {
            return BadRequest($"expected an AdmissionReview object, found a JSON {Describe(root)}");
        }

        if (envelope.ApiVersion is null)
        {
            // The value itself is not quoted: an error body or log line never repeats what the body holds.
            return BadRequest(envelope.WrongApiVersion is not null
                ? "apiVersion must be admission.k8s.io/v1 (or v1beta1)"
                : "the review has no apiVersion; the API server sends admission.k8s.io/v1");
        }

        if (!envelope.ReviewKind)
        {
            return BadRequest("kind must be AdmissionReview");
        }

        if (!envelope.RequestPresent)
        {
            return BadRequest("the review has no request object");
        }

        if (envelope.Uid.Length <= 2)
        {
            return BadRequest("request.uid is missing or not a string; it must be echoed in the response");
        }

        var review = new Review(envelope.ApiVersion, body.Slice(envelope.Uid.Start, envelope.Uid.Length));
        switch (envelope.Operation)
        {
            case ReviewReader.Operation.Delete or ReviewReader.Operation.Connect:
                return review.Allow(AdmissionOutcome.Skipped, $"{envelope.Operation.ToString().ToUpperInvariant()} is allowed untouched");
            case not (ReviewReader.Operation.Create or ReviewReader.Operation.Update):
                return BadRequest("request.operation must be CREATE, UPDATE, DELETE or CONNECT");
        }

        if (envelope.SubResource.Length > 2)
        {
            return review.Allow(AdmissionOutcome.Skipped, $"subresource '{Clip(ReviewReader.Decode(Slice(json, envelope.SubResource)), 64)}' is allowed untouched");
        }

        bool update = envelope.Operation == ReviewReader.Operation.Update;
        if (envelope.ObjectToken != JsonTokenType.StartObject)
        {
            return BadRequest($"request.object must be an object for {(update ? "UPDATE" : "CREATE")}");
        }

        ReadOnlyMemory<byte> obj = body.Slice(envelope.Object.Start, envelope.Object.Length);
        ReadOnlyMemory<byte> kind = envelope.Kind.Length > 0 ? body.Slice(envelope.Kind.Start, envelope.Kind.Length)
            : ReviewReader.KindOf(obj.Span) is { Length: > 0 } k ? obj.Slice(k.Start, k.Length) : default;
        if (envelope.Namespace.Length > 0)
        {
            foreach (string excluded in Configuration.ExcludedNamespaces)
            {
                if (ReviewReader.Equals(Slice(json, envelope.Namespace), excluded))
                {
                    return review.Allow(AdmissionOutcome.Skipped, $"namespace '{excluded}' is excluded");
                }
            }
        }

        ReadOnlyMemory<byte> old = update && envelope.OldObject.Length > 0 ? body.Slice(envelope.OldObject.Start, envelope.OldObject.Length) : default;
        string? ns = envelope.Namespace.Length > 0 ? ReviewReader.Decode(Slice(json, envelope.Namespace)) : null;
        return pods ? SwapImages(review, kind.Span, obj, envelope.Object.Start, old.Span, envelope, body) : AdmitSecret(review, kind.Span, obj, ns, update);
    }

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> json, (int Start, int Length) range) => json.Slice(range.Start, range.Length);

    private static readonly string[] ListNames = ["containers", "initContainers", "ephemeralContainers"];

    private AdmissionAnswer SwapImages(Review review, ReadOnlySpan<byte> kind, ReadOnlyMemory<byte> obj, int objectStart, ReadOnlySpan<byte> old,
        ReviewReader.Envelope envelope, ReadOnlyMemory<byte> body)
    {
        if (Configuration.Swapper is not { } swapper)
        {
            return review.Allow(AdmissionOutcome.Skipped, "no image-swap map is configured");
        }

        if (kind.Length <= 2)
        {
            return review.Allow(AdmissionOutcome.Skipped, "the object has no kind");
        }

        bool pod = kind.SequenceEqual("\"Pod\""u8);
        string[] specPath = ReviewReader.SpecPath(kind);
        string path = specPath.Length switch
        {
            1 => "/spec",
            3 => "/spec/template/spec",
            _ => "/spec/jobTemplate/spec/template/spec",
        };
        if (specPath.Length == 0)
        {
            return review.Allow(AdmissionOutcome.Skipped, $"kind '{Clip(ReviewReader.Decode(kind), 64)}' has no Pod template this webhook rewrites");
        }

        WorkloadSwapOptions options = Configuration.SwapOptions;
        // As WorkloadSwapper (and so 'registry-policy swap') visits them: containers, initContainers, then ephemeral
        // containers where the dialect (or the options) include them; each image through the same ImageSwapper.Rewrite.
        // Read in the envelope's pass when the kind came first (the API server's order), else now.
        ReviewReader.Workload workload = (ReferenceEquals(envelope.WorkloadPath, specPath) ? envelope.Workload : null) ?? ReviewReader.ReadWorkload(obj.Span, objectStart, specPath, _query, metadata: true);
        if (workload.OptedOut)
        {
            return review.Allow(AdmissionOutcome.Skipped, $"the opt-out label {options.DisableLabel}={options.DisableValue} is set");
        }

        if (pod && workload.Mirror)
        {
            return review.Allow(AdmissionOutcome.Skipped, "a mirror pod is never mutated");
        }

        if (!workload.SpecFound)
        {
            return review.Allow(AdmissionOutcome.Skipped, $"the {ReviewReader.Decode(kind)} has no Pod spec at '{path}'");
        }

        List<ReviewReader.Container>? before = old.IsEmpty ? null
            : ((ReferenceEquals(envelope.OldWorkloadPath, specPath) ? envelope.OldWorkload : null) ?? ReviewReader.ReadWorkload(old, envelope.OldObject.Start, specPath, _query, metadata: false)).Containers;
        List<(int List, int Index, string Image)>? changes = null;
        List<string>? warnings = null;
        // In WorkloadSwapper's order whatever the order of the lists in the body: containers, initContainers, ephemeral.
        workload.Containers?.Sort(static (a, b) => a.List != b.List ? a.List.CompareTo(b.List) : a.Index.CompareTo(b.Index));
        foreach (ReviewReader.Container container in workload.Containers ?? [])
        {
            if (before is not null && before.Exists(c => c.List == container.List && c.Index == container.Index && c.Image == container.Image))
            {
                continue; // unchanged by this update: rewriting it now would restart the container
            }

            SwapResult swap = swapper.Rewrite(container.Image);
            // A rewrite into an invalid reference would make the kubelet fail the Pod (InvalidImageName): the image is left
            // as it is and the warning says why (upstream applies it; 'swap' reports it as an error).
            if (swap.Result != container.Image && !swap.ResultIsInvalid)
            {
                (changes ??= new(4)).Add((container.List, container.Index, swap.Result));
            }

            if (Warning(swap, container.Name.Length > 0 ? ReviewReader.Decode(body.Span.Slice(container.Name.Start, container.Name.Length)) : "?") is { } warning &&
                !(warnings ??= []).Contains(warning) && warnings.Count < MaxWarnings)
            {
                warnings.Add(warning);
            }
        }

        if (changes is null)
        {
            return review.Allow(AdmissionOutcome.Unchanged, "no image to rewrite", warnings: warnings);
        }

        return review.AllowPatch($"{changes.Count} image(s) rewritten", warnings, changes.Count, (changes, path), static (writer, state) =>
        {
            var (changes, path) = state;
            Span<char> pointer = stackalloc char[160];
            foreach (var (list, index, image) in changes)
            {
                writer.WriteStartObject();
                writer.WriteString("op"u8, "replace"u8);
                if (pointer.TryWrite($"{path}/{ListNames[list]}/{index}/image", out int written))
                {
                    writer.WriteString("path"u8, pointer[..written]);
                }
                else
                {
                    writer.WriteString("path"u8, $"{path}/{ListNames[list]}/{index}/image");
                }

                writer.WriteString("value"u8, image);
                writer.WriteEndObject();
            }
        });
    }

    private static string? Warning(SwapResult swap, string name)
    {
        if (swap.Rule is not (SwapRule.NoDefault or SwapRule.UpstreamError) && !swap.ResultIsInvalid)
        {
            return null;
        }

        string text = swap switch
        {
            { Rule: SwapRule.NoDefault } => "the image-swap map has no 'default' entry, so no image is swapped (imageswap-webhook's rule); add 'default::' to the map",
            { Rule: SwapRule.UpstreamError } => $"container '{name}': imageswap-webhook would fail here (map key '{swap.Key}'); the image '{swap.Image}' was left as is",
            _ => $"container '{name}': the map rewrites '{swap.Image}' to '{swap.Result}', which is not a valid image reference; the image was left as is",
        };
        return Clip(text, MaxWarningLength);
    }

    private static JsonElement Get(JsonElement element, ReadOnlySpan<byte> name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out JsonElement value) ? value : default;

    private AdmissionAnswer AdmitSecret(Review review, ReadOnlySpan<byte> kind, ReadOnlyMemory<byte> body, string? ns, bool update)
    {
        if (Configuration.Policy is not { } policy)
        {
            return review.Allow(AdmissionOutcome.Skipped, "no policy is configured");
        }

        if (!kind.SequenceEqual("\"Secret\""u8))
        {
            return review.Allow(AdmissionOutcome.Skipped, $"kind '{Clip(kind.Length > 2 ? ReviewReader.Decode(kind) : "?", 64)}' is not a Secret");
        }

        using JsonDocument document = JsonDocument.Parse(body, ReadOptions);
        JsonElement obj = document.RootElement;
        JsonElement metadata = Get(obj, "metadata"u8);
        ns = (metadata.ValueKind == JsonValueKind.Object ? StringOf(metadata, "namespace") : null) ?? ns;
        string operation = update ? "UPDATE" : "CREATE";

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
        var secret = new SecretObject(new ObjectMetadata(NameOf(metadata), ns) { Labels = StringsOf(Get(metadata, "labels"u8)) }, type, SecretData.Create(data));
        AdmissionResult result = PolicyEngine.Admit(policy, new AdmissionRequest(operation == "UPDATE" ? AdmissionOperation.Update : AdmissionOperation.Create, secret)
        {
            NamespaceSelectorApplied = true,
        });
        if (!result.Allowed)
        {
            return review.Deny(result.StatusCode, result.Reason);
        }

        ImmutableArray<JsonPatchOperation> patch = result.Patch;
        if (!patch.IsEmpty && !(obj.TryGetProperty("data"u8, out JsonElement present) && present.ValueKind == JsonValueKind.Object))
        {
            // The policy saw stringData merged into data, but this object has no data map to add a key to: add the map.
            var map = new System.Text.StringBuilder("{");
            foreach (JsonPatchOperation op in patch)
            {
                if (op.Op is "add" or "replace" && op.Path.StartsWith("/data/", StringComparison.Ordinal))
                {
                    string key = op.Path["/data/".Length..].Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
                    map.Append(map.Length > 1 ? "," : string.Empty).Append(JsonPatch.JsonString(key)).Append(':').Append(op.ValueJson);
                }
            }

            patch = [.. patch.Where(op => !op.Path.StartsWith("/data", StringComparison.Ordinal)), new JsonPatchOperation("add", "/data", map.Append('}').ToString())];
        }

        return patch.IsEmpty
            ? review.Allow(result.Selected ? AdmissionOutcome.Unchanged : AdmissionOutcome.Skipped, result.Reason)
            : review.Allow(AdmissionOutcome.Patched, result.Reason, patch);
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

    private static string? StringOf(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Describe(JsonTokenType kind) => kind switch
    {
        JsonTokenType.StartArray => "array",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
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

    /// <summary>The parts of the request echoed in the response, and the writers (one per thread, reused) that build it.</summary>
    private readonly record struct Review(string ApiVersion, ReadOnlyMemory<byte> Uid)
    {
        [ThreadStatic]
        private static Writers? t_writers;

        public AdmissionAnswer Allow(AdmissionOutcome outcome, string message, ImmutableArray<JsonPatchOperation> patch = default, List<string>? warnings = null) =>
            patch.IsDefaultOrEmpty
                ? Write(outcome, message, warnings, 0, default(ImmutableArray<JsonPatchOperation>), null)
                : Write(outcome == AdmissionOutcome.Unchanged ? AdmissionOutcome.Patched : outcome, message, warnings, patch.Length, patch, static (writer, ops) =>
                {
                    foreach (JsonPatchOperation op in ops)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("op"u8, op.Op);
                        writer.WriteString("path"u8, op.Path);
                        writer.WritePropertyName("value"u8);
                        writer.WriteRawValue(op.ValueJson, skipInputValidation: true);
                        writer.WriteEndObject();
                    }
                });

        public AdmissionAnswer AllowPatch<TState>(string message, List<string>? warnings, int operations, TState state, Action<Utf8JsonWriter, TState> writeOperations) =>
            Write(AdmissionOutcome.Patched, message, warnings, operations, state, writeOperations);

        public AdmissionAnswer Deny(int code, string message)
        {
            Writers w = t_writers ??= new Writers();
            Utf8JsonWriter writer = w.Start(ApiVersion, Uid);
            writer.WriteBoolean("allowed"u8, false);
            writer.WriteStartObject("status"u8);
            writer.WriteNumber("code"u8, code);
            writer.WriteString("message"u8, message);
            writer.WriteEndObject();
            return new AdmissionAnswer(200, w.Finish(), AdmissionOutcome.Denied, 0, message);
        }

        private AdmissionAnswer Write<TState>(AdmissionOutcome outcome, string message, List<string>? warnings, int operations, TState state, Action<Utf8JsonWriter, TState>? writeOperations)
        {
            Writers w = t_writers ??= new Writers();
            Utf8JsonWriter writer = w.Start(ApiVersion, Uid);
            writer.WriteBoolean("allowed"u8, true);
            if (writeOperations is not null)
            {
                writer.WriteString("patchType"u8, "JSONPatch"u8);
                writer.WriteBase64String("patch"u8, w.Patch(state, writeOperations));
            }

            if (warnings is { Count: > 0 })
            {
                writer.WriteStartArray("warnings"u8);
                foreach (string warning in warnings)
                {
                    writer.WriteStringValue(warning);
                }

                writer.WriteEndArray();
            }

            return new AdmissionAnswer(200, w.Finish(), outcome, operations, message);
        }
    }

    /// <summary>A thread's response and patch buffers: reused, so an answer allocates only its own bytes.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "One per thread for the thread's life; disposing a Utf8JsonWriter only flushes it.")]
    private sealed class Writers
    {
        private const int KeepAtMost = 1 << 20;
        private ArrayBufferWriter<byte> _output = new(1024);
        private ArrayBufferWriter<byte> _patch = new(512);
        private readonly Utf8JsonWriter _writer;
        private readonly Utf8JsonWriter _patchWriter;

        public Writers()
        {
            _writer = new Utf8JsonWriter(_output, WriteOptions);
            _patchWriter = new Utf8JsonWriter(_patch, WriteOptions);
        }

        public Utf8JsonWriter Start(string apiVersion, ReadOnlyMemory<byte> uid)
        {
            _output.ResetWrittenCount();
            _writer.Reset(_output);
            _writer.WriteStartObject();
            _writer.WriteString("apiVersion"u8, apiVersion);
            _writer.WriteString("kind"u8, "AdmissionReview"u8);
            _writer.WriteStartObject("response"u8);
            _writer.WritePropertyName("uid"u8);
            _writer.WriteRawValue(uid.Span, skipInputValidation: true); // the request's string token as it came (checked by the reader)
            return _writer;
        }

        public ReadOnlySpan<byte> Patch<TState>(TState state, Action<Utf8JsonWriter, TState> writeOperations)
        {
            _patch.ResetWrittenCount();
            _patchWriter.Reset(_patch);
            _patchWriter.WriteStartArray();
            writeOperations(_patchWriter, state);
            _patchWriter.WriteEndArray();
            _patchWriter.Flush();
            return _patch.WrittenSpan;
        }

        public byte[] Finish()
        {
            _writer.WriteEndObject();
            _writer.WriteEndObject();
            _writer.Flush();
            byte[] body = _output.WrittenSpan.ToArray();
            // A huge answer (thousands of containers) must not pin its buffers to the thread.
            if (_output.Capacity > KeepAtMost)
            {
                _output = new ArrayBufferWriter<byte>(1024);
            }

            if (_patch.Capacity > KeepAtMost)
            {
                _patch = new ArrayBufferWriter<byte>(512);
            }

            return body;
        }
    }
}
