using RegistryPolicy.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace RegistryPolicy.Documents;

/// <summary>
/// Reads a YAML stream, one document at a time, into <see cref="DocNode"/> trees. Plain scalars are typed as Kubernetes'
/// YAML reader (YAML 1.1 through <c>sigs.k8s.io/yaml</c>) types them, so that <c>enabled: true</c> in <c>labels</c> is
/// reported as the boolean it is. Aliases are shared, not copied, and count against <see cref="DocumentLimits.MaxNodesPerObject"/>
/// by their expanded size, so an alias bomb is refused after a bounded amount of work.
/// <para>
/// The text is split at document markers (<c>---</c>, <c>...</c> and directives at the start of a line, which YAML forbids
/// inside any scalar) before it reaches the parser, and each document gets a parser of its own: a syntax error or a limit
/// ends only its document, and reading goes on with the next one. A refused document is abandoned at once, not parsed to
/// its end, so the cost stays linear in the input (the parser's own cost grows with nesting, which the depth limit bounds).
/// </para>
/// <para>Messages never quote the document's text: a token may be a credential.</para>
/// </summary>
internal static class YamlDocumentReader
{
    /// <summary>The most characters one document may have, and the most skipped after an error while looking for the next one.</summary>
    internal const int MaxDocumentChars = 256 * 1024 * 1024;

    public static IEnumerable<DocNode> Read(TextReader text, string source, DocumentLimits limits, List<Diagnostic> diagnostics)
    {
        var splitter = new YamlDocumentSplitter(text, MaxDocumentChars);
        while (splitter.NextDocument() is { } document)
        {
            var parser = new Parser(new Scanner(document, skipComments: true));
            int lineOffset = document.FirstLine - 1;
            while (true)
            {
                DocNode? root;
                bool more;
                string? failure = null;
                Mark failureAt = Mark.Empty;
                try
                {
                    more = ReadDocument(parser, document, source, lineOffset, limits, diagnostics, out root);
                }
                catch (YamlException e)
                {
                    root = null;
                    more = false;
                    failure = $"YAML syntax error: {Clean(e.Message)}";
                    failureAt = e.Start;
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or OverflowException)
                {
                    // YamlDotNet throws these (not YamlException) for some malformed input: a tag that is not a URI, an empty
                    // %TAG prefix, a \U escape beyond Unicode, a broken surrogate pair escape. Found by fuzzing.
                    root = null;
                    more = false;
                    failure = "YAML syntax error: the parser cannot read this document (a malformed tag, directive or escape sequence)";
                    failureAt = parser.Current?.Start ?? Mark.Empty;
                }

                if (document.Overflowed)
                {
                    diagnostics.Add(new Diagnostic("document-limit", DiagnosticSeverity.Error,
                        $"a YAML document (or the text skipped after an error) is longer than {MaxDocumentChars / (1024 * 1024)} Mi characters; nothing after this point in the file was read")
                    {
                        Location = new SourceLocation(source, document.FirstLine, 1),
                    });
                    yield break;
                }

                if (document.ForbiddenAtLine > 0)
                {
                    // The parser saw the document end early, at a character go-yaml refuses: the whole document is refused.
                    diagnostics.Add(new Diagnostic("yaml-syntax", DiagnosticSeverity.Error,
                        (document.ForbiddenIsNotUtf8
                            ? "the text is not valid UTF-8 here"
                            : "the text holds a control character here (such as U+0000), which YAML does not allow") +
                        "; kubectl refuses such a document, so it was skipped; the documents after it were read")
                    {
                        Location = new SourceLocation(source, document.ForbiddenAtLine, Math.Max(1, document.ForbiddenAtColumn)),
                    });
                    root = null;
                    more = false;
                }
                else if (failure is not null)
                {
                    diagnostics.Add(new Diagnostic("yaml-syntax", DiagnosticSeverity.Error,
                        $"{failure}. The rest of this document was skipped; the documents after it were read. Fix the syntax and run again.")
                    {
                        Location = new SourceLocation(source, failureAt.Line > 0 ? (int)failureAt.Line + lineOffset : document.FirstLine, failureAt.Line > 0 ? (int)failureAt.Column : 1),
                    });
                }

                if (root is not null)
                {
                    yield return root;
                }

                if (!more)
                {
                    break;
                }
            }

            document.Drain();
            if (document.Overflowed)
            {
                diagnostics.Add(new Diagnostic("document-limit", DiagnosticSeverity.Error,
                    $"no next YAML document was found within {MaxDocumentChars / (1024 * 1024)} Mi characters; nothing after this point in the file was read")
                {
                    Location = new SourceLocation(source, document.FirstLine, 1),
                });
                yield break;
            }
        }
    }

