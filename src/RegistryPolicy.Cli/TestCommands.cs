using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Xml;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Suites;

namespace RegistryPolicy.Cli;

/// <summary><c>registry-policy test</c>: runs RegistryPolicyTest suites (docs/testing.md, "Policy test suites").</summary>
internal static class TestCommands
{
    private static readonly string[] Header = ["RESULT", "SUITE", "TEST", "CHECKS"];

    public static Command Build(CliStreams streams, Dictionary<Command, string> examples)
    {
        var paths = new Argument<string[]>("path")
        {
            Description = "Test documents, or directories searched recursively for *.test.yaml, *.test.yml and *.test.json (default: the current directory).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var presets = new Option<string[]>("--preset")
        {
            Description = $"Also run the suite shipped with a preset (repeatable; 'all' for every one): {string.Join(", ", PolicyTestSuite.PresetSuiteNames)}.",
            AllowMultipleArgumentsPerToken = true,
            HelpName = "name",
        };
        var junit = new Option<string?>("--junit") { Description = "Also write the results as JUnit XML to this file (for CI systems).", HelpName = "file" };
        Option<string> output = OutputFormat.Create("table", "table", "json", "yaml");
        var compact = OutputFormat.CompactOption();
        var printSchema = new Option<bool>("--print-schema") { Description = "Print the JSON Schema of test documents and exit." };
        var printPreset = new Option<string?>("--print-preset") { Description = "Print the suite shipped with a preset (a starting point for your own) and exit.", HelpName = "name" };
        var command = new Command("test",
            "Run policy test suites (kind: RegistryPolicyTest): a policy, input objects, optional changes, and the outcomes expected " +
            "(per namespace the source, addresses, username and credential fingerprint; plan actions; ServiceAccount links; admission answers; " +
            "pull findings; swap results). Prints pass/fail per test and, for each failure, the subject, field, expected and actual value. " +
            "Exit 0 all passed, 3 a test failed, 1 a document or input is invalid.")
        {
            paths, presets, junit, output, compact, printSchema, printPreset,
        };
        examples[command] = """
              registry-policy test samples/tests
              registry-policy test --preset all
              registry-policy test samples/tests --preset kyma-serverless -o json
              registry-policy test samples/tests --junit /tmp/registry-policy-junit.xml
              registry-policy test --print-preset kyma-serverless > /tmp/my-policy.test.yaml
              registry-policy test --print-schema > /tmp/registrypolicytest.schema.json
            """;
        command.SetAction(result =>
        {
            if (result.GetValue(printSchema))
            {
                streams.Out.WriteLine(PolicyTestSuite.Schema());
                return ExitCodes.Ok;
            }

            if (result.GetValue(printPreset) is { } shown)
            {
                if (!PolicyTestSuite.TryGetPresetSuite(shown, out string? text))
                {
                    throw new UsageException($"there is no preset suite '{shown}'; the presets are: {string.Join(", ", PolicyTestSuite.PresetSuiteNames)}");
                }

                streams.Out.Write(text);
                return ExitCodes.Ok;
            }

            var results = new List<PolicyTestSuiteResult>();
            var documentProblems = new List<Diagnostic>();
            string[] presetNames = result.GetValue(presets) ?? [];
            string[] given = result.GetValue(paths) ?? [];
            if (given.Length == 0 && presetNames.Length == 0)
            {
                given = ["."];
            }

            foreach (string name in presetNames.SelectMany(n => n == "all" ? PolicyTestSuite.PresetSuiteNames.AsEnumerable() : [n]).Distinct(StringComparer.Ordinal))
            {
                if (!PolicyTestSuite.TryGetPresetSuite(name, out string? text))
                {
                    throw new UsageException($"there is no preset suite '{name}'; the presets are: {string.Join(", ", PolicyTestSuite.PresetSuiteNames)} (or 'all')");
                }

                RunOne(text, $"preset:{name}", null, results, documentProblems, streams);
            }

            List<string> files = FindTestFiles(given);
            if (files.Count == 0 && presetNames.Length == 0)
            {
                throw new InputException($"no test documents (*.test.yaml, *.test.yml, *.test.json) in {string.Join(", ", given)}");
            }

            foreach (string file in files)
            {
                string text = CliFiles.ReadText(file, "test", streams);
                RunOne(text, file, Path.GetDirectoryName(file), results, documentProblems, streams);
            }

            foreach (var twice in results.GroupBy(r => r.Suite, StringComparer.Ordinal).Where(g => g.Count() > 1))
            {
                documentProblems.Add(new Diagnostic("duplicate-suite-name", DiagnosticSeverity.Warning,
                    $"{twice.Count()} suites are named '{twice.Key}' ({string.Join(", ", twice.Select(r => r.Source))}); their results are hard to tell apart, give each a name of its own"));
            }

            DiagnosticOutput.WriteText(streams.Error, documentProblems);
            string format = result.GetValue(output)!;
            if (format == "table")
            {
                WriteTable(streams.Out, results, documentProblems.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.Location?.Source).Distinct().Count());
            }
            else
            {
                StructuredOutput.Write(streams.Out, Json(results, documentProblems), format, result.GetValue(compact));
            }

            if (result.GetValue(junit) is { } junitFile)
            {
                WriteJunit(junitFile, results, documentProblems);
            }

            bool invalid = documentProblems.Any(d => d.Severity == DiagnosticSeverity.Error) || results.Any(r => r.Outcome == PolicyTestOutcome.Invalid);
            return invalid ? ExitCodes.InputError : results.Any(r => r.Outcome == PolicyTestOutcome.Failed) ? ExitCodes.Refused : ExitCodes.Ok;
        });
        return command;
    }

