using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Documents;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Snapshots;

/// <summary>
/// The fast path for the objects that dominate large snapshots (Secrets and Namespaces): decoded straight from their JSON
/// bytes, without a tree, allocating only the strings and bytes kept. It accepts only well-formed objects: anything it does
/// not expect (another kind, a wrong type, a duplicate key, base64 it cannot vouch for) makes it decline, and the object is
/// read by the general path, which gives the exact diagnostics. So both paths give the same objects (tested).
/// </summary>
internal sealed class FastJsonDecoder
{
    private static readonly SearchValues<byte> Base64Alphabet = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="u8);
    private static readonly NeedMoreData More = new();
    private static readonly DeclineObject Decline = new();

    /// <summary>Returned for a Secret the filter leaves out.</summary>
    private static readonly KubeObject Filtered = NamespaceObject.Named("filtered");
    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _stringsBySpan;
    private readonly string _source;
    private readonly List<(KubeObject, SourceLocation)> _output;
    private readonly List<(int, int)> _names = new(16);
    private readonly List<(int, int)> _metaNames = new(16);
    private readonly List<(string Key, int Start, int Length)> _data = new(16);
    private readonly List<(string Key, int Offset, int Length, string? Escaped)> _pending = new(16);
    private readonly SecretFilter? _keep;
    private readonly HashSet<string> _seenKeys = new(StringComparer.Ordinal);

    /// <summary>Secrets the filter left out.</summary>
    public int Skipped { get; private set; }

    /// <summary>The namespaces of the Secrets left out (they still exist in the cluster).</summary>
    public HashSet<string> FilteredNamespaces { get; } = new(StringComparer.Ordinal);
    private byte[] _scratch = new byte[4096];
    private int _scratchLength;

    private readonly DocumentLimits _limits;
    private int _baseDepth;
    private long _nodes;

    public FastJsonDecoder(string source, List<(KubeObject, SourceLocation)> output, SecretFilter? keep, DocumentLimits limits)
    {
        _limits = limits;
        _keep = keep;
        _source = source;
        _output = output;
        _stringsBySpan = _strings.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Thrown (one shared instance) when the object runs past the bytes read so far.</summary>
    private sealed class NeedMoreData : Exception;

    /// <summary>Thrown (one shared instance) deep inside a read to decline the object.</summary>
    private sealed class DeclineObject : Exception;

    /// <summary>
    /// Decodes the object whose <c>{</c> the reader has just read. The reader may run out of input: then the result is
    /// <see cref="JsonFastResult.NeedMoreData"/> and nothing was added.
    /// </summary>
    public JsonFastResult TryDecode(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, int line, int column)
    {
        try
        {
            KubeObject? obj = Decode(ref reader, json);
            if (obj is null)
            {
                return JsonFastResult.Declined;
            }

            if (ReferenceEquals(obj, Filtered))
            {
                return JsonFastResult.Decoded;
            }

            _output.Add((obj, new SourceLocation(_source, line, column)));
            return JsonFastResult.Decoded;
        }
        catch (NeedMoreData)
        {
            return JsonFastResult.NeedMoreData;
        }
        catch (DeclineObject)
        {
            return JsonFastResult.Declined;
        }
        catch (JsonException)
        {
            return JsonFastResult.Declined;
        }
        catch (InvalidOperationException)
        {
            return JsonFastResult.Declined;
        }
    }

    /// <summary>
    /// Reads one token, holding the object to the general path's limits (depth counted from the object itself, string
    /// length, nodes): an object over any limit is declined, so the general path refuses it with the diagnostic.
    /// </summary>
    private void Read(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw More;
        }

        if (reader.TokenType is JsonTokenType.PropertyName or JsonTokenType.String &&
            (!System.Text.Unicode.Utf8.IsValid(reader.ValueSpan) || (reader.ValueIsEscaped && !JsonText.TryGetExactString(ref reader, out _))))
        {
            throw Decline; // a string Go repairs, even in a field skipped here: the general path warns about it
        }

        switch (reader.TokenType)
        {
            case JsonTokenType.PropertyName when reader.ValueSpan.Length > _limits.MaxScalarLength:
                throw Decline;
            case JsonTokenType.PropertyName:
                return;
            case JsonTokenType.StartObject or JsonTokenType.StartArray when reader.CurrentDepth - _baseDepth + 1 > _limits.MaxDepth:
                throw Decline;
            case JsonTokenType.String when reader.ValueSpan.Length > _limits.MaxScalarLength:
                throw Decline;
        }

        if (++_nodes > _limits.MaxNodesPerObject)
        {
            throw Decline;
        }
    }

