using System.Text.Json;

namespace RegistryPolicy.AspNetCore;

/// <summary>
/// One forward pass over an AdmissionReview with <see cref="Utf8JsonReader"/>: the envelope's few fields are read, the
/// object and old object are located as byte ranges (read later, only the parts needed), and everything else is skipped
/// without being decoded. The whole body is still checked as JSON (depth at most 256, nothing after the review). A
/// repeated key takes its last value, as Go's decoder (and so the API server) does.
/// </summary>
internal static class ReviewReader
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = 256 };

    public enum Operation
    {
        Missing,
        Create,
        Update,
        Delete,
        Connect,
        Other,
    }

    /// <summary>What the envelope says. Ranges are (start, length) in the body; a length of 0 means absent.</summary>
    public struct Envelope
    {
        public string? ApiVersion;
        public string? WrongApiVersion;
        public bool ReviewKind;
        public bool RequestPresent;
        public (int Start, int Length) Uid;
        public Operation Operation;
        public (int Start, int Length) SubResource;
        public (int Start, int Length) Namespace;
        public (int Start, int Length) Kind;
        public (int Start, int Length) Object;
        public JsonTokenType ObjectToken;
        public (int Start, int Length) OldObject;

        /// <summary>The object's workload facts, when read in the same pass (offsets in the body).</summary>
        public Workload? Workload;

        /// <summary>The old object's, likewise.</summary>
        public Workload? OldWorkload;

        /// <summary>The spec paths those were read with (a kind that changes later in the body makes them stale).</summary>
        public string[]? WorkloadPath;

        public string[]? OldWorkloadPath;
    }

    /// <summary>What the image-swap webhook asks of an object: where its Pod spec is for a kind, the opt-out label, the lists.</summary>
    internal sealed class WorkloadQuery(string disableLabel, string disableValue, int lists)
    {
        public string DisableLabel { get; } = disableLabel;

        public string DisableValue { get; } = disableValue;

        public int Lists { get; } = lists;

        /// <summary>The spec path for a raw kind token, or null for a kind without a Pod template (or none).</summary>
        public static string[]? SpecPathOf(ReadOnlySpan<byte> json, (int Start, int Length) kind) =>
            kind.Length == 0 ? null : SpecPath(json.Slice(kind.Start, kind.Length)) is { Length: > 0 } path ? path : null;
    }

    public static readonly string[] PodPath = ["spec"];
    public static readonly string[] TemplatePath = ["spec", "template", "spec"];
    public static readonly string[] CronJobPath = ["spec", "jobTemplate", "spec", "template", "spec"];

    /// <summary>The Pod spec's path for a raw kind token (quotes included); empty for other kinds.</summary>
    public static string[] SpecPath(ReadOnlySpan<byte> kind) =>
        kind.SequenceEqual("\"Pod\""u8) ? PodPath
        : kind.SequenceEqual("\"CronJob\""u8) ? CronJobPath
        : kind.SequenceEqual("\"Deployment\""u8) || kind.SequenceEqual("\"StatefulSet\""u8) || kind.SequenceEqual("\"DaemonSet\""u8) ||
          kind.SequenceEqual("\"ReplicaSet\""u8) || kind.SequenceEqual("\"Job\""u8) ? TemplatePath
        : [];

    /// <summary>Reads the envelope; <paramref name="error"/> is set when the body is not JSON (with the reader's position).</summary>
    public static bool TryRead(ReadOnlySpan<byte> json, out Envelope envelope, out string? error, out JsonTokenType root) =>
        TryRead(json, null, out envelope, out error, out root);

    /// <summary>
    /// Reads the envelope and, when <paramref name="workload"/> is given and the request's kind comes before its object
    /// (the API server's order), the object's and old object's workload facts in the same pass.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> json, WorkloadQuery? workload, out Envelope envelope, out string? error, out JsonTokenType root)
    {
        envelope = default;
        root = JsonTokenType.None;
        try
        {
            var reader = new Utf8JsonReader(json, Options);
            if (!reader.Read())
            {
                error = "the body is not JSON: it is empty";
                return false;
            }

            root = reader.TokenType;
            if (root != JsonTokenType.StartObject)
            {
                reader.Skip();
                End(ref reader);
                error = null;
                return true;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("apiVersion"u8))
                {
                    reader.Read();
                    envelope.ApiVersion = reader.TokenType != JsonTokenType.String ? null
                        : reader.ValueTextEquals("admission.k8s.io/v1"u8) ? "admission.k8s.io/v1"
                        : reader.ValueTextEquals("admission.k8s.io/v1beta1"u8) ? "admission.k8s.io/v1beta1"
                        : null;
                    envelope.WrongApiVersion = reader.TokenType == JsonTokenType.String && envelope.ApiVersion is null ? AdmissionReviewHandler.Clip(reader.GetString()!, 64) : null;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("kind"u8))
                {
                    reader.Read();
                    envelope.ReviewKind = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("AdmissionReview"u8);
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("request"u8))
                {
                    reader.Read();
                    envelope.RequestPresent = reader.TokenType == JsonTokenType.StartObject;
                    if (envelope.RequestPresent)
                    {
                        ReadRequest(ref reader, ref envelope, json, workload);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            End(ref reader);
            error = null;
            return true;
        }
        catch (JsonException e)
        {
            error = $"the body is not JSON: {e.Message}";
            return false;
        }
    }

    private static void End(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException($"there is more after the review, at byte {reader.TokenStartIndex}.");
        }
    }

    private static void ReadRequest(ref Utf8JsonReader reader, ref Envelope envelope, ReadOnlySpan<byte> json, WorkloadQuery? query)
    {
        envelope.Uid = envelope.SubResource = envelope.Namespace = envelope.Kind = envelope.Object = envelope.OldObject = default;
        envelope.Workload = envelope.OldWorkload = null;
        envelope.WorkloadPath = envelope.OldWorkloadPath = null;
        envelope.Operation = Operation.Missing;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("uid"u8))
            {
                envelope.Uid = StringToken(ref reader);
            }
            else if (reader.ValueTextEquals("operation"u8))
            {
                reader.Read();
                envelope.Operation = reader.TokenType != JsonTokenType.String ? Operation.Other
                    : reader.ValueTextEquals("CREATE"u8) ? Operation.Create
                    : reader.ValueTextEquals("UPDATE"u8) ? Operation.Update
                    : reader.ValueTextEquals("DELETE"u8) ? Operation.Delete
                    : reader.ValueTextEquals("CONNECT"u8) ? Operation.Connect
                    : Operation.Other;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("subResource"u8))
            {
                envelope.SubResource = StringToken(ref reader);
            }
            else if (reader.ValueTextEquals("namespace"u8))
            {
                envelope.Namespace = StringToken(ref reader);
            }
            else if (reader.ValueTextEquals("kind"u8))
            {
                reader.Read();
                envelope.Kind = default;
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("kind"u8))
                        {
                            envelope.Kind = StringToken(ref reader);
                        }
                        else
                        {
                            reader.Read();
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("object"u8))
            {
                reader.Read();
                envelope.ObjectToken = reader.TokenType;
                envelope.Workload = null;
                if (reader.TokenType == JsonTokenType.StartObject && query is not null && WorkloadQuery.SpecPathOf(json, envelope.Kind) is { } path)
                {
                    int start = (int)reader.TokenStartIndex;
                    envelope.Workload = ReadWorkload(ref reader, path, query, metadata: true);
                    envelope.WorkloadPath = path;
                    envelope.Object = (start, (int)reader.BytesConsumed - start);
                }
                else
                {
                    envelope.Object = Value(ref reader);
                }
            }
            else if (reader.ValueTextEquals("oldObject"u8))
            {
                reader.Read();
                envelope.OldWorkload = null;
                if (reader.TokenType == JsonTokenType.StartObject && query is not null && WorkloadQuery.SpecPathOf(json, envelope.Kind) is { } path)
                {
                    int start = (int)reader.TokenStartIndex;
                    envelope.OldWorkload = ReadWorkload(ref reader, path, query, metadata: false);
                    envelope.OldWorkloadPath = path;
                    envelope.OldObject = (start, (int)reader.BytesConsumed - start);
                }
                else
                {
                    envelope.OldObject = reader.TokenType == JsonTokenType.StartObject ? Value(ref reader) : Skipped(ref reader);
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static (int, int) Skipped(ref Utf8JsonReader reader)
    {
        reader.Skip();
        return default;
    }

    /// <summary>The range of the value the reader is on (its whole subtree), leaving the reader at its end.</summary>
    private static (int Start, int Length) Value(ref Utf8JsonReader reader)
    {
        int start = (int)reader.TokenStartIndex;
        reader.Skip();
        return (start, (int)reader.BytesConsumed - start);
    }

    /// <summary>The range of a string value (with its quotes, as raw JSON), or absent for any other value.</summary>
    private static (int Start, int Length) StringToken(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return default;
        }

        int start = (int)reader.TokenStartIndex;
        return (start, (int)reader.BytesConsumed - start);
    }

    /// <summary>A raw JSON string token decoded.</summary>
    public static string Decode(ReadOnlySpan<byte> token)
    {
        var reader = new Utf8JsonReader(token, Options);
        reader.Read();
        return reader.GetString()!;
    }

    /// <summary>Whether a raw JSON string token decodes to <paramref name="text"/>.</summary>
    public static bool Equals(ReadOnlySpan<byte> token, string text)
    {
        var reader = new Utf8JsonReader(token, Options);
        reader.Read();
        return reader.ValueTextEquals(text);
    }

    /// <summary>One container of a Pod spec: which list, which index, its image and (raw) name.</summary>
    public readonly record struct Container(int List, int Index, string Image, (int Start, int Length) Name);

    /// <summary>What the image-swap webhook needs of an object.</summary>
    public struct Workload
    {
        public bool OptedOut;
        public bool Mirror;
        public bool SpecFound;
        public (int Start, int Length) Kind;
        public List<Container>? Containers;
    }

    private static ReadOnlySpan<byte> ListName(int list) => list switch
    {
        0 => "containers"u8,
        1 => "initContainers"u8,
        _ => "ephemeralContainers"u8,
    };

    /// <summary>The object's <c>kind</c> (when the envelope has none), without reading the rest.</summary>
    public static (int Start, int Length) KindOf(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, Options);
        reader.Read();
        (int, int) kind = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("kind"u8))
            {
                kind = StringToken(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return kind;
    }

    /// <summary>
    /// Reads an object (already checked as JSON) for the opt-out label, the mirror annotation and the containers of the Pod
    /// spec at <paramref name="specPath"/>, with offsets relative to <paramref name="json"/>.
    /// </summary>
    public static Workload ReadWorkload(ReadOnlySpan<byte> json, int offset, string[] specPath, WorkloadQuery query, bool metadata)
    {
        var reader = new Utf8JsonReader(json, Options);
        reader.Read();
        Workload workload = ReadWorkload(ref reader, specPath, query, metadata);
        if (offset != 0 && workload.Containers is { } containers)
        {
            for (int i = 0; i < containers.Count; i++)
            {
                containers[i] = containers[i] with { Name = containers[i].Name.Length == 0 ? default : (containers[i].Name.Start + offset, containers[i].Name.Length) };
            }
        }

        return workload;
    }

    /// <summary>Reads the object the reader is on (its start), leaving the reader at its end. Name offsets are the reader's.</summary>
    public static Workload ReadWorkload(ref Utf8JsonReader reader, string[] specPath, WorkloadQuery query, bool metadata)
    {
        var workload = new Workload();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (metadata && reader.ValueTextEquals("metadata"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadMetadata(ref reader, ref workload, query.DisableLabel, query.DisableValue);
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals(specPath[0]))
            {
                reader.Read();
                workload.SpecFound = false;
                workload.Containers?.Clear(); // a repeated key: the last one counts
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadPath(ref reader, ref workload, specPath.AsSpan(1), query.Lists);
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("kind"u8))
            {
                workload.Kind = StringToken(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return workload;
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, ref Workload workload, string disableLabel, string disableValue)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool labels = reader.ValueTextEquals("labels"u8);
            bool annotations = !labels && reader.ValueTextEquals("annotations"u8);
            reader.Read();
            if (!(labels || annotations) || reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            if (labels)
            {
                workload.OptedOut = false;
            }
            else
            {
                workload.Mirror = false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool optOut = labels && reader.ValueTextEquals(disableLabel);
                bool mirror = annotations && reader.ValueTextEquals("kubernetes.io/config.mirror"u8);
                reader.Read();
                if (optOut)
                {
                    workload.OptedOut = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(disableValue);
                }

                if (mirror)
                {
                    workload.Mirror = true;
                }

                reader.Skip();
            }
        }
    }

    /// <summary>Descends along the remaining path (the reader is on an object's start); at its end reads the Pod spec.</summary>
    private static void ReadPath(ref Utf8JsonReader reader, ref Workload workload, ReadOnlySpan<string> path, int lists)
    {
        if (path.IsEmpty)
        {
            workload.SpecFound = true;
            ReadPodSpec(ref reader, ref workload, lists);
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(path[0]))
            {
                reader.Read();
                workload.SpecFound = false;
                workload.Containers?.Clear();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadPath(ref reader, ref workload, path[1..], lists);
                }
                else
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static void ReadPodSpec(ref Utf8JsonReader reader, ref Workload workload, int lists)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int list = -1;
            for (int i = 0; i < lists; i++)
            {
                if (reader.ValueTextEquals(ListName(i)))
                {
                    list = i;
                    break;
                }
            }

            reader.Read();
            if (list < 0 || reader.TokenType != JsonTokenType.StartArray)
            {
                if (list >= 0)
                {
                    workload.Containers?.RemoveAll(c => c.List == list);
                }

                reader.Skip();
                continue;
            }

            workload.Containers?.RemoveAll(c => c.List == list); // a repeated list: the last one counts
            int index = -1;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                index++;
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                string? image = null;
                (int, int) name = default;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("image"u8))
                    {
                        reader.Read();
                        image = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                        reader.Skip();
                    }
                    else if (reader.ValueTextEquals("name"u8))
                    {
                        name = StringToken(ref reader);
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }

                if (image is not null)
                {
                    (workload.Containers ??= new List<Container>(4)).Add(new Container(list, index, image, name));
                }
            }
        }
    }
}
