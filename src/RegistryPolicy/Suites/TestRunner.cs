using System.Collections.Immutable;
using System.Globalization;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Pulls;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Swap;
using RegistryPolicy.WhatIf;

namespace RegistryPolicy.Suites;

/// <summary>Runs a suite's tests against the engines: pure, from the texts of the files the suite names.</summary>
internal static class TestRunner
{
    public static PolicyTestSuiteResult Run(PolicyTestSuite suite, IReadOnlyDictionary<string, string> files)
    {
        var policyDiagnostics = new List<Diagnostic>();
        CompiledPolicy? policy = null;
        if (suite.PolicyPreset is { } preset)
        {
            PolicyPresets.TryGet(preset, out policy);
        }
        else if (suite.PolicyFile is { } file)
        {
            if (!files.TryGetValue(file, out string? text))
            {
                policyDiagnostics.Add(Missing(suite, file, "spec.policy.file"));
            }
            else
            {
                PolicyLoadResult loaded = PolicyLoader.Load(text, file);
                policyDiagnostics.AddRange(loaded.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error));
                policy = loaded.Policy;
            }
        }

        var cases = ImmutableArray.CreateBuilder<PolicyTestCaseResult>(suite.Cases.Length);
        foreach (TestCase test in suite.Cases)
        {
            cases.Add(policy is null
                ? new PolicyTestCaseResult(test.Name, PolicyTestOutcome.Invalid, 0, [], [.. policyDiagnostics])
                : RunCase(suite, policy, test, files));
        }

