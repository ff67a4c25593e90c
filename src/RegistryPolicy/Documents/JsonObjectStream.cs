using System.Text;
using System.Text.Json;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Documents;

/// <summary>
/// Reads Kubernetes objects from JSON without a DOM of the whole input: a <c>v1 List</c>'s <c>items</c> are read one at a
/// time from a sliding buffer, each into its own small <see cref="DocNode"/> tree; memory is bounded by the largest single
/// object, not by the file. Also reads a single object, a top-level array of objects, and several top-level values one
/// after another (as <c>kubectl get -o json</c> prints for several resources). Every node carries its line and column.
/// </summary>
/// <summary>What the fast path did with an object.</summary>
internal enum JsonFastResult
{
    Decoded,
    Declined,
    NeedMoreData,
}

internal sealed class JsonObjectStream
{
    /// <summary>
    /// Decodes one object straight from the reader, which has just read its <c>{</c> (the input may end before the object
    /// does); declines to have it built as a <see cref="DocNode"/> and read by the general (diagnosing) path instead.
    /// </summary>
    public delegate JsonFastResult FastPath(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, int line, int column);

    private const int MaxObjectBytes = 256 * 1024 * 1024;
    private readonly Stream _stream;
    private readonly string _source;
    private readonly DocumentLimits _limits;
    private readonly List<Diagnostic> _diagnostics;
    private byte[] _buffer = new byte[1024 * 1024];
    private int _length;
    private int _pos;
    private bool _eof;
    private JsonReaderState _state;

    // Line tracking: a cursor that only moves forward through the buffer.
    private int _cursor;
    private int _cursorLine = 1;
    private int _cursorLineStart; // buffer offset of the current line's first byte (may be negative after compaction)

    private readonly FastPath? _fast;

    private JsonObjectStream(Stream stream, string source, DocumentLimits limits, List<Diagnostic> diagnostics, FastPath? fast)
    {
        _fast = fast;
        _stream = stream;
        _source = source;
        _limits = limits;
        _diagnostics = diagnostics;
        // The stream's reader only skips over objects (iteratively); each object's own depth is checked when it is built, so a
        // deep one is refused alone and the objects after it are still read.
        _state = new JsonReaderState(new JsonReaderOptions { MaxDepth = int.MaxValue, AllowMultipleValues = true });
    }

    public static IEnumerable<DocNode> Read(Stream stream, string source, DocumentLimits limits, List<Diagnostic> diagnostics, FastPath? fast = null) =>
        new JsonObjectStream(stream, source, limits, diagnostics, fast).ReadAll();

