using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Documents;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Suites;

/// <summary>
/// A policy test document (<c>kind: RegistryPolicyTest</c>): a policy (a preset or a file), input objects (inline or
/// files), optional hypothetical changes, and the outcomes expected — per namespace the resolution, the plan's actions and
/// ServiceAccount links, admission answers, pull findings and image-swap results. Load one with <see cref="Load"/>, then
/// <see cref="Run"/> it with the texts of the files it names (<see cref="Files"/>): the core does no I/O. Immutable and
/// thread-safe; running a suite is pure.
/// </summary>
public sealed class PolicyTestSuite
{
    /// <summary>The <c>apiVersion</c> of test documents (the API group of policies).</summary>
    public const string ApiVersion = "registrypolicy.dev/v1alpha1";

    /// <summary>The <c>kind</c> of test documents.</summary>
    public const string Kind = "RegistryPolicyTest";

    private static readonly ImmutableSortedDictionary<string, string> PresetSuites = LoadPresetSuites();

    internal PolicyTestSuite(string name, string source, string? preset, string? policyFile, ImmutableArray<TestCase> cases, ImmutableArray<string> files)
    {
        Name = name;
        Source = source;
        PolicyPreset = preset;
        PolicyFile = policyFile;
        Cases = cases;
        Files = files;
    }

    /// <summary><c>metadata.name</c>.</summary>
    public string Name { get; }

    /// <summary>Where the document was read (used in results and diagnostics).</summary>
    public string Source { get; }

    /// <summary>The preset the suite tests (<c>spec.policy.preset</c>), or <see langword="null"/> when it names a file.</summary>
    public string? PolicyPreset { get; }

    /// <summary>The policy file the suite tests (<c>spec.policy.file</c>, as written, relative to the suite), or <see langword="null"/>.</summary>
    public string? PolicyFile { get; }

    /// <summary>The tests' names, in order.</summary>
    public ImmutableArray<string> TestNames => [.. Cases.Select(c => c.Name)];

    /// <summary>
    /// Every file the suite names (the policy file, input files, swap maps), as written, in order of first mention. A host
    /// resolves each relative to the suite's own folder and passes the texts to <see cref="Run"/>.
    /// </summary>
    public ImmutableArray<string> Files { get; }

    internal ImmutableArray<TestCase> Cases { get; }

    /// <summary>The names of the presets that ship with a test suite (every preset does).</summary>
    public static ImmutableArray<string> PresetSuiteNames { get; } = [.. PresetSuites.Keys];

    /// <summary>Reads a test document (YAML or JSON). Never throws for bad content: every problem is a diagnostic with line, column and fix.</summary>
    /// <param name="text">The document.</param>
    /// <param name="source">The name used in diagnostics (a file path, say).</param>
    /// <returns>The suite when the document has no errors, and every problem found.</returns>
    public static PolicyTestSuiteLoadResult Load(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        var found = new List<Diagnostic>();
        ReadOnlySpan<char> content = text.AsSpan();
        if (content.StartsWith("\uFEFF"))
        {
            content = content[1..];
        }

        List<DocNode> documents;
        if (content.TrimStart().StartsWith("{", StringComparison.Ordinal))
        {
            using var stream = new MemoryStream(Encoding.UTF8.GetBytes(content.ToArray()), writable: false);
            documents = [.. JsonObjectStream.Read(stream, source, DocumentLimits.Default, found)];
        }
        else
        {
            documents = [.. YamlDocumentReader.Read(new StringReader(text), source, DocumentLimits.Default, found)];
        }

        if (found.Any(d => d.Severity == DiagnosticSeverity.Error))
        {
            return new PolicyTestSuiteLoadResult(null, [.. found]);
        }

        if (documents.Count != 1 || documents[0].Kind == DocNodeKind.Null)
        {
            found.Add(new Diagnostic("test-document-count", DiagnosticSeverity.Error,
                $"a test file holds exactly one RegistryPolicyTest document; this one holds {documents.Count}. Put each suite in its own file")
            {
                Location = new SourceLocation(source, 1, 1),
            });
            return new PolicyTestSuiteLoadResult(null, [.. found]);
        }

        PolicyTestSuite? suite = new TestDocumentBinder(source, found).Bind(documents[0]);
        return new PolicyTestSuiteLoadResult(found.Any(d => d.Severity == DiagnosticSeverity.Error) ? null : suite, [.. found]);
    }

    /// <summary>Runs every test of the suite. Never throws for bad content: a test whose inputs cannot be used is <see cref="PolicyTestOutcome.Invalid"/>.</summary>
    /// <param name="files">The text of each file in <see cref="Files"/>, keyed as written there; a missing key makes the tests that need it invalid.</param>
    /// <returns>One result per test, in order.</returns>
    public PolicyTestSuiteResult Run(IReadOnlyDictionary<string, string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        return TestRunner.Run(this, files);
    }

