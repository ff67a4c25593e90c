namespace RegistryPolicy.Documents;

/// <summary>
/// Splits YAML text into documents before any parser sees it: a line that starts with <c>---</c> or a directive (<c>%</c>)
/// begins a new document once the current one has content, and a <c>...</c> line ends the current one. YAML forbids these
/// markers inside scalars, so the split is exact for every valid stream; for a broken one it lets reading go on with the
/// next document. Each document is a <see cref="TextReader"/> that ends where the next begins. Lines are counted so that
/// locations stay those of the whole file.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "A Document is a view over the splitter's buffer and holds nothing to dispose.")]
internal sealed class YamlDocumentSplitter(TextReader inner, int maxDocumentChars)
{
    private readonly char[] _buffer = new char[1 << 16];
    private int _pos;
    private int _length;
    private bool _eof;
    private int _line = 1;
    private Document? _current;

    /// <summary>The next document, or null at the end of the text. The previous document must have been read or drained.</summary>
    public Document? NextDocument()
    {
        _current?.Drain();
        if (!Fill(1))
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

        /// <summary>Whether the document was cut at the character limit.</summary>
        public bool Overflowed { get; private set; }

        public override int Peek() => Next(consume: false);

        public override int Read() => Next(consume: true);

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read(Span<char> buffer)
        {
            int n = 0;
            while (n < buffer.Length)
            {
                int c = Next(consume: true);
                if (c < 0)
                {
                    break;
                }

                buffer[n++] = (char)c;
            }

            return n;
        }

        /// <summary>Reads and discards the rest of the document.</summary>
        public void Drain()
        {
            while (Next(consume: true) >= 0)
            {
            }
        }

        private int Next(bool consume)
        {
            if (_ended || !owner.Fill(1))
            {
                _ended = true;
                return -1;
            }

            if (_atLineStart)
            {
                if (_endAfterLine)
                {
                    _ended = true;
                    return -1;
                }

                switch (owner.PeekLineKind())
                {
                    case LineKind.Start or LineKind.Directive when _started:
                        _ended = true;
                        return -1;
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

            char c = owner._buffer[owner._pos];
            if (!consume)
            {
                return c;
            }

            if (++_chars > maxChars)
            {
                Overflowed = true;
                _ended = true;
                return -1;
            }

            owner._pos++;
            if (c == '\n' || (c == '\r' && (!owner.Fill(1) || owner._buffer[owner._pos] != '\n')))
            {
                owner._line++;
                _atLineStart = true;
            }

            return c;
        }
    }
}