    private IEnumerable<DocNode> ReadAll()
    {
        while (true)
        {
            if (!TryNextToken(out JsonTokenType token, out int tokenStart))
            {
                yield break;
            }

            if (token == JsonTokenType.StartArray)
            {
                while (TryNextValue(out DocNode? item, out JsonTokenType first, out bool failed, allowFast: true))
                {
                    if (item is not null)
                    {
                        yield return item;
                    }
                    else if (failed)
                    {
                        yield break;
                    }
                    else if (first == JsonTokenType.EndArray)
                    {
                        break;
                    }
                }

                continue;
            }

            if (token != JsonTokenType.StartObject)
            {
                Report(tokenStart, "json-not-object", "the top-level JSON value is not an object, a list of objects or a v1 List; it was skipped");
                continue;
            }

            (int line, int column) = Locate(tokenStart);
            DocNode top = DocNode.NewMapping(line, column);
            var topNames = new HashSet<string>(StringComparer.Ordinal);
            bool hadItems = false, topRefused = false;
            _topNodes = 2; // the object's own braces, as when it is built whole
            while (true)
            {
                if (!TryNextToken(out JsonTokenType t, out int nameStart))
                {
                    yield break;
                }

                if (t == JsonTokenType.EndObject)
                {
                    break;
                }

                string name = _lastPropertyName!;
                if (_lastPropertyNameBytes > _limits.MaxScalarLength && !topRefused)
                {
                    Report(nameStart, "document-limit", $"a key of {_lastPropertyNameBytes} bytes exceeds the limit of {_limits.MaxScalarLength}; the object was skipped");
                    topRefused = _muted = true;
                }

                (int nl, int nc) = Locate(nameStart);
                DocNode key = DocNode.NewScalar(DocNodeKind.String, name, nl, nc);
                if (name == "items" && PeekIsArrayStart())
                {
                    TryNextToken(out _, out _);
                    hadItems = true;
                    while (TryNextValue(out DocNode? item, out JsonTokenType first, out bool failed, allowFast: true))
                    {
                        if (item is not null)
                        {
                            yield return WithListKind(item, top);
                        }
                        else if (failed)
                        {
                            yield break;
                        }
                        else if (first == JsonTokenType.EndArray)
                        {
                            break;
                        }
                    }

                    continue;
                }

                if (!topNames.Add(name))
                {
                    // As when the object is built whole: the repeated key is reported and its value skipped, unread (no limit,
                    // no invalid-text warning, no node count), so both ways of reading an object give the same diagnostics.
                    Report(nameStart, "duplicate-key", $"the key '{DisplayText.Escape(name)}' appears twice in one object. kubectl keeps the last value; this reader keeps the first and reports an error, so that what the cluster gets is never guessed: remove one of them");
                    bool wasMuted = _muted;
                    long nodes = _topNodes;
                    _muted = true;
                    bool more = TryNextValue(out _, out _, out bool broken, topLevel: true);
                    _muted = wasMuted;
                    _topNodes = nodes;
                    if (!more || broken)
                    {
                        yield break;
                    }

                    continue;
                }

                if (!TryNextValue(out DocNode? value, out _, out bool bad, topLevel: true))
                {
                    yield break;
                }

                if (value is null)
                {
                    if (bad)
                    {
                        yield break;
                    }

                    // A value over a limit refuses the whole object, as it does when the object is a list item.
                    topRefused = _muted = true;
                    continue;
                }

                top.Entries.Add(new(key, value));
            }

            _muted = false;
            if (!hadItems && !topRefused)
            {
                yield return top;
            }
        }
    }

    /// <summary>
    /// The API server's typed lists (<c>kind: SecretList</c>, as <c>kubectl get --raw</c> and live reads get them) leave
    /// <c>kind</c> and <c>apiVersion</c> out of their items; kubectl fills them in from the list. So does this reader, when
    /// the list's kind came before its items (the API server writes it first).
    /// </summary>
    private static DocNode WithListKind(DocNode item, DocNode list)
    {
        if (item.Kind != DocNodeKind.Mapping || item.Get("kind") is not null ||
            list.Get("kind") is not { Kind: DocNodeKind.String, Scalar: { Length: > 4 } listKind } || !listKind.EndsWith("List", StringComparison.Ordinal))
        {
            return item;
        }

        item.Entries.Add(new(DocNode.NewScalar(DocNodeKind.String, "kind", item.Line, item.Column), DocNode.NewScalar(DocNodeKind.String, listKind[..^4], item.Line, item.Column)));
        if (item.Get("apiVersion") is null && list.Get("apiVersion") is { Kind: DocNodeKind.String, Scalar: { } apiVersion })
        {
            item.Entries.Add(new(DocNode.NewScalar(DocNodeKind.String, "apiVersion", item.Line, item.Column), DocNode.NewScalar(DocNodeKind.String, apiVersion, item.Line, item.Column)));
        }

        return item;
    }

    /// <summary>
    /// Set once a top-level object is refused: the rest of it is read only to find its end, and reports nothing, as building it
    /// whole would have stopped at the first problem (so both ways of reading an object give the same diagnostics).
    /// </summary>
    private bool _muted;

    private string? _lastPropertyName;
    private int _lastPropertyNameBytes;

