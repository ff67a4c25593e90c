using System.Buffers;

namespace RegistryPolicy.Documents;

/// <summary>
/// Splits YAML text into documents before any parser sees it: a line that starts with <c>---</c> or a directive (<c>%</c>)
/// begins a new document once the current one has content, and a <c>...</c> line ends the current one. YAML forbids these
/// markers inside scalars, so the split is exact for every valid stream; for a broken one it lets reading go on with the
/// next document. Each document is a <see cref="TextReader"/> that ends where the next begins; it also ends at the first
/// character YAML does not allow (a control character, or a byte that is not UTF-8: see <see cref="NotUtf8"/>), which
/// go-yaml, and so kubectl, refuses. Lines are counted so that locations stay those of the whole file.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "A Document is a view over the splitter's buffer and holds nothing to dispose.")]
internal sealed class YamlDocumentSplitter(TextReader inner, int maxDocumentChars)
{
    /// <summary>What the decoder puts in place of bytes that are not UTF-8 (itself a character YAML forbids).</summary>
    public const char NotUtf8 = '\uFFFE';

    // c-printable (YAML 1.2 §5.1, go-yaml's yaml_parser_update_buffer): everything else is refused, and NotUtf8 is among it.
    private static readonly SearchValues<char> Forbidden = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000B\u000C\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F" +
        "\u007F\u0080\u0081\u0082\u0083\u0084\u0086\u0087\u0088\u0089\u008A\u008B\u008C\u008D\u008E\u008F\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009A\u009B\u009C\u009D\u009E\u009F" +
        "\uFFFE\uFFFF");

    private static readonly SearchValues<char> LineBreaks = SearchValues.Create("\r\n");

    private readonly char[] _buffer = new char[1 << 16];
    private int _pos;
    private int _length;
    private bool _eof;
    private int _line = 1;
    private Document? _current;

    /// <summary>The next document, or null at the end of the text. The previous document is drained first.</summary>
    public Document? NextDocument()
    {
        _current?.Drain();
        if (_current is { Overflowed: true } || !Fill(1))
        {
            return null;
        }

        _current = new Document(this, _line, maxDocumentChars);
        return _current;
    }

    /// <summary>Makes at least <paramref name="count"/> characters available when the text has them; false when none is left.</summary>
    private bool Fill(int count)
    {
        if (_length - _pos >= count)
        {
            return true;
        }

        if (_pos > 0)
        {
            Array.Copy(_buffer, _pos, _buffer, 0, _length - _pos);
            _length -= _pos;
            _pos = 0;
        }

        while (!_eof && _length < count)
        {
            int read = inner.Read(_buffer, _length, _buffer.Length - _length);
            if (read == 0)
            {
                _eof = true;
            }

            _length += read;
        }

        return _length - _pos > 0;
    }

    /// <summary>What the line starting at the current position is: a document start, a document end, or content.</summary>
    private LineKind PeekLineKind()
    {
        Fill(4);
        ReadOnlySpan<char> head = _buffer.AsSpan(_pos, Math.Min(4, _length - _pos));
        if (head.Length > 0 && head[0] == '%')
        {
            return LineKind.Directive;
        }

        if (head.Length >= 3 && (head.StartsWith("---") || head.StartsWith("...")) &&
            (head.Length == 3 || head[3] is ' ' or '\t' or '\r' or '\n'))
        {
            return head[0] == '-' ? LineKind.Start : LineKind.End;
        }

        if (head.Length > 0 && head[0] is '#' or '\r' or '\n')
        {
            return LineKind.Blank; // a comment or empty line at column 1 (indented ones count as content: harmless)
        }

        return LineKind.Content;
    }

    private enum LineKind
    {
        Content,
        Blank,
        Start,
        End,
        Directive,
    }

    /// <summary>One document's text.</summary>
    internal sealed class Document(YamlDocumentSplitter owner, int firstLine, int maxChars) : TextReader
    {
        private bool _atLineStart = true;
        private bool _started;
        private bool _ended;
        private bool _endAfterLine;
        private long _chars;

        /// <summary>The line of the whole text on which this document starts (1-based).</summary>
        public int FirstLine { get; } = firstLine;

        /// <summary>The characters read from the document so far.</summary>
        public long CharsRead => _chars;

        /// <summary>Whether the document (or what was skipped of it) reached the character limit.</summary>
        public bool Overflowed { get; private set; }

        /// <summary>The line where a character YAML does not allow was met, or 0; the document ends before it.</summary>
        public int ForbiddenAtLine { get; private set; }

        /// <summary>The 1-based column (in characters) of that character, or 0.</summary>
        public int ForbiddenAtColumn { get; private set; }

        /// <summary>Characters read since the start of the current line.</summary>
        private int _column;

        /// <summary>Whether that character stands for bytes that are not UTF-8 (rather than a control character).</summary>
        public bool ForbiddenIsNotUtf8 { get; private set; }

        public override int Peek()
        {
            if (!Advance())
            {
                return -1;
            }

            char c = owner._buffer[owner._pos];
            return Forbidden.Contains(c) ? -1 : c;
        }

        public override int Read()
        {
            Span<char> one = stackalloc char[1];
            return Read(one) == 1 ? one[0] : -1;
        }

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read(Span<char> buffer)
        {
            int n = 0;
            while (n < buffer.Length && Advance())
            {
                // Copy up to the end of the line (a line start is where a marker may end the document).
                ReadOnlySpan<char> available = owner._buffer.AsSpan(owner._pos, owner._length - owner._pos);
                int breakAt = available.IndexOfAny(LineBreaks);
                int take = breakAt < 0 ? available.Length : breakAt + 1;
                if (breakAt >= 0 && available[breakAt] == '\r' && breakAt + 1 == available.Length && !owner._eof)
                {
                    take = breakAt; // a '\r' at the end of the buffer: read it next time, with what follows
                    if (take == 0)
                    {
                        owner.Fill(2);
                        continue;
                    }
                }

                take = Math.Min(take, buffer.Length - n);
                ReadOnlySpan<char> chunk = available[..take];
                int forbidden = chunk.IndexOfAny(Forbidden);
                if (forbidden >= 0)
                {
                    chunk = chunk[..forbidden];
                    ForbiddenAtLine = owner._line;
                    ForbiddenAtColumn = _column + forbidden + 1;
                    ForbiddenIsNotUtf8 = available[forbidden] == NotUtf8;
                }

                if (_chars + chunk.Length > maxChars)
                {
                    Overflowed = true;
                    _ended = true;
                    break;
                }

                chunk.CopyTo(buffer[n..]);
                n += chunk.Length;
                _chars += chunk.Length;
                owner._pos += chunk.Length;
                if (forbidden >= 0)
                {
                    _ended = true;
                    break;
                }

                char last = chunk.Length > 0 ? chunk[^1] : '\0';
                if (last == '\n' || (last == '\r' && (!owner.Fill(1) || owner._buffer[owner._pos] != '\n')))
                {
                    owner._line++;
                    _atLineStart = true;
                    _column = 0;
                }
                else
                {
                    _column += chunk.Length;
                }
            }

            return n;
        }

        /// <summary>Discards the rest of the document (up to the next marker), counting lines, in bulk.</summary>
        public void Drain()
        {
            while (Advance(skipForbidden: true))
            {
                ReadOnlySpan<char> available = owner._buffer.AsSpan(owner._pos, owner._length - owner._pos);
                int breakAt = available.IndexOf('\n');
                int take = breakAt < 0 ? available.Length : breakAt + 1;
                if (_chars + take > maxChars)
                {
                    Overflowed = true;
                    _ended = true;
                    return;
                }

                _chars += take;
                owner._pos += take;
                if (breakAt >= 0)
                {
                    owner._line++;
                    _atLineStart = true;
                }
            }
        }

        /// <summary>Makes the next character of this document available; false at its end.</summary>
        private bool Advance(bool skipForbidden = false)
        {
            if ((_ended && !skipForbidden) || Overflowed || !owner.Fill(1))
            {
                return false;
            }

            if (_atLineStart)
            {
                if (_endAfterLine)
                {
                    _ended = true;
                    return false;
                }

                switch (owner.PeekLineKind())
                {
                    case LineKind.Start or LineKind.Directive when _started:
                        _ended = true;
                        return false;
                    case LineKind.Start:
                    case LineKind.Content:
                        _started = true;
                        break;
                    case LineKind.End:
                        _endAfterLine = true;
                        break;
                }

                _atLineStart = false;
            }

            return true;
        }
    }
}