    /// <summary>YamlDotNet's message without its location prefix, and without anything it quotes from the document.</summary>
    private static string Clean(string message)
    {
        // YamlDotNet prefixes "(Line: x, Col: y, Idx: z) - (Line: ...): "; the location is reported separately.
        int at = message.LastIndexOf("): ", StringComparison.Ordinal);
        string text = at >= 0 ? message[(at + 3)..] : message;
        return DisplayText.WithoutQuotedText(text).TrimEnd('.');
    }

    /// <summary>Reads the next document. Returns false at the end of the stream.</summary>
    private static bool ReadDocument(Parser parser, YamlDocumentSplitter.Document document, string source, int lineOffset, DocumentLimits limits, List<Diagnostic> diagnostics, out DocNode? root)
    {
        root = null;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case StreamStart:
                case DocumentEnd:
                    continue;
                case StreamEnd:
                    return false;
                case DocumentStart:
                    root = BuildDocument(parser, document, source, lineOffset, limits, diagnostics, out bool abandoned);
                    return !abandoned;
                default:
                    continue;
            }
        }

        return false;
    }

    private sealed class Frame(DocNode node)
    {
        public DocNode Node { get; } = node;

        public DocNode? PendingKey { get; set; }

        public HashSet<string>? Keys { get; set; }

        public string? Anchor { get; init; }

        public long Size { get; set; } = 1;
    }

    private static DocNode? BuildDocument(Parser parser, YamlDocumentSplitter.Document document, string source, int lineOffset, DocumentLimits limits, List<Diagnostic> diagnostics, out bool abandoned)
    {
        abandoned = false;
        var stack = new Stack<Frame>();
        var anchors = new Dictionary<string, (DocNode Node, long Size)>(StringComparer.Ordinal);
        DocNode? root = null;
        long total = 0;
        string? failure = null;
        Mark failureAt = Mark.Empty;

        while (parser.MoveNext())
        {
            ParsingEvent current = parser.Current!;
            if (current is DocumentEnd)
            {
                break;
            }

            if (failure is not null)
            {
                // Abandon the document: parsing it to its end could cost far more than the limit allows.
                break;
            }

            DocNode? completed = null;
            long completedSize = 0;
            switch (current)
            {
                case Scalar scalar:
                    if (scalar.Value.Length > limits.MaxScalarLength)
                    {
                        failure = $"a scalar of {scalar.Value.Length} characters exceeds the limit of {limits.MaxScalarLength}";
                        failureAt = scalar.Start;
                        continue;
                    }

                    completed = DocNode.NewScalar(TypeOf(scalar), Primitives.JsonText.WithoutLoneSurrogates(scalar.Value), (int)scalar.Start.Line + lineOffset, (int)scalar.Start.Column);
                    completedSize = 1;
                    Remember(anchors, scalar.Anchor, completed, 1);
                    break;
                case AnchorAlias alias:
                    if (!anchors.TryGetValue(alias.Value.Value, out var target))
                    {
                        // The alias is not quoted: a plain scalar starting with '*' (a password, say) reads as an alias.
                        failure = "an alias ('*' followed by a name) names no anchor defined before it; if the value starts with '*', quote it";
                        failureAt = alias.Start;
                        continue;
                    }

                    completed = target.Node;
                    completedSize = target.Size;
                    break;
                case MappingStart map:
                    if (stack.Count >= limits.MaxDepth)
                    {
                        failure = $"nesting deeper than the limit of {limits.MaxDepth} levels";
                        failureAt = map.Start;
                        continue;
                    }

                    stack.Push(new Frame(DocNode.NewMapping((int)map.Start.Line + lineOffset, (int)map.Start.Column)) { Anchor = map.Anchor.IsEmpty ? null : map.Anchor.Value });
                    continue;
                case SequenceStart seq:
                    if (stack.Count >= limits.MaxDepth)
                    {
                        failure = $"nesting deeper than the limit of {limits.MaxDepth} levels";
                        failureAt = seq.Start;
                        continue;
                    }

                    stack.Push(new Frame(DocNode.NewSequence((int)seq.Start.Line + lineOffset, (int)seq.Start.Column)) { Anchor = seq.Anchor.IsEmpty ? null : seq.Anchor.Value });
                    continue;
                case MappingEnd:
                case SequenceEnd:
                    Frame done = stack.Pop();
                    completed = done.Node;
                    completedSize = done.Size;
                    if (done.Anchor is not null)
                    {
                        anchors[done.Anchor] = (done.Node, done.Size);
                    }

                    break;
                default:
                    continue;
            }

            // Each node counts once, an alias by the size of what it names. One object (an item of a List, or the whole
            // document otherwise) may expand to MaxNodesPerObject; the document, to that or 16 nodes per character read,
            // so a List of many objects is read while aliases cannot multiply the work beyond the size of the input.
            total += current is AnchorAlias ? completedSize : 1;
            bool isList = stack.Count == 0 ? completed!.Kind == DocNodeKind.Mapping && completed.Get("items") is { Kind: DocNodeKind.Sequence }
                : stack.Count == 1 && completed!.Kind == DocNodeKind.Sequence && stack.Peek().PendingKey?.Scalar == "items";
            long budget = Math.Max(limits.MaxNodesPerObject, 16 * document.CharsRead);
            if (total > budget || (!isList && completedSize > limits.MaxNodesPerObject))
            {
                failure = total > budget
                    ? $"the document expands to more than {budget} nodes (aliases count once per use)"
                    : $"an object expands to more than {limits.MaxNodesPerObject} nodes (aliases count once per use)";
                failureAt = current.Start;
                stack.Clear();
                continue;
            }

            if (stack.Count == 0)
            {
                root = completed;
                continue;
            }

            Frame parent = stack.Peek();
            parent.Size += completedSize;
            if (parent.Node.Kind == DocNodeKind.Sequence)
            {
                parent.Node.Items.Add(completed!);
            }
            else if (parent.PendingKey is null)
            {
                parent.PendingKey = completed;
            }
            else
            {
                DocNode key = parent.PendingKey;
                parent.PendingKey = null;
                if (key.IsScalar && key.Scalar is { } name)
                {
                    parent.Keys ??= new HashSet<string>(StringComparer.Ordinal);
                    if (!parent.Keys.Add(name))
                    {
                        diagnostics.Add(new Diagnostic("duplicate-key", DiagnosticSeverity.Error,
                            $"the key '{DisplayText.Escape(name)}' appears twice in one mapping. kubectl 1.32 accepts such a manifest and keeps the last value; this reader keeps the first and reports an error, so that what the cluster gets is never guessed: remove one of them.")
                        {
                            Location = new SourceLocation(source, key.Line, key.Column),
                        });
                        continue;
                    }
                }

                parent.Node.Entries.Add(new(key, completed!));
            }
        }

        if (failure is not null)
        {
            diagnostics.Add(new Diagnostic(failure.StartsWith("an alias", StringComparison.Ordinal) ? "yaml-syntax" : "document-limit", DiagnosticSeverity.Error,
                $"YAML document refused: {failure}. The whole document was skipped; the rest of the file was read.")
            {
                Location = new SourceLocation(source, (int)failureAt.Line + lineOffset, (int)failureAt.Column),
            });
            abandoned = true;
            return null;
        }

        return root;
    }

    private static void Remember(Dictionary<string, (DocNode, long)> anchors, AnchorName anchor, DocNode node, long size)
    {
        if (!anchor.IsEmpty)
        {
            anchors[anchor.Value] = (node, size);
        }
    }

    private static DocNodeKind TypeOf(Scalar scalar)
    {
        if (scalar.Style != ScalarStyle.Plain)
        {
            return DocNodeKind.String;
        }

        if (!scalar.Tag.IsEmpty)
        {
            return scalar.Tag.Value switch
            {
                "tag:yaml.org,2002:str" => DocNodeKind.String,
                "tag:yaml.org,2002:null" => DocNodeKind.Null,
                "tag:yaml.org,2002:bool" => DocNodeKind.Bool,
                "tag:yaml.org,2002:int" or "tag:yaml.org,2002:float" => DocNodeKind.Number,
                _ => DocNodeKind.String,
            };
        }

        return PlainScalarKind(scalar.Value);
    }

    /// <summary>Whether a scalar typed <see cref="DocNodeKind.Bool"/> is true (YAML 1.1: <c>y</c>, <c>yes</c>, <c>on</c>, <c>true</c> in their three cases).</summary>
    internal static bool IsTrue(string value) => value is "y" or "Y" or "yes" or "Yes" or "YES" or "on" or "On" or "ON" or "true" or "True" or "TRUE";

    /// <summary>The YAML 1.1 resolution of a plain scalar, as go-yaml v2 (and so kubectl) performs it.</summary>
    internal static DocNodeKind PlainScalarKind(string value)
    {
        switch (value)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return DocNodeKind.Null;
            case "y" or "Y" or "yes" or "Yes" or "YES" or "on" or "On" or "ON" or "true" or "True" or "TRUE"
                or "n" or "N" or "no" or "No" or "NO" or "off" or "Off" or "OFF" or "false" or "False" or "FALSE":
                return DocNodeKind.Bool;
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF" or "-.inf" or "-.Inf" or "-.INF" or ".nan" or ".NaN" or ".NAN":
                return DocNodeKind.Number;
            default:
                return LooksNumeric(value) ? DocNodeKind.Number : DocNodeKind.String;
        }
    }

    private static bool LooksNumeric(string value)
    {
        ReadOnlySpan<char> s = value;
        if (s.Length > 0 && (s[0] == '+' || s[0] == '-'))
        {
            s = s[1..];
        }

        if (s.Length == 0)
        {
            return false;
        }

        if (s.Length > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        {
            return AllOf(s[2..], static c => char.IsAsciiHexDigit(c) || c == '_');
        }

        if (s.Length > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
        {
            return AllOf(s[2..], static c => c is '0' or '1' or '_');
        }

        // Decimal integer or float: digits, at most one '.', optional exponent; '_' allowed between digits (YAML 1.1).
        int i = 0;
        bool digits = false;
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || (s[i] == '_' && digits)))
        {
            digits = true;
            i++;
        }

        if (i < s.Length && s[i] == '.')
        {
            i++;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '_'))
            {
                digits = true;
                i++;
            }
        }

        if (!digits)
        {
            return false;
        }

        if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
        {
            i++;
            if (i < s.Length && (s[i] == '+' || s[i] == '-'))
            {
                i++;
            }

            int start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
            }

            if (i == start)
            {
                return false;
            }
        }

        return i == s.Length;
    }

    private static bool AllOf(ReadOnlySpan<char> s, Func<char, bool> test)
    {
        if (s.IsEmpty)
        {
            return false;
        }

        foreach (char c in s)
        {
            if (!test(c))
            {
                return false;
            }
        }

        return true;
    }
}
