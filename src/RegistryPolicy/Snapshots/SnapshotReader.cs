using System.Collections.Immutable;
using System.Text;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Documents;

namespace RegistryPolicy.Snapshots;

/// <summary>The objects and diagnostics read from one source (a file, or text given by the caller). Immutable and thread-safe.</summary>
/// <param name="Source">The source's name, as used in locations.</param>
/// <param name="Objects">The objects read, in document order, each with where it starts.</param>
/// <param name="Diagnostics">Every problem found; the objects around a bad one are still read.</param>
public sealed record SnapshotSource(string Source, ImmutableArray<LocatedObject> Objects, ImmutableArray<Diagnostic> Diagnostics)
{
    /// <summary>Namespaces known only from Secrets a <see cref="SecretFilter"/> left out: they exist, so they are reported too.</summary>
    public ImmutableArray<string> OtherNamespaces { get; init; } = [];

    /// <summary>Objects the API server would refuse to store, so not in <see cref="Objects"/>; each with its first reason (also in <see cref="Diagnostics"/>).</summary>
    public ImmutableArray<RefusedObject> Refused { get; init; } = [];
}

/// <summary>An object read from a source that the API server would refuse to store, so it is not in the snapshot. Immutable and thread-safe.</summary>
/// <param name="Subject">The object's kind, namespace and name as written.</param>
/// <param name="Location">Where it starts in its source.</param>
/// <param name="Reason">The first rule it breaks (an error diagnostic naming the field).</param>
public sealed record RefusedObject(ObjectReference Subject, SourceLocation Location, Diagnostic Reason);

/// <summary>How <see cref="SnapshotReader"/> reads. Immutable and thread-safe.</summary>
public sealed record SnapshotReadOptions
{
    /// <summary>The defaults: <see cref="DocumentLimits.Default"/>, every Secret kept.</summary>
    public static SnapshotReadOptions Default { get; } = new();

    /// <summary>Limits against hostile input.</summary>
    public DocumentLimits Limits { get; init; } = DocumentLimits.Default;

    /// <summary>
    /// If set, only Secrets it accepts are kept; the others are not decoded (an info diagnostic counts them; their base64 and
    /// names are still checked). Use a policy's <see cref="Policies.CompiledPolicy.SecretFilter"/> to keep what that policy
    /// can match, so that memory is proportional to it.
    /// </summary>
    public SecretFilter? Keep { get; init; }
}

/// <summary>Decides whether a Secret is kept in a snapshot (see <see cref="Policies.CompiledPolicy.SecretFilter"/>).</summary>
/// <param name="namespace">The Secret's namespace.</param>
/// <param name="name">Its name.</param>
/// <param name="labels">Its labels.</param>
/// <returns>Whether to keep it.</returns>
public delegate bool SecretFilter(string @namespace, string name, StringMap labels);

/// <summary>An object and where in its source it starts. Immutable and thread-safe.</summary>
/// <param name="Item">The object.</param>
/// <param name="Location">Its location.</param>
public readonly record struct LocatedObject(KubeObject Item, SourceLocation Location);

/// <summary>
/// Reads snapshots as users have them: <c>kubectl get ... -o json|yaml</c> output (a <c>v1 List</c>), single objects,
/// several YAML documents, several JSON values. JSON is read object by object (a 100,000-Secret list never becomes one
/// DOM); YAML is read document by document. Never throws for bad content: every problem is a diagnostic naming the source,
/// line, column, object and field, and the rest is read. <see cref="DocumentLimits"/> bound what hostile input can cost.
/// Stateless: safe to call from any thread.
/// </summary>
public static class SnapshotReader
{
    private static readonly Encoding YamlEncoding = Encoding.GetEncoding("utf-8", EncoderFallback.ReplacementFallback,
        new DecoderReplacementFallback(YamlDocumentSplitter.NotUtf8.ToString()));

    /// <summary>Reads objects from a stream with the default limits; the format (JSON or YAML) is detected from the first non-blank character.</summary>
    /// <param name="stream">The input; read to its end, not closed.</param>
    /// <param name="source">The name used in diagnostics (a file path, say).</param>
    /// <returns>The objects and diagnostics.</returns>
    public static SnapshotSource Read(Stream stream, string source) => Read(stream, source, SnapshotReadOptions.Default);

    /// <summary>Reads objects from a stream; the format (JSON or YAML) is detected from the first non-blank character.</summary>
    /// <param name="stream">The input; read to its end, not closed.</param>
    /// <param name="source">The name used in diagnostics (a file path, say).</param>
    /// <param name="options">Limits against hostile input, and which Secrets to keep.</param>
    /// <returns>The objects and diagnostics.</returns>
    public static SnapshotSource Read(Stream stream, string source, SnapshotReadOptions options)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        DocumentLimits limits = options.Limits;
        SecretFilter? keep = options.Keep;
        var diagnostics = new List<Diagnostic>();
        var decoder = new ObjectDecoder(source, diagnostics);
        var objects = new List<(KubeObject, SourceLocation)>();
        int skipped = 0;
        var filteredNamespaces = new HashSet<string>(StringComparer.Ordinal);