    /// <summary>Skips the value the reader is on (its tokens still count against the limits).</summary>
    private void Skip(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return;
        }

        // On a start token CurrentDepth is the container's own depth; it is that again on the matching end token.
        int depth = reader.CurrentDepth;
        do
        {
            Read(ref reader);
        }
        while (reader.CurrentDepth > depth || reader.TokenType is not (JsonTokenType.EndObject or JsonTokenType.EndArray));
    }

    private bool NextProperty(ref Utf8JsonReader reader)
    {
        Read(ref reader);
        return reader.TokenType == JsonTokenType.PropertyName;
    }

    /// <summary>
    /// Whether <paramref name="key"/> differs from the keys of <paramref name="items"/> (those before it): a scan while there are few, a
    /// set once there are many, so that a hostile object with thousands of keys costs linear time.
    /// </summary>
    private bool Distinct<T>(string key, List<T> items, Func<T, string> keyOf)
    {
        int count = items.Count;
        if (count < 16)
        {
            for (int i = 0; i < count; i++)
            {
                if (keyOf(items[i]) == key)
                {
                    return false;
                }
            }

            return true;
        }

        if (count == 16 || _seenKeys.Count != count)
        {
            _seenKeys.Clear();
            for (int i = 0; i < count; i++)
            {
                _seenKeys.Add(keyOf(items[i]));
            }
        }

        return _seenKeys.Add(key);
    }

    /// <summary>Whether the current property name was already seen at this level (raw bytes; an escaped name declines).</summary>
    private static bool Repeated(ref Utf8JsonReader reader, List<(int Start, int Length)> names, ReadOnlySpan<byte> json)
    {
        if (reader.ValueIsEscaped)
        {
            return true;
        }

        ReadOnlySpan<byte> name = reader.ValueSpan;
        if (names.Count >= 64)
        {
            return true; // far more fields than any real object has: the general path checks them in linear time
        }

        foreach (var (start, length) in names)
        {
            if (json.Slice(start, length).SequenceEqual(name))
            {
                return true;
            }
        }

        names.Add(((int)reader.TokenStartIndex + 1, name.Length));
        return false;
    }

    private KubeObject? Decode(ref Utf8JsonReader reader, ReadOnlySpan<byte> json)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        _baseDepth = reader.CurrentDepth;
        _nodes = 1;

        // Nothing of the previous object may survive into this one (kubectl prints 'data' before 'metadata', and an empty
        // Secret has no 'data' at all).
        _pending.Clear();
        _data.Clear();
        _metaNames.Clear();
        _scratchLength = 0;
        string? kind = null, type = null, phase = null;
        Meta? meta = null;
        bool hasData = false;
        List<(string Key, string Value)>? stringData = null;
        int seen = 0;
        List<(int, int)> names = _names;
        names.Clear();
        while (NextProperty(ref reader))
        {
            if (Repeated(ref reader, names, json))
            {
                return null;
            }

            int bit;
            if (reader.ValueTextEquals("kind"u8))
            {
                bit = 1;
                Read(ref reader);
                if (reader.TokenType != JsonTokenType.String)
                {
                    return null;
                }

                kind = reader.ValueTextEquals("Secret"u8) ? "Secret" : reader.ValueTextEquals("Namespace"u8) ? "Namespace" : null;
                if (kind is null)
                {
                    return null;
                }
            }
            else if (reader.ValueTextEquals("metadata"u8))
            {
                bit = 2;
                Read(ref reader);
                meta = ReadMeta(ref reader, json);
                if (meta is null)
                {
                    return null;
                }
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                bit = 4;
                Read(ref reader);
                hasData = true;
                if (!ReadData(ref reader))
                {
                    return null;
                }
            }
            else if (reader.ValueTextEquals("stringData"u8))
            {
                bit = 8;
                Read(ref reader);
                stringData = ReadStringPairs(ref reader, allowNull: true);
                if (stringData is null)
                {
                    return null;
                }
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                bit = 16;
                Read(ref reader);
                if (reader.TokenType == JsonTokenType.String)
                {
                    type = Intern(ref reader);
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    return null;
                }
            }
            else if (reader.ValueTextEquals("status"u8))
            {
                bit = 32;
                Read(ref reader);
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return null;
                }

                while (NextProperty(ref reader))
                {
                    if (reader.ValueTextEquals("phase"u8))
                    {
                        Read(ref reader);
                        if (reader.TokenType != JsonTokenType.String || phase is not null)
                        {
                            return null;
                        }

                        phase = Intern(ref reader);
                    }
                    else
                    {
                        Read(ref reader);
                        Skip(ref reader);
                    }
                }
            }
            else if (reader.ValueTextEquals("items"u8))
            {
                return null; // a nested list: the general path handles it
            }
            else
            {
                bit = 0;
                Read(ref reader);
                Skip(ref reader);
            }

            if (bit != 0)
            {
                if ((seen & bit) != 0)
                {
                    return null; // duplicate key: let the general path report it
                }

                seen |= bit;
            }
        }

        if (kind is null || meta is null || meta.Name is null)
        {
            return null;
        }

        string secretType;

        var metadata = new ObjectMetadata(meta.Name, kind == "Namespace" ? null : meta.Namespace ?? "default")
        {
            Labels = meta.Labels,
            Annotations = meta.Annotations,
            Finalizers = meta.Finalizers,
            DeletionTimestamp = meta.DeletionTimestamp,
        };
        if (kind == "Namespace")
        {
            var ns = new NamespaceObject(metadata, phase);
            return ApiServerRules.Accepts(ns) ? ns : null;
        }

        secretType = string.IsNullOrEmpty(type) ? SecretObject.OpaqueType : type;
        if (_keep is not null && !_keep(metadata.Namespace!, metadata.Name, metadata.Labels) && !ApiServerRules.ChecksContent(secretType))
        {
            // Not decoded, but checked as the API server would: anything it might refuse goes to the general path, which reports it.
            long size = 0;
            foreach (var (key, offset, length, escaped) in _pending)
            {
                if (escaped is not null || length % 4 != 0 || json.Slice(offset, length).IndexOfAnyExcept(Base64Alphabet) >= 0 ||
                    !PaddingAtEnd(json.Slice(offset, length)) || ApiServerRules.DataKeyProblem(key) is not null)
                {
                    return null;
                }

                size += length / 4 * 3;
            }

            if (stringData is not null || size > ApiServerRules.MaxSecretBytes ||
                !ApiServerRules.Accepts(new SecretObject(metadata, secretType, SecretData.Empty)))
            {
                return null;
            }

            Skipped++;
            FilteredNamespaces.Add(metadata.Namespace!);
            return Filtered;
        }

        SecretData? data = hasData ? DecodePending(json) : null;
        if (hasData && data is null)
        {
            return null;
        }

        if (stringData is not null)
        {
            data ??= SecretData.Empty;
            foreach (var (key, value) in stringData)
            {
                data = data.With(key, Encoding.UTF8.GetBytes(value));
            }
        }

        var secret = new SecretObject(metadata, secretType, data ?? SecretData.Empty);
        if (!ApiServerRules.Accepts(secret))
        {
            return null;
        }

        if (_keep is not null && !_keep(metadata.Namespace!, metadata.Name, metadata.Labels))
        {
            Skipped++;
            FilteredNamespaces.Add(metadata.Namespace!);
            return Filtered;
        }

        return secret;
    }

    private sealed class Meta
    {
        public string? Name { get; set; }

        public string? Namespace { get; set; }

        public StringMap Labels { get; set; } = StringMap.Empty;

        public StringMap Annotations { get; set; } = StringMap.Empty;

        public ValueArray<string> Finalizers { get; set; }

        public string? DeletionTimestamp { get; set; }
    }

    private Meta? ReadMeta(ref Utf8JsonReader reader, ReadOnlySpan<byte> json)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        var meta = new Meta();
        int seen = 0;
        List<(int, int)> names = _metaNames;
        names.Clear();
        while (NextProperty(ref reader))
        {
            if (Repeated(ref reader, names, json))
            {
                return null;
            }

            int bit;
            if (reader.ValueTextEquals("name"u8))
            {
                bit = 1;
                Read(ref reader);
                if (reader.TokenType != JsonTokenType.String || reader.ValueSpan.Length == 0)
                {
                    return null;
                }

                meta.Name = Text(ref reader);
            }
            else if (reader.ValueTextEquals("namespace"u8))
            {
                bit = 2;
                Read(ref reader);
                if (reader.TokenType == JsonTokenType.String)
                {
                    meta.Namespace = reader.ValueSpan.Length == 0 ? null : Intern(ref reader);
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    return null;
                }
            }
            else if (reader.ValueTextEquals("labels"u8) || reader.ValueTextEquals("annotations"u8))
            {
                bool labels = reader.ValueTextEquals("labels"u8);
                bit = labels ? 4 : 8;
                Read(ref reader);
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                List<(string, string)>? pairs = ReadStringPairs(ref reader, allowNull: true);
                if (pairs is null)
                {
                    return null;
                }

                StringMap map = StringMap.FromSortedUnique(pairs);
                if (labels)
                {
                    meta.Labels = map;
                }
                else
                {
                    meta.Annotations = map;
                }
            }
            else if (reader.ValueTextEquals("finalizers"u8))
            {
                bit = 16;
                Read(ref reader);
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    return null;
                }

                var list = new List<string>();
                while (true)
                {
                    Read(ref reader);
                    if (reader.TokenType == JsonTokenType.EndArray)
                    {
                        break;
                    }

                    if (reader.TokenType != JsonTokenType.String)
                    {
                        return null;
                    }

                    list.Add(Intern(ref reader));
                }

                meta.Finalizers = new ValueArray<string>(list);
            }
            else if (reader.ValueTextEquals("deletionTimestamp"u8))
            {
                bit = 32;
                Read(ref reader);
                if (reader.TokenType == JsonTokenType.String)
                {
                    meta.DeletionTimestamp = Text(ref reader);
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    return null;
                }
            }
            else
            {
                bit = 0;
                Read(ref reader);
                Skip(ref reader);
            }

            if (bit != 0)
            {
                if ((seen & bit) != 0)
                {
                    return null;
                }

                seen |= bit;
            }
        }

        return meta;
    }

    /// <summary>A JSON object of strings (null values become empty strings), or null when anything else is found or a key repeats.</summary>
    private List<(string Key, string Value)>? ReadStringPairs(ref Utf8JsonReader reader, bool allowNull)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        var pairs = new List<(string, string)>();
        while (NextProperty(ref reader))
        {
            string key = Intern(ref reader);
            Read(ref reader);
            string value;
            if (reader.TokenType == JsonTokenType.String)
            {
                value = Intern(ref reader);
            }
            else if (reader.TokenType == JsonTokenType.Null && allowNull)
            {
                value = string.Empty;
            }
            else
            {
                return null;
            }

            if (!Distinct(key, pairs, static pair => pair.Item1))
            {
                return null;
            }

            pairs.Add((key, value));
        }

        return pairs;
    }

    /// <summary>
    /// Checks the shape of <c>data</c> and records where each value is; values are decoded later, once the Secret is known
    /// to be kept (kubectl prints <c>data</c> before <c>metadata</c>).
    /// </summary>
    private bool ReadData(ref Utf8JsonReader reader)
    {
        _pending.Clear();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (NextProperty(ref reader))
        {
            string key = Intern(ref reader);
            if (!Distinct(key, _pending, static pending => pending.Key))
            {
                return false;
            }

            Read(ref reader);
            if (reader.TokenType == JsonTokenType.Null)
            {
                _pending.Add((key, 0, 0, null));
            }
            else if (reader.TokenType != JsonTokenType.String || reader.HasValueSequence)
            {
                return false;
            }
            else if (reader.ValueIsEscaped)
            {
                _pending.Add((key, 0, 0, Text(ref reader)));
            }
            else
            {
                _pending.Add((key, (int)reader.TokenStartIndex + 1, reader.ValueSpan.Length, null));
            }
        }

        return true;
    }

    /// <summary>Decodes the recorded values (Go's base64 rules); null when one is not valid base64.</summary>
    private SecretData? DecodePending(ReadOnlySpan<byte> json)
    {
        if (_pending.Count == 0)
        {
            return SecretData.Empty;
        }

        _data.Clear();
        _scratchLength = 0;
        foreach (var (key, offset, length, escaped) in _pending)
        {
            int start = _scratchLength;
            ReadOnlySpan<byte> text = escaped is null ? json.Slice(offset, length) : default;
            if (escaped is null && text.Length % 4 == 0 && text.IndexOfAnyExcept(Base64Alphabet) < 0)
            {
                Reserve(Base64.GetMaxDecodedFromUtf8Length(text.Length));
                if (Base64.DecodeFromUtf8(text, _scratch.AsSpan(start), out _, out int written) != OperationStatus.Done)
                {
                    return null;
                }

                _scratchLength += written;
            }
            else if (GoBase64.TryDecode(escaped ?? Encoding.UTF8.GetString(text), padded: true, out byte[] bytes))
            {
                Reserve(bytes.Length);
                bytes.CopyTo(_scratch, start);
                _scratchLength += bytes.Length;
            }
            else
            {
                return null;
            }

            _data.Add((key, start, _scratchLength - start));
        }

        return SecretData.FromBuffer([.. _data], _scratch.AsSpan(0, _scratchLength).ToArray());
    }

    private void Reserve(int more)
    {
        if (_scratchLength + more > _scratch.Length)
        {
            Array.Resize(ref _scratch, Math.Max(_scratch.Length * 2, _scratchLength + more));
        }
    }

    /// <summary>Whether the '=' of base64 text (if any) are its last one or two characters, as padding must be.</summary>
    private static bool PaddingAtEnd(ReadOnlySpan<byte> text)
    {
        int first = text.IndexOf((byte)'=');
        return first < 0 || (first >= text.Length - 2 && text[first..].IndexOfAnyExcept((byte)'=') < 0);
    }

    /// <summary>The current string token; an object with a string Go would repair (invalid UTF-8) is declined, so the general path reports it.</summary>
    private static string Text(ref Utf8JsonReader reader) =>
        JsonText.TryGetExactString(ref reader, out string? value) ? value : throw Decline;

    /// <summary>Reads the current string token, sharing one instance per distinct short value (label keys, namespaces, types).</summary>
    private string Intern(ref Utf8JsonReader reader)
    {
        ReadOnlySpan<byte> raw = reader.HasValueSequence ? default : reader.ValueSpan;
        if (!reader.ValueIsEscaped && !reader.HasValueSequence && raw.Length <= 64 && System.Text.Ascii.IsValid(raw))
        {
            Span<char> chars = stackalloc char[raw.Length];
            System.Text.Ascii.ToUtf16(raw, chars, out _);
            if (_stringsBySpan.TryGetValue(chars, out string? known))
            {
                return known;
            }
        }

        string value = Text(ref reader);
        if (value.Length > 64)
        {
            return value;
        }

        if (_strings.TryGetValue(value, out string? shared))
        {
            return shared;
        }

        if (_strings.Count < 100_000)
        {
            _strings[value] = value;
        }

        return value;
    }
}