    /// <summary>Reads one token (not a whole value). False at the end of input or on a syntax error (reported).</summary>
    private bool TryNextToken(out JsonTokenType token, out int tokenStart)
    {
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_pos, _length - _pos), _eof, _state);
            bool read;
            try
            {
                read = reader.Read();
            }
            catch (JsonException e)
            {
                ReportSyntax(e);
                token = JsonTokenType.None;
                tokenStart = 0;
                return false;
            }

            if (!read)
            {
                if (_eof)
                {
                    if (reader.CurrentDepth > 0)
                    {
                        Report(_length, "json-truncated", "the JSON ends in the middle of a value; the file is truncated");
                    }

                    token = JsonTokenType.None;
                    tokenStart = 0;
                    return false;
                }

                Fill();
                continue;
            }

            token = reader.TokenType;
            tokenStart = _pos + (int)reader.TokenStartIndex;
            if (token == JsonTokenType.PropertyName)
            {
                _lastPropertyNameBytes = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length;
                _lastPropertyName = JsonText.GetString(ref reader, out bool replaced);
                if (replaced && _lastPropertyNameBytes <= _limits.MaxScalarLength)
                {
                    // A key over the limit refuses the object, which then reports nothing more (as when it is built whole).
                    ReportInvalidText(tokenStart);
                }
            }

            _pos += (int)reader.BytesConsumed;
            _state = reader.CurrentState;
            return true;
        }
    }

    private bool PeekIsArrayStart()
    {
        while (true)
        {
            int i = _pos;
            while (i < _length && (_buffer[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                i++;
            }

            if (i < _length)
            {
                return _buffer[i] == (byte)'[';
            }

            if (_eof)
            {
                return false;
            }

            Fill();
        }
    }

    /// <summary>
    /// Reads one whole value into a node. Returns false at the end of input. <paramref name="node"/> is null when the
    /// value was an end token (<paramref name="first"/> says which), or when it was refused (<paramref name="failed"/> is
    /// false when reading can go on, true when the input cannot be read further).
    /// </summary>
    private bool TryNextValue(out DocNode? node, out JsonTokenType first, out bool failed, bool allowFast = false, bool topLevel = false)
    {
        node = null;
        failed = false;
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_pos, _length - _pos), _eof, _state);
            int start;
            try
            {
                if (!reader.Read())
                {
                    if (_eof)
                    {
                        Report(_length, "json-truncated", "the JSON ends in the middle of a value; the file is truncated");
                        first = JsonTokenType.None;
                        return false;
                    }

                    Fill();
                    continue;
                }

                first = reader.TokenType;
                start = (int)reader.TokenStartIndex;
                if (first is JsonTokenType.EndArray or JsonTokenType.EndObject)
                {
                    _pos += (int)reader.BytesConsumed;
                    _state = reader.CurrentState;
                    return true;
                }

                if (allowFast && _fast is not null && first == JsonTokenType.StartObject)
                {
                    Utf8JsonReader attempt = reader; // a copy: on decline, the original skips the object as usual
                    (int line, int column) = Locate(_pos + start);
                    JsonFastResult outcome = _fast(ref attempt, _buffer.AsSpan(_pos, _length - _pos), line, column);
                    if (outcome == JsonFastResult.Decoded)
                    {
                        _pos += (int)attempt.BytesConsumed;
                        _state = attempt.CurrentState;
                        return true; // handled: node stays null, 'first' is StartObject
                    }

                    if (outcome == JsonFastResult.NeedMoreData && !_eof)
                    {
                        Fill();
                        continue;
                    }
                }

                if (first is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip())
                {
                    if (_eof)
                    {
                        Report(_pos + start, "json-truncated", "the JSON ends in the middle of a value; the file is truncated");
                        failed = true;
                        return true;
                    }

                    Fill();
                    continue;
                }
            }
            catch (JsonException e)
            {
                ReportSyntax(e);
                first = JsonTokenType.None;
                failed = true;
                return true;
            }

            int end = (int)reader.BytesConsumed;
            int valueStart = _pos + start;
            int valueLength = end - start;
            _state = reader.CurrentState;
            if (!topLevel)
            {
                _itemNodes = 0; // a whole object: its own count
            }

            node = topLevel ? Build(valueStart, valueLength, _limits.MaxDepth - 1, ref _topNodes) : Build(valueStart, valueLength, _limits.MaxDepth, ref _itemNodes);
            _pos += end;
            return true;
        }
    }

    /// <summary>Nodes of the top-level object read so far (its values are built one by one, and count together).</summary>
    private long _topNodes;

    private long _itemNodes;

    /// <summary>
    /// Builds one value. <paramref name="maxDepth"/> is what is left of the depth limit at the value (one less for a value of a
    /// top-level object than for a whole object); <paramref name="count"/> carries the nodes of the object it belongs to.
    /// </summary>
    private DocNode? Build(int offset, int length, int maxDepth, ref long count)
    {
        if (maxDepth < 1)
        {
            Report(offset, "document-limit", $"nesting deeper than the limit of {_limits.MaxDepth} levels; the object was skipped");
            return null;
        }

        var reader = new Utf8JsonReader(_buffer.AsSpan(offset, length), new JsonReaderOptions { MaxDepth = maxDepth });
        var stack = new Stack<DocNode>();
        var pendingKeys = new Stack<DocNode?>();
        DocNode? pendingKey = null;
        var keys = new Stack<HashSet<string>?>();
        DocNode? root = null;
        try
        {
            while (reader.Read())
            {
                (int line, int column) = Locate(offset + (int)reader.TokenStartIndex);
                DocNode? completed = null;
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        stack.Push(DocNode.NewMapping(line, column));
                        keys.Push(null);
                        pendingKeys.Push(pendingKey);
                        pendingKey = null;
                        break;
                    case JsonTokenType.StartArray:
                        stack.Push(DocNode.NewSequence(line, column));
                        keys.Push(null);
                        pendingKeys.Push(pendingKey);
                        pendingKey = null;
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        completed = stack.Pop();
                        keys.Pop();
                        pendingKey = pendingKeys.Pop();
                        break;
                    case JsonTokenType.PropertyName:
                        if (reader.ValueSpan.Length > _limits.MaxScalarLength)
                        {
                            Report(offset + (int)reader.TokenStartIndex, "document-limit",
                                $"a key of {reader.ValueSpan.Length} bytes exceeds the limit of {_limits.MaxScalarLength}; the object was skipped");
                            return null;
                        }

                        string name = JsonText.GetString(ref reader, out bool replacedName);
                        if (replacedName)
                        {
                            ReportInvalidText(offset + (int)reader.TokenStartIndex);
                        }

                        pendingKey = DocNode.NewScalar(DocNodeKind.String, name, line, column);
                        HashSet<string>? seen = keys.Pop() ?? new HashSet<string>(StringComparer.Ordinal);
                        keys.Push(seen);
                        if (!seen.Add(name))
                        {
                            Report(offset + (int)reader.TokenStartIndex, "duplicate-key",
                                $"the key '{DisplayText.Escape(name)}' appears twice in one object. kubectl keeps the last value; this reader keeps the first and reports an error, so that what the cluster gets is never guessed: remove one of them");
                            pendingKey = null;
                            reader.Skip();
                        }

                        continue;
                    case JsonTokenType.String:
                        if (reader.ValueSpan.Length > _limits.MaxScalarLength)
                        {
                            Report(offset + (int)reader.TokenStartIndex, "document-limit",
                                $"a string of {reader.ValueSpan.Length} bytes exceeds the limit of {_limits.MaxScalarLength}; the object was skipped");
                            return null;
                        }

                        completed = DocNode.NewScalar(DocNodeKind.String, JsonText.GetString(ref reader, out bool replacedText), line, column);
                        if (replacedText)
                        {
                            ReportInvalidText(offset + (int)reader.TokenStartIndex);
                        }

                        break;
                    case JsonTokenType.Number:
                        completed = DocNode.NewScalar(DocNodeKind.Number, Encoding.UTF8.GetString(reader.ValueSpan), line, column);
                        break;
                    case JsonTokenType.True:
                        completed = DocNode.NewScalar(DocNodeKind.Bool, "true", line, column);
                        break;
                    case JsonTokenType.False:
                        completed = DocNode.NewScalar(DocNodeKind.Bool, "false", line, column);
                        break;
                    case JsonTokenType.Null:
                        completed = DocNode.NewScalar(DocNodeKind.Null, "null", line, column);
                        break;
                    default:
                        continue;
                }

                if (++count > _limits.MaxNodesPerObject)
                {
                    Report(offset, "document-limit", $"the object has more than {_limits.MaxNodesPerObject} nodes; it was skipped");
                    return null;
                }

                if (completed is null)
                {
                    continue;
                }

                if (stack.Count == 0)
                {
                    root = completed;
                }
                else if (stack.Peek().Kind == DocNodeKind.Sequence)
                {
                    stack.Peek().Items.Add(completed);
                }
                else if (pendingKey is not null)
                {
                    stack.Peek().Entries.Add(new(pendingKey, completed));
                    pendingKey = null;
                }
            }
        }
        catch (JsonException e) when (reader.CurrentDepth >= maxDepth - 1)
        {
            _ = e;
            Report(offset, "document-limit", $"nesting deeper than the limit of {_limits.MaxDepth} levels; the object was skipped");
            return null;
        }

        return root;
    }

    private void Fill()
    {
        if (_pos > 0)
        {
            Advance(_pos);
            Buffer.BlockCopy(_buffer, _pos, _buffer, 0, _length - _pos);
            _length -= _pos;
            _cursor -= _pos;
            _cursorLineStart -= _pos;
            _pos = 0;
        }

        if (_length == _buffer.Length)
        {
            if (_buffer.Length >= MaxObjectBytes)
            {
                throw new InvalidDataException($"{_source}: a single JSON object is larger than {MaxObjectBytes / (1024 * 1024)} MiB.");
            }

            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        int read = _stream.Read(_buffer, _length, _buffer.Length - _length);
        if (read == 0)
        {
            _eof = true;
        }

        _length += read;
    }

    private void Advance(int offset)
    {
        int from = _cursor;
        if (offset <= from)
        {
            return;
        }

        ReadOnlySpan<byte> span = _buffer.AsSpan(from, offset - from);
        int i;
        while ((i = span.IndexOf((byte)'\n')) >= 0)
        {
            _cursorLine++;
            from += i + 1;
            _cursorLineStart = from;
            span = span[(i + 1)..];
        }

        _cursor = offset;
    }

    private (int Line, int Column) Locate(int offset)
    {
        Advance(offset);
        return (_cursorLine, offset - _cursorLineStart + 1);
    }

    private void Report(int offset, string code, string message)
    {
        if (_muted && code is "document-limit" or "duplicate-key")
        {
            return;
        }

        (int line, int column) = Locate(Math.Min(offset, _length));
        _diagnostics.Add(new Diagnostic(code, DiagnosticSeverity.Error, message) { Location = new SourceLocation(_source, line, column) });
    }

    /// <summary>Go (so kubectl and the API server) reads such a string with U+FFFD in place of each bad byte; so do we, and say so.</summary>
    private void ReportInvalidText(int offset)
    {
        if (_muted)
        {
            return;
        }

        (int line, int column) = Locate(Math.Min(offset, _length));
        _diagnostics.Add(new Diagnostic("invalid-utf8", DiagnosticSeverity.Warning,
            "the string holds bytes that are not UTF-8, or a \\u escape of an unpaired surrogate; it was read as Go's JSON decoder (and so kubectl and the API server) reads it, with U+FFFD in their place")
        {
            Location = new SourceLocation(_source, line, column),
        });
    }

    private void ReportSyntax(JsonException e)
    {
        // The reader state carries the line count from the start of the input (0-based).
        int errorLine = (int)(e.LineNumber ?? 0) + 1;
        int column = (int)(e.BytePositionInLine ?? 0) + 1;
        _diagnostics.Add(new Diagnostic("json-syntax", DiagnosticSeverity.Error,
            $"JSON syntax error: {CleanJsonMessage(e.Message)}. Nothing after this point in the file was read; fix the syntax and run again.")
        {
            Location = new SourceLocation(_source, errorLine, column),
        });
    }

    private static string CleanJsonMessage(string message)
    {
        int at = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        // System.Text.Json quotes the character it stopped at, which may be part of a credential.
        return DisplayText.WithoutLeadingQuotation(at >= 0 ? message[..at] : message).TrimEnd('.', ' ');
    }
}