    private static void RunOne(string text, string source, string? directory, List<PolicyTestSuiteResult> results, List<Diagnostic> problems, CliStreams streams)
    {
        PolicyTestSuiteLoadResult loaded = PolicyTestSuite.Load(text, source);
        problems.AddRange(loaded.Diagnostics);
        if (loaded.Suite is not { } suite)
        {
            return;
        }

        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string file in suite.Files)
        {
            if (directory is null)
            {
                continue; // a shipped suite names no files
            }

            string path = Path.Combine(directory, file);
            if (!File.Exists(path))
            {
                continue; // reported by the run as a missing file of the tests that name it
            }

            try
            {
                // Snapshots are read whole here (they are streamed elsewhere): as large as any snapshot the reader accepts.
                texts[file] = CliFiles.ReadText(path, "test", streams, maxBytes: 256 * 1024 * 1024);
            }
            catch (InputException e)
            {
                problems.Add(new Diagnostic("test-file-unreadable", DiagnosticSeverity.Error, $"{e.Message} (named by suite '{suite.Name}')")
                {
                    Location = new SourceLocation(source, 0, 0),
                });
            }
        }

        results.Add(suite.Run(texts));
    }

    /// <summary>Files given are used as they are; directories are searched (hidden folders, bin and obj left out), sorted.</summary>
    private static List<string> FindTestFiles(string[] paths)
    {
        var files = new List<string>();
        foreach (string path in paths)
        {
            CliFiles.CheckName(path, "test");
            if (File.Exists(path))
            {
                files.Add(path);
                continue;
            }

            if (!Directory.Exists(path))
            {
                throw new InputException($"{path}: no such file or directory");
            }

            var options = new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = FileAttributes.ReparsePoint };
            var pending = new Stack<string>();
            pending.Push(path);
            var found = new List<string>();
            while (pending.Count > 0)
            {
                string dir = pending.Pop();
                found.AddRange(Directory.EnumerateFiles(dir, "*", options).Where(IsTestFile));
                foreach (string sub in Directory.EnumerateDirectories(dir, "*", options))
                {
                    string name = Path.GetFileName(sub);
                    if (!name.StartsWith('.') && name is not ("bin" or "obj" or "node_modules"))
                    {
                        pending.Push(sub);
                    }
                }
            }

            files.AddRange(found.Order(StringComparer.Ordinal));
        }

        return files;

        static bool IsTestFile(string f) =>
            f.EndsWith(".test.yaml", StringComparison.Ordinal) || f.EndsWith(".test.yml", StringComparison.Ordinal) || f.EndsWith(".test.json", StringComparison.Ordinal);
    }

    private static void WriteTable(TextWriter output, List<PolicyTestSuiteResult> results, int invalidDocuments)
    {
        var rows = new List<string[]> { Header };
        foreach (PolicyTestSuiteResult suite in results)
        {
            rows.AddRange(suite.Cases.Select(c => new[] { Word(c.Outcome), suite.Suite, c.Name, c.Checks.ToString(CultureInfo.InvariantCulture) }));
        }

        if (rows.Count > 1)
        {
            Table.Write(output, rows);
        }

        foreach (PolicyTestSuiteResult suite in results)
        {
            foreach (PolicyTestCaseResult test in suite.Cases.Where(c => c.Outcome != PolicyTestOutcome.Passed))
            {
                output.WriteLine();
                output.WriteLine($"{Word(test.Outcome)} {Table.Cell(suite.Suite)}: {Table.Cell(test.Name)} ({Table.Cell(suite.Source)})");
                foreach (PolicyTestFailure failure in test.Failures)
                {
                    output.WriteLine($"  {failure}{(failure.Location is { } at ? $"  [{at}]" : "")}");
                }

                foreach (Diagnostic d in test.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error || test.Outcome == PolicyTestOutcome.Invalid))
                {
                    output.WriteLine($"  {d}");
                }
            }
        }

        int passed = results.Sum(r => r.Cases.Count(c => c.Outcome == PolicyTestOutcome.Passed));
        int failed = results.Sum(r => r.Cases.Count(c => c.Outcome == PolicyTestOutcome.Failed));
        int invalid = results.Sum(r => r.Cases.Count(c => c.Outcome == PolicyTestOutcome.Invalid));
        output.WriteLine();
        output.WriteLine($"{passed} passed, {failed} failed, {invalid} invalid in {results.Count} suite(s)" +
            (invalidDocuments > 0 ? $"; {invalidDocuments} test document(s) could not be used (errors on standard error)" : ""));
    }

    private static string Word(PolicyTestOutcome outcome) => outcome switch
    {
        PolicyTestOutcome.Passed => "pass",
        PolicyTestOutcome.Failed => "FAIL",
        _ => "INVALID",
    };

    private static JsonObject Json(List<PolicyTestSuiteResult> results, List<Diagnostic> problems) => new()
    {
        ["suites"] = new JsonArray([.. results.Select(s => (JsonNode)new JsonObject
        {
            ["suite"] = s.Suite,
            ["source"] = s.Source,
            ["policy"] = s.Policy,
            ["outcome"] = s.Outcome.ToString().ToLowerInvariant(),
            ["tests"] = new JsonArray([.. s.Cases.Select(c => (JsonNode)new JsonObject
            {
                ["name"] = c.Name,
                ["outcome"] = c.Outcome.ToString().ToLowerInvariant(),
                ["checks"] = c.Checks,
                ["failures"] = new JsonArray([.. c.Failures.Select(f => (JsonNode)new JsonObject
                {
                    ["subject"] = f.Subject,
                    ["field"] = f.Field,
                    ["expected"] = f.Expected,
                    ["actual"] = f.Actual,
                    ["location"] = f.Location?.ToString(),
                })]),
                ["diagnostics"] = ResolutionCommands.DiagnosticsJson(c.Diagnostics),
            })]),
        })]),
        ["diagnostics"] = ResolutionCommands.DiagnosticsJson(problems),
    };

    /// <summary>JUnit XML as CI systems read it: a testsuite per suite, a testcase per test, failure or error with the diff.</summary>
    private static void WriteJunit(string path, List<PolicyTestSuiteResult> results, List<Diagnostic> problems)
    {
        var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false), CheckCharacters = false };
        var bytes = new MemoryStream();
        using (var writer = XmlWriter.Create(bytes, settings))
        {
            writer.WriteStartElement("testsuites");
            writer.WriteAttributeString("name", "registry-policy test");
            writer.WriteAttributeString("tests", Count(results.Sum(r => r.Cases.Length)));
            writer.WriteAttributeString("failures", Count(results.Sum(r => r.Cases.Count(c => c.Outcome == PolicyTestOutcome.Failed))));
            bool invalidDocuments = problems.Any(d => d.Severity == DiagnosticSeverity.Error);
            writer.WriteAttributeString("errors", Count(results.Sum(r => r.Cases.Count(c => c.Outcome == PolicyTestOutcome.Invalid)) + (invalidDocuments ? 1 : 0)));
            foreach (PolicyTestSuiteResult suite in results)
            {
                writer.WriteStartElement("testsuite");
                writer.WriteAttributeString("name", Xml(suite.Suite));
                writer.WriteAttributeString("file", Xml(suite.Source));
                writer.WriteAttributeString("tests", Count(suite.Cases.Length));
                writer.WriteAttributeString("failures", Count(suite.Cases.Count(c => c.Outcome == PolicyTestOutcome.Failed)));
                writer.WriteAttributeString("errors", Count(suite.Cases.Count(c => c.Outcome == PolicyTestOutcome.Invalid)));
                foreach (PolicyTestCaseResult test in suite.Cases)
                {
                    writer.WriteStartElement("testcase");
                    writer.WriteAttributeString("classname", Xml(suite.Suite));
                    writer.WriteAttributeString("name", Xml(test.Name));
                    writer.WriteAttributeString("assertions", Count(test.Checks));
                    if (test.Outcome == PolicyTestOutcome.Failed)
                    {
                        writer.WriteStartElement("failure");
                        writer.WriteAttributeString("message", Xml($"{test.Failures.Count} expectation(s) did not hold"));
                        writer.WriteString(Xml(string.Join("\n", test.Failures.Select(f => f.ToString()))));
                        writer.WriteEndElement();
                    }
                    else if (test.Outcome == PolicyTestOutcome.Invalid)
                    {
                        writer.WriteStartElement("error");
                        writer.WriteAttributeString("message", "the test's inputs are invalid");
                        writer.WriteString(Xml(string.Join("\n", test.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()))));
                        writer.WriteEndElement();
                    }

                    writer.WriteEndElement();
                }

                writer.WriteEndElement();
            }

            if (problems.Any(d => d.Severity == DiagnosticSeverity.Error))
            {
                writer.WriteStartElement("testsuite");
                writer.WriteAttributeString("name", "invalid test documents");
                writer.WriteAttributeString("tests", "1");
                writer.WriteAttributeString("errors", "1");
                writer.WriteStartElement("testcase");
                writer.WriteAttributeString("name", "test documents load");
                writer.WriteStartElement("error");
                writer.WriteAttributeString("message", "test documents have errors");
                writer.WriteString(Xml(string.Join("\n", problems.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()))));
                writer.WriteEndElement();
                writer.WriteEndElement();
                writer.WriteEndElement();
            }

            writer.WriteEndElement();
        }

        CliFiles.CheckName(path, "--junit");
        if (Directory.Exists(path))
        {
            throw new InputException($"--junit {path}: is a directory; give the XML file's path");
        }

        bytes.WriteByte((byte)'\n');
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } parent)
        {
            Directory.CreateDirectory(parent); // CI jobs name a results folder that does not exist yet
        }

        File.WriteAllBytes(path, bytes.ToArray());

        static string Count(int n) => n.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Text XML 1.0 can hold: characters it forbids (controls, lone surrogates) become U+FFFD.</summary>
    private static string Xml(string text)
    {
        var builder = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[++i]);
            }
            else if (c is '\t' or '\n' or '\r' || (c >= 0x20 && c < 0xD800) || (c >= 0xE000 && c <= 0xFFFD))
            {
                builder.Append(c);
            }
            else
            {
                builder.Append('\uFFFD');
            }
        }

        return builder.ToString();
    }
}