        return new PolicyTestSuiteResult(suite.Name, suite.Source, policy?.Name, cases.MoveToImmutable());
    }

    private static Diagnostic Missing(PolicyTestSuite suite, string file, string field) =>
        new("test-file-missing", DiagnosticSeverity.Error, $"the file '{file}' could not be read (paths are relative to the test document)")
        {
            Field = field,
            Location = new SourceLocation(suite.Source, 0, 0),
        };

    private static PolicyTestCaseResult RunCase(PolicyTestSuite suite, CompiledPolicy policy, TestCase test, IReadOnlyDictionary<string, string> files)
    {
        var diagnostics = new List<Diagnostic>(test.ObjectDiagnostics);
        var sources = new List<SnapshotSource>();
        foreach (string file in test.Files)
        {
            if (files.TryGetValue(file, out string? text))
            {
                SnapshotSource read = SnapshotReader.Read(text, file);
                sources.Add(read);
                // What a failed 'kubectl get > file' leaves, or a file that is not a snapshot at all: a test on it tests nothing.
                if (read.Objects.IsEmpty && read.OtherNamespaces.IsEmpty && read.Refused.IsEmpty && !read.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error))
                {
                    diagnostics.Add(new Diagnostic("test-file-empty", DiagnosticSeverity.Error,
                        $"the file '{file}' holds no Kubernetes objects: is it the output of 'kubectl get ... -o yaml|json'?")
                    {
                        Field = "inputs.files",
                        Location = new SourceLocation(suite.Source, 0, 0),
                    });
                }
            }
            else
            {
                diagnostics.Add(Missing(suite, file, "inputs.files"));
            }
        }

        sources.Add(new SnapshotSource(suite.Source, test.Objects, []));
        ClusterSnapshot snapshot = ClusterSnapshot.Create(sources);
        diagnostics.AddRange(snapshot.Diagnostics);
        if (!test.Changes.IsEmpty)
        {
            ChangeResult changed = SnapshotChanges.Apply(snapshot, test.Changes);
            // A change whose target is not there means the test does not test what it says.
            diagnostics.AddRange(changed.Diagnostics.Select(d => d with { Severity = DiagnosticSeverity.Error }));
            snapshot = changed.Snapshot;
        }

        var checks = new Checks();
        Expectations expect = test.Expect;
        Evaluation? evaluation = null;
        PropagationPlan plan = PolicyEngine.Plan(policy, snapshot);
        if (!expect.Namespaces.IsEmpty || !expect.Diagnostics.IsEmpty)
        {
            evaluation = PolicyEngine.Evaluate(policy, snapshot, new EvaluationOptions
            {
                View = test.View,
                Namespaces = [.. expect.Namespaces.Select(n => n.Namespace)],
            });
        }

        // Errors make the test invalid, unless the test expects exactly those codes.
        var expectedCodes = new HashSet<string>(expect.Diagnostics.Select(d => d.Value!), StringComparer.Ordinal);
        var errors = diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error && !expectedCodes.Contains(d.Code)).ToList();
        if (errors.Count > 0)
        {
            return new PolicyTestCaseResult(test.Name, PolicyTestOutcome.Invalid, 0, [], [.. diagnostics]);
        }

        foreach (NamespaceExpectation ns in expect.Namespaces)
        {
            // A namespace the inputs do not have is almost always a typo: it would resolve as an empty namespace and pass.
            if (snapshot.GetNamespace(ns.Namespace) is null)
            {
                checks.Compare($"namespace {ns.Namespace}", new FieldExpectation("exists", "true", ns.Fields.IsEmpty ? default : ns.Fields[0].Location),
                    "false (the inputs have no such namespace: a typo?)");
                continue;
            }

            NamespaceResolution actual = evaluation!.Namespaces.First(n => n.Namespace == ns.Namespace);
            foreach (FieldExpectation field in ns.Fields)
            {
                checks.Compare($"namespace {ns.Namespace}", field, ResolutionField(actual, field));
            }
        }

        if (expect.Plan is { } planExpected)
        {
            checks.CompareSets("plan", "action", planExpected, plan.Actions.Select(a => $"{Op(a.Operation)} {a.Secret}"));
        }

        if (expect.Links is { } linksExpected)
        {
            checks.CompareSets("plan", "serviceAccount link", linksExpected,
                plan.ServiceAccountPatches.Select(p => $"{p.ServiceAccount.Namespace}/{p.ServiceAccount.Name} <- {string.Join(",", p.Secrets)}"));
        }

        foreach (AdmissionExpectation admission in expect.Admission)
        {
            AdmissionResult answer = PolicyEngine.Admit(policy, new AdmissionRequest(admission.Operation, admission.Secret) { NamespaceLabels = admission.NamespaceLabels });
            string subject = $"admission '{admission.Name}'";
            foreach (FieldExpectation field in admission.Fields)
            {
                string actual = field.Field switch
                {
                    "allowed" => Bool(answer.Allowed),
                    "selected" => Bool(answer.Selected),
                    _ => answer.StatusCode.ToString(CultureInfo.InvariantCulture),
                };
                checks.Compare(subject, field with { Value = field.Field is "allowed" or "selected" ? field.Value?.ToLowerInvariant() : field.Value }, actual);
            }

            if (admission.Patch is { } patch)
            {
                checks.CompareSets(subject, "patch", [.. patch.Select(p => new ActionExpectation(p, admission.Location))],
                    answer.Patch.Select(p => $"{p.Op} {p.Path}"));
            }
        }

        if (!expect.Pulls.IsEmpty)
        {
            ImmutableArray<ContainerPull> pulls = PullEngine.Analyze(policy, snapshot, test.View, null);
            foreach (PullExpectation pull in expect.Pulls)
            {
                string subject = $"pull {pull.Workload} container {pull.Container}";
                ContainerPull? actual = pulls.FirstOrDefault(p =>
                    $"{p.Workload.Kind} {p.Workload.Namespace}/{p.Workload.Name}" == pull.Workload && p.Container.Name == pull.Container);
                if (actual is null)
                {
                    bool workloadThere = pulls.Any(p => $"{p.Workload.Kind} {p.Workload.Namespace}/{p.Workload.Name}" == pull.Workload);
                    checks.Compare(workloadThere ? subject : $"pull {pull.Workload}",
                        workloadThere ? new FieldExpectation("container", pull.Container, pull.Location) : new FieldExpectation("workload", pull.Workload, pull.Location),
                        workloadThere ? null : null);
                    continue;
                }

                foreach (FieldExpectation field in pull.Fields)
                {
                    checks.Compare(subject, field, field.Field switch
                    {
                        "pullPolicy" => actual.PullPolicy,
                        "pullSecrets" => string.Join(",", actual.PullSecrets),
                        "credentialKey" => actual.CredentialServer,
                        "credentialSecret" => actual.CredentialSecret?.Name,
                        _ => actual.CredentialFingerprint,
                    });
                }

                if (pull.Findings is { } findings)
                {
                    checks.CompareSets(subject, "finding", [.. findings.Select(f => new ActionExpectation(f, pull.Location))],
                        actual.Findings.Select(f => f.Code).Distinct(StringComparer.Ordinal));
                }
            }
        }

        if (expect.Swap is { } swap)
        {
            ImageSwapMap? map = null;
            if (swap.MirrorRegistries is { } mirrors)
            {
                map = ImageSwapMap.LoadMirrorRegistries(mirrors);
            }
            else if (swap.Map is { } text)
            {
                map = ImageSwapMap.Load(text, suite.Source);
            }
            else if (files.TryGetValue(swap.MapFile!, out string? fileText))
            {
                map = ImageSwapMap.Load(fileText, swap.MapFile!);
            }
            else
            {
                diagnostics.Add(Missing(suite, swap.MapFile!, "expect.swap.mapFile"));
            }

            if (map is null || map.HasErrors)
            {
                if (map is not null)
                {
                    diagnostics.AddRange(map.Diagnostics);
                }

                return new PolicyTestCaseResult(test.Name, PolicyTestOutcome.Invalid, 0, [], [.. diagnostics]);
            }

            var swapper = new ImageSwapper(map, new ImageSwapOptions { Dialect = swap.Dialect });
            foreach (FieldExpectation image in swap.Images)
            {
                checks.Compare($"swap {image.Field}", image with { Field = "result" }, swapper.Rewrite(image.Field).Result);
            }
        }

        if (!expect.Diagnostics.IsEmpty)
        {
            var actualCodes = new HashSet<string>(diagnostics.Concat(evaluation!.Diagnostics).Concat(plan.Warnings).Select(d => d.Code), StringComparer.Ordinal);
            foreach (FieldExpectation code in expect.Diagnostics)
            {
                checks.Compare("diagnostics", code with { Field = "code" }, actualCodes.Contains(code.Value!) ? code.Value : null);
            }
        }

        return new PolicyTestCaseResult(test.Name, checks.Failures.Count == 0 ? PolicyTestOutcome.Passed : PolicyTestOutcome.Failed,
            checks.Count, [.. checks.Failures], [.. diagnostics]);
    }

    private static string? ResolutionField(NamespaceResolution r, FieldExpectation field) => field.Field switch
    {
        "source" => PolicyNames.Of(r.Source),
        "secret" => field.Value is { } v && v.Contains('/', StringComparison.Ordinal) ? r.Secret?.ToString() : r.Secret?.Name,
        "pushAddress" => r.PushAddress,
        "pullAddress" => r.PullAddress,
        "registryAddress" => r.RegistryAddress,
        "serverAddress" => r.ServerAddress,
        "username" => r.Username,
        _ => r.CredentialFingerprint,
    };

    private static string Op(PlanOperation op) => op switch { PlanOperation.Create => "create", PlanOperation.Update => "update", _ => "delete" };

    private static string Bool(bool value) => value ? "true" : "false";

    /// <summary>Counts comparisons and collects the failures.</summary>
    private sealed class Checks
    {
        public int Count { get; private set; }

        public List<PolicyTestFailure> Failures { get; } = [];

        public void Compare(string subject, FieldExpectation expected, string? actual)
        {
            Count++;
            if (!string.Equals(expected.Value, actual, StringComparison.Ordinal))
            {
                Failures.Add(new PolicyTestFailure(subject, expected.Field, expected.Value, actual) { Location = expected.Location });
            }
        }

        /// <summary>The whole set: each expected item missing, and each actual item not expected, is a failure.</summary>
        public void CompareSets(string subject, string field, ImmutableArray<ActionExpectation> expected, IEnumerable<string> actual)
        {
            var remaining = actual.ToList();
            if (expected.IsEmpty && remaining.Count == 0)
            {
                Count++; // "none" was expected, and there is none
            }

            foreach (ActionExpectation item in expected)
            {
                Count++;
                if (!remaining.Remove(item.Text))
                {
                    Failures.Add(new PolicyTestFailure(subject, field, item.Text, null) { Location = item.Location });
                }
            }

            foreach (string extra in remaining)
            {
                Count++;
                Failures.Add(new PolicyTestFailure(subject, field, null, extra));
            }
        }
    }
}
