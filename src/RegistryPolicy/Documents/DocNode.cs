using System.Diagnostics;

namespace RegistryPolicy.Documents;

/// <summary>What a <see cref="DocNode"/> holds.</summary>
internal enum DocNodeKind
{
    Mapping,
    Sequence,
    String,
    Number,
    Bool,
    Null,
}

/// <summary>
/// One node of a parsed YAML or JSON document, with its 1-based line and column. A small, format-neutral tree so that
/// Kubernetes objects and policy documents are read by one strict reader whatever their syntax. Built per object, never for
/// a whole large file.
/// </summary>
[DebuggerDisplay("{Kind} {Line}:{Column}")]
internal sealed class DocNode
{
    private static readonly List<KeyValuePair<DocNode, DocNode>> NoEntries = [];
    private static readonly List<DocNode> NoItems = [];

    private DocNode(DocNodeKind kind, string? scalar, int line, int column)
    {
        Kind = kind;
        Scalar = scalar;
        Line = line;
        Column = column;
    }

    public DocNodeKind Kind { get; }

    /// <summary>The scalar's text (for <see cref="DocNodeKind.Null"/>, the text as written, possibly empty).</summary>
    public string? Scalar { get; }

    public int Line { get; }

    public int Column { get; }

    public List<KeyValuePair<DocNode, DocNode>> Entries { get; private set; } = NoEntries;

    public List<DocNode> Items { get; private set; } = NoItems;

    public bool IsScalar => Kind is not (DocNodeKind.Mapping or DocNodeKind.Sequence);

    public static DocNode NewScalar(DocNodeKind kind, string text, int line, int column) => new(kind, text, line, column);

    public static DocNode NewMapping(int line, int column) => new(DocNodeKind.Mapping, null, line, column) { Entries = [] };

    public static DocNode NewSequence(int line, int column) => new(DocNodeKind.Sequence, null, line, column) { Items = [] };

    /// <summary>The value of the first entry whose key is the string <paramref name="key"/>, or <see langword="null"/>.</summary>
    public DocNode? Get(string key)
    {
        foreach (var entry in Entries)
        {
            if (entry.Key.IsScalar && string.Equals(entry.Key.Scalar, key, StringComparison.Ordinal))
            {
                return entry.Value;
            }
        }

        return null;
    }

    /// <summary>Describes the node's type for error messages: "a mapping", "a string", ...</summary>
    public string Describe() => Kind switch
    {
        DocNodeKind.Mapping => "a mapping",
        DocNodeKind.Sequence => "a list",
        DocNodeKind.String => "a string",
        DocNodeKind.Number => "a number",
        DocNodeKind.Bool => "a boolean",
        _ => "null",
    };
}

/// <summary>Limits that keep hostile documents from using unbounded memory or time. Every limit gives a clear error. Immutable and thread-safe.</summary>
/// <param name="MaxDepth">The deepest nesting of mappings and lists (default 64).</param>
/// <param name="MaxScalarLength">The longest scalar, in characters (default 4 MiB; a Secret is at most 1 MiB).</param>
/// <param name="MaxNodesPerObject">The most nodes in one object, counting every expansion of a YAML alias (default 1,000,000).</param>
public sealed record DocumentLimits(int MaxDepth = 64, int MaxScalarLength = 4 * 1024 * 1024, int MaxNodesPerObject = 1_000_000)
{
    /// <summary>The defaults.</summary>
    public static DocumentLimits Default { get; } = new();
}
