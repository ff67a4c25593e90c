using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Documents;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Policies;

/// <summary>
/// Loads policy documents (YAML or JSON), strictly: every error in the document is reported at once, each with line, column,
/// the field's path and the fix. Then checks what the model alone cannot: duplicate names, selectors that can never match,
/// invalid label keys, candidates that can never be reached. A policy that loads compiles into a <see cref="CompiledPolicy"/>.
/// Stateless: safe to call from any thread.
/// </summary>
public static class PolicyLoader
{
    /// <summary>Loads and compiles a policy document. Never throws for bad content.</summary>
    /// <param name="text">The document, YAML or JSON.</param>
    /// <param name="source">The name used in diagnostics (a file path, say).</param>
    /// <returns>The compiled policy when there were no errors, and every error and warning found (with line, column and fix).</returns>
    public static PolicyLoadResult Load(string text, string source)
    {
        bool ok = TryLoad(text, source, out CompiledPolicy? policy, out ImmutableArray<Diagnostic> diagnostics);
        return new PolicyLoadResult(ok ? policy : null, diagnostics);
    }

    private static bool TryLoad(string text, string source, [NotNullWhen(true)] out CompiledPolicy? policy, out ImmutableArray<Diagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        var found = new List<Diagnostic>();
        List<DocNode> documents;
        ReadOnlySpan<char> content = text.AsSpan();
        if (content.StartsWith("\uFEFF"))
        {
            content = content[1..]; // a byte order mark is not part of the document
        }

        if (content.TrimStart().StartsWith("{", StringComparison.Ordinal))
        {
            using var stream = new MemoryStream(Encoding.UTF8.GetBytes(content.ToArray()), writable: false);
            documents = JsonObjectStream.Read(stream, source, DocumentLimits.Default, found).ToList();
        }
        else
        {
            documents = YamlDocumentReader.Read(new StringReader(text), source, DocumentLimits.Default, found).ToList();
        }

        policy = null;
        if (documents.Count != 1 || documents[0].Kind == DocNodeKind.Null)
        {
            if (found.Count == 0)
            {
                found.Add(new Diagnostic("policy-document-count", DiagnosticSeverity.Error,
                    $"a policy file holds exactly one document; this one holds {documents.Count}. Put each policy in its own file")
                {
                    Location = new SourceLocation(source, 1, 1),
                });
            }

            diagnostics = [.. found];
            return false;
        }

        var binder = new PolicyBinder(source, found);
        RegistryPolicyDocument? document = binder.BindDocument(documents[0]);
        if (document is not null && binder.Errors == 0)
        {
            PolicyValidator.Validate(document, binder.Locations, found);
        }

        diagnostics = [.. found];
        if (document is null || found.Any(d => d.Severity == DiagnosticSeverity.Error))
        {
            return false;
        }

        policy = new CompiledPolicy(document, text);
        return true;
    }

    /// <summary>Validates and compiles a policy built in code. Never throws for a bad document.</summary>
    /// <param name="document">The document.</param>
    /// <returns>The compiled policy when there were no errors, and every error and warning found (without locations).</returns>
    public static PolicyLoadResult Compile(RegistryPolicyDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var found = new List<Diagnostic>();
        PolicyValidator.Validate(document, new Dictionary<string, SourceLocation>(), found);
        CompiledPolicy? policy = found.Any(d => d.Severity == DiagnosticSeverity.Error) ? null : new CompiledPolicy(document, null);
        return new PolicyLoadResult(policy, [.. found]);
    }

    /// <summary>Parses a policy, throwing when it has errors. For presets and tests; use <see cref="Load"/> for user input.</summary>
    /// <param name="text">The document.</param>
    /// <param name="source">The name used in diagnostics.</param>
    /// <returns>The compiled policy.</returns>
    /// <exception cref="FormatException">The document has errors; the message lists them.</exception>
    public static CompiledPolicy Parse(string text, string source) =>
        TryLoad(text, source, out CompiledPolicy? policy, out var diagnostics)
            ? policy
            : throw new FormatException(new StringBuilder("The policy has errors:").AppendJoin("", diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => "\n  " + d)).ToString());
}

/// <summary>What <see cref="PolicyLoader.Load"/> and <see cref="PolicyLoader.Compile"/> give. Immutable, value equality, thread-safe.</summary>
/// <param name="Policy">The compiled policy, or <see langword="null"/> when the document has errors.</param>
/// <param name="Diagnostics">Every error and warning found, each with its location (for a loaded document) and fix.</param>
public sealed record PolicyLoadResult(CompiledPolicy? Policy, ValueArray<Diagnostic> Diagnostics)
{
    /// <summary>Whether any diagnostic is an error (then <see cref="Policy"/> is null).</summary>
    [MemberNotNullWhen(false, nameof(Policy))]
    public bool HasErrors => Policy is null || Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
}
