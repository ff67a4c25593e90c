namespace RegistryPolicy.Diagnostics;

/// <summary>How serious a <see cref="Diagnostic"/> is.</summary>
public enum DiagnosticSeverity
{
    /// <summary>Worth knowing; nothing is wrong.</summary>
    Info = 0,

    /// <summary>Accepted, but probably not what was meant (upstream would accept it silently).</summary>
    Warning = 1,

    /// <summary>Refused: the object or field cannot be used.</summary>
    Error = 2,
}

/// <summary>The Kubernetes object a diagnostic is about. Immutable and thread-safe.</summary>
/// <param name="Kind">The object's kind, for example <c>Secret</c>.</param>
/// <param name="Namespace">Its namespace, or <see langword="null"/> for cluster-scoped objects.</param>
/// <param name="Name">Its name.</param>
public readonly record struct ObjectReference(string Kind, string? Namespace, string Name)
{
    /// <summary>Formats as <c>Kind namespace/name</c> (or <c>Kind name</c> when cluster-scoped).</summary>
    /// <returns>The reference as text.</returns>
    /// <remarks>Characters that could break a line (in a name the API server would refuse) are shown escaped.</remarks>
    public override string ToString() => Namespace is null
        ? $"{DisplayText.Escape(Kind)} {DisplayText.Escape(Name)}"
        : $"{DisplayText.Escape(Kind)} {DisplayText.Escape(Namespace)}/{DisplayText.Escape(Name)}";
}

/// <summary>Where in a source document something was found (1-based line and column; 0 when unknown). Immutable and thread-safe.</summary>
/// <param name="Source">The document's name (a file path, or a name given by the caller).</param>
/// <param name="Line">The 1-based line, or 0.</param>
/// <param name="Column">The 1-based column, or 0.</param>
public readonly record struct SourceLocation(string Source, int Line, int Column)
{
    /// <summary>Formats as <c>source:line:column</c>.</summary>
    /// <returns>The location as text.</returns>
    public override string ToString() => Line > 0 ? $"{DisplayText.Escape(Source)}:{Line}:{Column}" : DisplayText.Escape(Source);
}

/// <summary>
/// A problem found while reading or evaluating input: a stable <see cref="Code"/>, a <see cref="Severity"/>, the object and
/// field it is about, where it was found, and a message that says what is wrong and how to fix it. Messages never contain
/// credentials.
/// Immutable and thread-safe.
/// </summary>
/// <param name="Code">A stable kebab-case code, for example <c>auth-not-base64</c>.</param>
/// <param name="Severity">How serious it is.</param>
/// <param name="Message">What is wrong, and the fix.</param>
public sealed record Diagnostic(string Code, DiagnosticSeverity Severity, string Message)
{
    /// <summary>The object the diagnostic is about, if any.</summary>
    public ObjectReference? Subject { get; init; }

    /// <summary>The path to the field inside the object (for example <c>data[.dockerconfigjson].auths[r.io].auth</c>), if any.</summary>
    public string? Field { get; init; }

    /// <summary>Where in the source document, if known.</summary>
    public SourceLocation? Location { get; init; }

    /// <summary>Formats as <c>severity code: [location] [object] [field]: message</c>.</summary>
    /// <returns>The diagnostic as one line of text.</returns>
    public override string ToString()
    {
        var text = new System.Text.StringBuilder();
        text.Append(Severity switch { DiagnosticSeverity.Error => "error", DiagnosticSeverity.Warning => "warning", _ => "info" });
        text.Append(' ').Append(Code);
        if (Location is null && Subject is null && Field is null)
        {
            // Nothing to place it: "warning code: message", not "warning code:: message".
            return text.Append(": ").Append(DisplayText.EscapeLine(Message.ReplaceLineEndings(" "))).ToString();
        }

        text.Append(':');
        if (Location is { } location)
        {
            text.Append(' ').Append(location.ToString());
        }

        if (Subject is { } obj)
        {
            text.Append(' ').Append(obj.ToString());
        }

        if (Field is not null)
        {
            text.Append(' ').Append(DisplayText.Escape(Field));
        }

        // A message may name what the input named (a pull secret, an image): nothing in it may break the line or reach a terminal raw.
        return text.Append(": ").Append(DisplayText.EscapeLine(Message.ReplaceLineEndings(" "))).ToString();
    }
}