    /// <summary>Gets the test suite shipped with a preset (a document in this format, run by the project's own tests).</summary>
    /// <param name="preset">The preset's name.</param>
    /// <param name="text">The suite's YAML.</param>
    /// <returns>Whether the preset has a suite.</returns>
    public static bool TryGetPresetSuite(string preset, [NotNullWhen(true)] out string? text) => PresetSuites.TryGetValue(preset, out text);

    /// <summary>The JSON Schema of test documents (also shipped as <c>docs/registrypolicytest.schema.json</c>).</summary>
    /// <returns>The schema, as indented JSON.</returns>
    public static string Schema() => TestDocumentSchema.Text;

    private static ImmutableSortedDictionary<string, string> LoadPresetSuites()
    {
        Assembly assembly = typeof(PolicyTestSuite).Assembly;
        const string prefix = "RegistryPolicy.PresetTests.";
        var builder = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(prefix, StringComparison.Ordinal) && r.EndsWith(".test.yaml", StringComparison.Ordinal)))
        {
            using Stream stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            builder[resource[prefix.Length..^".test.yaml".Length]] = reader.ReadToEnd();
        }

        return builder.ToImmutable();
    }
}

/// <summary>What <see cref="PolicyTestSuite.Load"/> gives. Immutable, value equality, thread-safe.</summary>
/// <param name="Suite">The suite, or <see langword="null"/> when the document has errors.</param>
/// <param name="Diagnostics">Every problem found, with line, column and fix.</param>
public sealed record PolicyTestSuiteLoadResult(PolicyTestSuite? Suite, ValueArray<Diagnostic> Diagnostics);

/// <summary>How one test ended.</summary>
public enum PolicyTestOutcome
{
    /// <summary>Every expectation held.</summary>
    Passed,

    /// <summary>At least one expectation did not hold (see <see cref="PolicyTestCaseResult.Failures"/>).</summary>
    Failed,

    /// <summary>The test could not run: an input, policy or change has errors, or a file is missing (see <see cref="PolicyTestCaseResult.Diagnostics"/>).</summary>
    Invalid,
}

/// <summary>
/// One expectation that did not hold: what it is about (<c>namespace team-a</c>, <c>plan</c>, <c>pull Deployment a/web
/// container app</c>), the field, and the expected and actual values as text (never a password: tests compare usernames,
/// addresses and fingerprints). Immutable, value equality, thread-safe.
/// </summary>
/// <param name="Subject">What the expectation is about.</param>
/// <param name="Field">The field compared.</param>
/// <param name="Expected">The expected value, or <see langword="null"/> for "absent".</param>
/// <param name="Actual">The actual value, or <see langword="null"/> for "absent".</param>
public sealed record PolicyTestFailure(string Subject, string Field, string? Expected, string? Actual)
{
    /// <summary>Where the expectation is written in the test document.</summary>
    public SourceLocation? Location { get; init; }

    /// <summary>Formats as <c>subject: field: expected "x", actual "y"</c>, escaped for a terminal.</summary>
    /// <returns>The failure as one line.</returns>
    public override string ToString() =>
        $"{DisplayText.Escape(Subject)}: {DisplayText.Escape(Field)}: expected {Quote(Expected)}, actual {Quote(Actual)}";

    private static string Quote(string? value) => value is null ? "(absent)" : "\"" + DisplayText.Escape(value) + "\"";
}

/// <summary>The result of one test. Immutable, value equality, thread-safe.</summary>
/// <param name="Name">The test's name.</param>
/// <param name="Outcome">Passed, failed or invalid.</param>
/// <param name="Checks">How many values were compared.</param>
/// <param name="Failures">The expectations that did not hold, in document order.</param>
/// <param name="Diagnostics">Problems with the test's inputs (errors make it invalid; warnings are kept for the report).</param>
public sealed record PolicyTestCaseResult(string Name, PolicyTestOutcome Outcome, int Checks, ValueArray<PolicyTestFailure> Failures, ValueArray<Diagnostic> Diagnostics);

/// <summary>The results of a suite. Immutable, value equality, thread-safe.</summary>
/// <param name="Suite">The suite's name.</param>
/// <param name="Source">Where the suite was read.</param>
/// <param name="Policy">The name of the policy tested, or <see langword="null"/> when it could not be loaded.</param>
/// <param name="Cases">One result per test, in order.</param>
public sealed record PolicyTestSuiteResult(string Suite, string Source, string? Policy, ValueArray<PolicyTestCaseResult> Cases)
{
    /// <summary>The suite's outcome: invalid if any test is, else failed if any test is, else passed.</summary>
    public PolicyTestOutcome Outcome =>
        Cases.Any(c => c.Outcome == PolicyTestOutcome.Invalid) ? PolicyTestOutcome.Invalid
        : Cases.Any(c => c.Outcome == PolicyTestOutcome.Failed) ? PolicyTestOutcome.Failed
        : PolicyTestOutcome.Passed;
}