        FastJsonDecoder? fast = null;
        IEnumerable<DocNode> nodes = Documents(stream, source, limits, diagnostics, json => fast = new FastJsonDecoder(source, objects, keep, limits));

        try
        {
            foreach (DocNode node in nodes)
            {
                int before = objects.Count;
                decoder.Decode(node, objects);
                if (keep is not null)
                {
                    for (int i = objects.Count - 1; i >= before; i--)
                    {
                        if (objects[i].Item1 is SecretObject s && !keep(s.Namespace!, s.Name, s.Metadata.Labels))
                        {
                            objects.RemoveAt(i);
                            skipped++;
                            filteredNamespaces.Add(s.Namespace!);
                        }
                    }
                }
            }
        }
        catch (InvalidDataException e)
        {
            diagnostics.Add(new Diagnostic("document-limit", DiagnosticSeverity.Error, e.Message + " Nothing after it was read.")
            {
                Location = new SourceLocation(source, 0, 0),
            });
        }

        skipped += fast?.Skipped ?? 0;
        filteredNamespaces.UnionWith(fast?.FilteredNamespaces ?? []);
        if (skipped > 0)
        {
            diagnostics.Add(new Diagnostic("secrets-filtered", DiagnosticSeverity.Info,
                $"{skipped} Secret(s) that the policy cannot match were not loaded")
            {
                Location = new SourceLocation(source, 0, 0),
            });
        }

        if (decoder.Ignored.Count > 0)
        {
            diagnostics.Add(new Diagnostic("kinds-ignored", DiagnosticSeverity.Info,
                "objects of kinds registry policy does not use were skipped: " +
                string.Join(", ", decoder.Ignored.Select(p => $"{p.Value} {p.Key}")))
            {
                Location = new SourceLocation(source, 0, 0),
            });
        }

        return new SnapshotSource(source, [.. objects.Select(o => new LocatedObject(o.Item1, o.Item2))], [.. diagnostics])
        {
            OtherNamespaces = [.. filteredNamespaces.Order(StringComparer.Ordinal)],
            Refused = [.. decoder.Refused],
        };
    }

    /// <summary>
    /// The documents of a stream, as trees, for readers that need the whole object (a manifest to rewrite): the format is
    /// detected from the first non-blank character (a byte order mark is skipped); a JSON <c>v1 List</c> gives its items.
    /// When <paramref name="fastPath"/> is given, JSON objects go through the decoder it returns first.
    /// </summary>
    internal static IEnumerable<DocNode> Documents(Stream stream, string source, DocumentLimits limits, List<Diagnostic> diagnostics,
        Func<bool, FastJsonDecoder>? fastPath = null)
    {
        var head = new byte[4096];
        int length = 0;
        int read;
        while (length < head.Length && (read = stream.Read(head, length, head.Length - length)) > 0)
        {
            length += read;
        }

        // A UTF-8 byte order mark (Windows editors write one) is not part of the document, in JSON as in YAML.
        int bom = head.AsSpan(0, length).StartsWith("\uFEFF"u8) ? 3 : 0;
        var whole = new PrefixedStream(head.AsMemory(bom, length - bom), stream);
        if (IsJson(head.AsSpan(bom, length - bom)))
        {
            FastJsonDecoder? fast = fastPath?.Invoke(true);
            return JsonObjectStream.Read(whole, source, limits, diagnostics, fast is null ? null : fast.TryDecode);
        }

        // Bytes that are not UTF-8 decode to a character YAML forbids, so that the document is refused as go-yaml refuses it.
        var text = new StreamReader(whole, YamlEncoding, detectEncodingFromByteOrderMarks: false, bufferSize: 65536, leaveOpen: true);
        return YamlDocumentReader.Read(text, source, limits, diagnostics);
    }

    /// <summary>Reads objects from text with the default limits.</summary>
    /// <param name="text">YAML or JSON.</param>
    /// <param name="source">The name used in diagnostics.</param>
    /// <returns>The objects and diagnostics.</returns>
    public static SnapshotSource Read(string text, string source) => Read(text, source, SnapshotReadOptions.Default);

    /// <summary>Reads objects from text.</summary>
    /// <param name="text">YAML or JSON.</param>
    /// <param name="source">The name used in diagnostics.</param>
    /// <param name="options">Limits against hostile input, and which Secrets to keep.</param>
    /// <returns>The objects and diagnostics.</returns>
    public static SnapshotSource Read(string text, string source, SnapshotReadOptions options)
    {
        ArgumentNullException.ThrowIfNull(text);
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text), writable: false);
        return Read(stream, source, options);
    }

    private static bool IsJson(ReadOnlySpan<byte> head)
    {
        foreach (byte b in head)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                continue;
            }

            return b is (byte)'{' or (byte)'[';
        }

        return false;
    }

    /// <summary>A read-only stream of some bytes already read, then the rest of another stream.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (!_prefix.IsEmpty)
            {
                int n = Math.Min(buffer.Length, _prefix.Length);
                _prefix.Span[..n].CopyTo(buffer);
                _prefix = _prefix[n..];
                return n;
            }

            return rest.Read(buffer);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
