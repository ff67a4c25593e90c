using System.Collections.Immutable;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Documents;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Suites;
using RegistryPolicy.Testing;
using RegistryPolicy.Tests.Policies;

namespace RegistryPolicy.Tests.Suites;

public sealed class PolicyTestSuiteTests
{
    private const string Header = "apiVersion: registrypolicy.dev/v1alpha1\nkind: RegistryPolicyTest\nmetadata: {name: s}\n";

    private static PolicyTestSuiteResult Run(string yaml, IReadOnlyDictionary<string, string>? files = null)
    {
        PolicyTestSuiteLoadResult loaded = PolicyTestSuite.Load(yaml, "t.test.yaml");
        Assert.True(loaded.Suite is not null, string.Join("\n", loaded.Diagnostics));
        return loaded.Suite.Run(files ?? new Dictionary<string, string>());
    }

    public static TheoryData<string> PresetSuites() => [.. PolicyTestSuite.PresetSuiteNames];

    [Fact]
    public void Every_preset_ships_with_a_test_suite()
    {
        Assert.Equal(PolicyPresets.Names.ToArray(), PolicyTestSuite.PresetSuiteNames.ToArray());
    }

    [Theory]
    [MemberData(nameof(PresetSuites))]
    public void The_suite_of_every_preset_passes(string preset)
    {
        Assert.True(PolicyTestSuite.TryGetPresetSuite(preset, out string? text));
        PolicyTestSuiteLoadResult loaded = PolicyTestSuite.Load(text, "preset:" + preset);
        Assert.Empty(loaded.Diagnostics);
        PolicyTestSuiteResult result = loaded.Suite!.Run(new Dictionary<string, string>());

        Assert.Equal(preset, loaded.Suite.PolicyPreset);
        Assert.All(result.Cases, c => Assert.True(c.Outcome == PolicyTestOutcome.Passed,
            $"{c.Name}: {c.Outcome}\n{string.Join("\n", c.Failures)}\n{string.Join("\n", c.Diagnostics)}"));
        Assert.All(result.Cases, c => Assert.True(c.Checks > 0, $"{c.Name} compares nothing"));
    }

    [Fact]
    public void The_sample_suite_in_the_repository_passes_with_its_files()
    {
        string dir = Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "tests");
        string path = Path.Combine(dir, "kyma-cluster.test.yaml");
        PolicyTestSuite suite = PolicyTestSuite.Load(File.ReadAllText(path), path).Suite!;
        var files = suite.Files.ToDictionary(f => f, f => File.ReadAllText(Path.Combine(dir, f)));

        PolicyTestSuiteResult result = suite.Run(files);

        Assert.Equal(["../kyma-cluster.yaml", "../maps.conf"], suite.Files.ToArray());
        Assert.Equal(PolicyTestOutcome.Passed, result.Outcome);
    }

    [Fact]
    public void A_failing_expectation_names_the_namespace_the_field_the_expected_and_the_actual_value()
    {
        PolicyTestSuiteResult result = Run(Header + """
            spec:
              policy: {preset: kyma-serverless}
              tests:
                - name: wrong source
                  inputs:
                    objects:
                      - {apiVersion: v1, kind: Namespace, metadata: {name: team-b}}
                      - apiVersion: v1
                        kind: Secret
                        metadata: {name: serverless-registry-config, namespace: team-b}
                        stringData: {registryAddress: ghcr.io/team-b, username: bot, password: example-password}
                  expect:
                    namespaces:
                      team-b: {source: cluster-wide, pushAddress: ghcr.io/team-b, username: someone}
            """);

        PolicyTestCaseResult test = Assert.Single(result.Cases);
        Assert.Equal(PolicyTestOutcome.Failed, test.Outcome);
        Assert.Equal(3, test.Checks);
        Assert.Equal(2, test.Failures.Count);
        Assert.Equal("namespace team-b: source: expected \"cluster-wide\", actual \"namespace\"", test.Failures[0].ToString());
        Assert.Equal("namespace team-b: username: expected \"someone\", actual \"bot\"", test.Failures[1].ToString());
        Assert.Equal(new SourceLocation("t.test.yaml", 17, 28), test.Failures[0].Location);
        Assert.Equal(PolicyTestOutcome.Failed, result.Outcome);
    }

    [Fact]
    public void Null_expects_a_field_to_be_absent()
    {
        PolicyTestSuiteResult result = Run(Header + """
            spec:
              policy: {preset: kyma-serverless}
              tests:
                - name: absent
                  inputs:
                    objects:
                      - {apiVersion: v1, kind: Namespace, metadata: {name: team-b}}
                      - apiVersion: v1
                        kind: Secret
                        metadata: {name: serverless-registry-config, namespace: team-b}
                        stringData: {registryAddress: ghcr.io/team-b, username: bot, password: example-password}
                  expect:
                    namespaces:
                      team-b: {serverAddress: null, pushAddress: null}
            """);

        PolicyTestFailure failure = Assert.Single(Assert.Single(result.Cases).Failures);
        Assert.Equal("namespace team-b: pushAddress: expected (absent), actual \"ghcr.io/team-b\"", failure.ToString());
    }

    [Fact]
    public void The_plan_is_compared_as_a_whole_set_naming_what_is_missing_and_what_is_not_expected()
    {
        PolicyTestSuiteResult result = Run(Header + """
            spec:
              policy: {preset: kyma-serverless}
              inputs:
                objects:
                  - {apiVersion: v1, kind: Namespace, metadata: {name: team-a}}
                  - apiVersion: v1
                    kind: Secret
                    metadata: {name: serverless-registry-config-default, namespace: kyma-system, labels: {serverless.kyma-project.io/config: credentials}}
                    stringData: {registryAddress: r.example.com}
              tests:
                - name: plan
                  expect:
                    plan:
                      - {op: create, secret: team-a/serverless-registry-config-default}
                      - {op: delete, secret: team-a/old}
            """);

        PolicyTestCaseResult test = Assert.Single(result.Cases);
        Assert.Equal(
            [
                "plan: action: expected \"delete team-a/old\", actual (absent)",
                "plan: action: expected (absent), actual \"update kyma-system/serverless-registry-config-default\"",
            ],
            test.Failures.Select(f => f.ToString()));
    }

    [Fact]
    public void Pull_expectations_compare_the_credential_key_as_written_and_the_whole_set_of_findings()
    {
        PolicyTestSuiteResult result = Run(Header + """
            spec:
              policy: {preset: openfaas}
              tests:
                - name: pulls
                  inputs:
                    objects:
                      - apiVersion: v1
                        kind: Pod
                        metadata: {name: p, namespace: team-a}
                        spec:
                          imagePullSecrets: [{name: missing}]
                          containers: [{name: app, image: registry.example.com/app:1}]
                  expect:
                    pulls:
                      - {workload: Pod team-a/p, container: app, pullPolicy: IfNotPresent, findings: [no-credential]}
                      - {workload: Pod team-a/p, container: sidecar}
            """);

        PolicyTestCaseResult test = Assert.Single(result.Cases);
        Assert.Equal(
            [
                "pull Pod team-a/p container app: finding: expected (absent), actual \"pull-secret-missing\"",
                "pull Pod team-a/p container sidecar: container: expected \"sidecar\", actual (absent)",
            ],
            test.Failures.Select(f => f.ToString()));
    }

    [Fact]
    public void Swap_expectations_rewrite_each_image_with_the_map()
    {
        PolicyTestSuiteResult result = Run(Header + """
            spec:
              policy: {preset: kyma-serverless}
              tests:
                - name: swap
                  expect:
                    swap:
                      map: "default::\ndocker.io::mirror.example.com/hub"
                      images:
                        nginx: mirror.example.com/hub/nginx
                        quay.io/a/b: mirror.example.com/quay/a/b
            """);

        PolicyTestFailure failure = Assert.Single(Assert.Single(result.Cases).Failures);
        Assert.Equal("swap quay.io/a/b: result: expected \"mirror.example.com/quay/a/b\", actual \"quay.io/a/b\"", failure.ToString());
    }

    [Fact]
    public void A_test_whose_input_file_is_missing_is_invalid_not_failed()
    {
        PolicyTestSuiteResult result = Run(Header + """
            spec:
              policy: {preset: kyma-serverless}
              inputs: {files: [cluster.yaml]}
              tests:
                - {name: t, expect: {namespaces: {team-a: {source: none}}}}
            """);

        PolicyTestCaseResult test = Assert.Single(result.Cases);
        Assert.Equal(PolicyTestOutcome.Invalid, test.Outcome);
        Assert.Contains(test.Diagnostics, d => d.Code == "test-file-missing" && d.Message.Contains("cluster.yaml", StringComparison.Ordinal));
        Assert.Equal(PolicyTestOutcome.Invalid, result.Outcome);
    }

    [Fact]
    public void An_input_the_api_server_refuses_makes_the_test_invalid_unless_the_test_expects_that_diagnostic()
    {
        string Suite(string expect) => Header + """
            spec:
              policy: {preset: kyma-serverless}
              tests:
                - name: t
                  inputs:
                    objects:
                      - {apiVersion: v1, kind: Secret, metadata: {name: Bad_Name, namespace: team-a}}
                  expect:
            """ + "\n" + expect;

        Assert.Equal(PolicyTestOutcome.Invalid, Run(Suite("        namespaces: {team-a: {source: none}}")).Outcome);
        PolicyTestSuiteResult expected = Run(Suite("        diagnostics: [invalid-name]"));
        Assert.Equal(PolicyTestOutcome.Passed, expected.Outcome);
    }

    [Fact]
    public void A_change_whose_target_does_not_exist_makes_the_test_invalid()
    {
        PolicyTestSuiteResult result = Run(Header + """
            spec:
              policy: {preset: kyma-serverless}
              tests:
                - name: t
                  changes:
                    - {op: setLabel, target: {kind: Secret, namespace: team-a, name: nothing}, key: a, value: b}
                  expect: {namespaces: {team-a: {source: none}}}
            """);

        Assert.Equal(PolicyTestOutcome.Invalid, Assert.Single(result.Cases).Outcome);
    }

    [Fact]
    public void Every_mistake_in_a_document_is_reported_with_line_column_and_the_fields_allowed()
    {
        PolicyTestSuiteLoadResult loaded = PolicyTestSuite.Load(Header + """
            spec:
              policy: {preset: kyma-serverles}
              tests:
                - name: a
                  expect: {namespace: {team-a: {source: none}}}
                - name: a
                  view: sideways
                  expect: {pulls: [{workload: web, container: app}]}
            """, "bad.test.yaml");

        Assert.Null(loaded.Suite);
        string[] messages = [.. loaded.Diagnostics.Select(d => d.ToString())];
        Assert.Contains(messages, m => m.Contains("bad.test.yaml:5:20", StringComparison.Ordinal) && m.Contains("there is no preset 'kyma-serverles'", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("bad.test.yaml:8:16", StringComparison.Ordinal) && m.Contains("unknown field 'namespace'", StringComparison.Ordinal) &&
            m.Contains("namespaces, plan, links, admission, pulls, swap, diagnostics", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("two tests are named 'a'", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("view is 'converged' (default) or 'as-is'", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("workload is 'Kind namespace/name'", StringComparison.Ordinal));
        Assert.Equal(5, loaded.Diagnostics.Count);
    }

    [Theory]
    [InlineData("apiVersion: v1\nkind: RegistryPolicyTest\nmetadata: {name: a}\nspec: {policy: {preset: kyma-serverless}, tests: [{name: t, expect: {}}]}", "apiVersion must be")]
    [InlineData("apiVersion: registrypolicy.dev/v1alpha1\nkind: RegistryPolicy\nmetadata: {name: a}\nspec: {}", "this is a policy, not a test document")]
    [InlineData("", "exactly one RegistryPolicyTest document")]
    [InlineData("a: [", "")]
    [InlineData("{\"apiVersion\": 1", "")]
    [InlineData("apiVersion: registrypolicy.dev/v1alpha1\nkind: RegistryPolicyTest\nmetadata: {name: a}\nspec: {policy: {preset: kyma-serverless, file: p.yaml}, tests: []}", "exactly one of 'preset' or 'file'")]
    public void A_document_that_is_not_a_test_suite_is_refused_with_a_reason(string text, string reason)
    {
        PolicyTestSuiteLoadResult loaded = PolicyTestSuite.Load(text, "x");

        Assert.Null(loaded.Suite);
        Assert.Contains(loaded.Diagnostics, d => d.Severity == DiagnosticSeverity.Error && d.Message.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public void A_policy_file_the_suite_names_is_loaded_from_the_texts_given_and_its_errors_make_every_test_invalid()
    {
        const string Suite = Header + "spec:\n  policy: {file: my-policy.yaml}\n  tests:\n    - {name: t, expect: {namespaces: {team-a: {source: default}}}}\n";
        PolicyTestSuite suite = PolicyTestSuite.Load(Suite, "t").Suite!;
        Assert.True(PolicyPresets.TryGetText("kyma-serverless", out string? policy));

        Assert.Equal(["my-policy.yaml"], suite.Files.ToArray());
        Assert.Equal(PolicyTestOutcome.Failed, suite.Run(new Dictionary<string, string> { ["my-policy.yaml"] = policy }).Outcome);
        Assert.Equal(PolicyTestOutcome.Invalid, suite.Run(new Dictionary<string, string> { ["my-policy.yaml"] = "kind: nonsense" }).Outcome);
        Assert.Equal(PolicyTestOutcome.Invalid, suite.Run(new Dictionary<string, string>()).Outcome);
    }

    [Fact]
    public void The_shipped_schema_in_docs_is_the_one_the_library_prints()
    {
        string shipped = File.ReadAllText(Path.Combine(PolicySchemaTests.RepositoryRoot(), "docs", "registrypolicytest.schema.json")).ReplaceLineEndings("\n").TrimEnd();

        Assert.Equal(PolicyTestSuite.Schema().ReplaceLineEndings("\n").TrimEnd(), shipped);
    }

    [Theory]
    [MemberData(nameof(PresetSuites))]
    public void Every_preset_suite_validates_against_the_schema(string preset)
    {
        PolicyTestSuite.TryGetPresetSuite(preset, out string? text);
        JsonObject schema = JsonNode.Parse(PolicyTestSuite.Schema())!.AsObject();
        DocNode root = YamlDocumentReader.Read(new StringReader(text!), preset, DocumentLimits.Default, []).Single();

        List<string> errors = [];
        PolicySchemaTests.Validate(schema, schema, root, "", errors);

        Assert.Empty(errors);
    }

    [Fact]
    public void The_schema_refuses_what_the_loader_refuses()
    {
        JsonObject schema = JsonNode.Parse(PolicyTestSuite.Schema())!.AsObject();
        DocNode root = YamlDocumentReader.Read(new StringReader(Header + "spec: {policy: {preset: x}, tests: [{name: t, expect: {namespace: {}}, colour: red}]}"), "x", DocumentLimits.Default, []).Single();

        List<string> errors = [];
        PolicySchemaTests.Validate(schema, schema, root, "", errors);

        Assert.Contains(errors, e => e.Contains("expect.namespace", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("colour", StringComparison.Ordinal));
    }

    /// <summary>
    /// Invariant: a suite whose expectations are what the engine computes passes, and changing one expected value makes it
    /// fail with exactly one failure that names that namespace and field.
    /// </summary>
    [Property(MaxTest = 150)]
    public Property A_suite_of_the_engines_own_answers_passes_and_one_wrong_value_fails_it_exactly_there() =>
        Prop.ForAll(SnapshotGenerators.ObjectsArbitrary(SnapshotShape.KymaServerless), Gen.Choose(0, 1000).ToArbitrary(), (generated, pick) =>
        {
            // The generators also make objects the API server refuses (a suite reports those as invalid input): leave them out.
            KubeObject[] objects = [.. generated.Where(o => SnapshotReader.Read(ManifestText.ToJson(o.ToManifest(new ManifestOptions { RevealSecrets = true })), "o").Refused.IsEmpty)];
            ClusterSnapshot snapshot = ClusterSnapshot.Create(objects);
            Evaluation evaluation = PolicyEngine.Evaluate(PolicyPresets.Default, snapshot);
            if (evaluation.Namespaces.IsEmpty)
            {
                return true.Label("no namespaces");
            }

            var namespaces = new JsonObject();
            foreach (NamespaceResolution n in evaluation.Namespaces)
            {
                namespaces[n.Namespace] = new JsonObject
                {
                    ["source"] = PolicyNames.Of(n.Source),
                    ["secret"] = n.Secret?.ToString(),
                    ["pushAddress"] = n.PushAddress,
                    ["username"] = n.Username,
                    ["credentialFingerprint"] = n.CredentialFingerprint,
                };
            }

            JsonObject Suite(JsonObject expected) => new()
            {
                ["apiVersion"] = PolicyTestSuite.ApiVersion,
                ["kind"] = PolicyTestSuite.Kind,
                ["metadata"] = new JsonObject { ["name"] = "generated" },
                ["spec"] = new JsonObject
                {
                    ["policy"] = new JsonObject { ["preset"] = "kyma-serverless" },
                    ["inputs"] = new JsonObject { ["objects"] = new JsonArray([.. objects.Select(o => (JsonNode)o.ToManifest(new ManifestOptions { RevealSecrets = true }))]) },
                    ["tests"] = new JsonArray(new JsonObject { ["name"] = "t", ["expect"] = new JsonObject { ["namespaces"] = expected } }),
                },
            };

            PolicyTestCaseResult passing = Run(ManifestText.ToJson(Suite(namespaces))).Cases[0];
            string target = evaluation.Namespaces[pick % evaluation.Namespaces.Length].Namespace;
            var wrong = (JsonObject)namespaces.DeepClone();
            wrong[target]!["pushAddress"] = "wrong.example.com";
            PolicyTestCaseResult failing = Run(ManifestText.ToJson(Suite(wrong))).Cases[0];

            return (passing.Outcome == PolicyTestOutcome.Passed && passing.Checks == 5 * evaluation.Namespaces.Length &&
                    failing.Outcome == PolicyTestOutcome.Failed && failing.Failures.Count == 1 &&
                    failing.Failures[0].Subject == $"namespace {target}" && failing.Failures[0].Field == "pushAddress" &&
                    failing.Failures[0].Expected == "wrong.example.com")
                .Label($"{passing.Outcome} {string.Join("; ", passing.Failures)} {string.Join("; ", passing.Diagnostics)} / {string.Join("; ", failing.Failures)}");
        });
}

public sealed class PolicyTestSuiteNewcomerTests
{
    private const string Header = "apiVersion: registrypolicy.dev/v1alpha1\nkind: RegistryPolicyTest\nmetadata: {name: s}\nspec:\n  policy: {preset: kyma-serverless}\n";

    [Fact]
    public void An_expected_namespace_the_inputs_do_not_have_fails_as_a_probable_typo()
    {
        PolicyTestSuite suite = PolicyTestSuite.Load(Header + "  inputs: {objects: [{apiVersion: v1, kind: Namespace, metadata: {name: team-c}}]}\n  tests:\n    - {name: t, expect: {namespaces: {tema-c: {source: default}}}}\n", "t").Suite!;

        PolicyTestFailure failure = Assert.Single(Assert.Single(suite.Run(new Dictionary<string, string>()).Cases).Failures);

        Assert.Equal("namespace tema-c", failure.Subject);
        Assert.Equal("exists", failure.Field);
        Assert.Contains("a typo?", failure.Actual, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("namespaces: {Team_C: {source: default}}", "is not a namespace name")]
    [InlineData("namespaces: {team-c: {source: bogus}}", "source is one of")]
    [InlineData("namespaces: {team-c: {username: [a, b]}}", "is a value")]
    [InlineData("plan: [{op: upsert, secret: a/b}]", "op is one of")]
    [InlineData("admission: [{name: a, object: {apiVersion: v1, kind: Secret, metadata: {name: x, namespace: y}}, expect: {allowed: maybe}}]", "allowed is true or false")]
    [InlineData("admission: [{name: a, object: {apiVersion: v1, kind: Secret, metadata: {name: x, namespace: y}}, expect: {statusCode: abc}}]", "statusCode is a whole number")]
    [InlineData("pulls: [{workload: Pod a/b, container: c, pullSecrets: dockerhub}]", "pullSecrets is a list")]
    [InlineData("{}", "expect names nothing to compare")]
    public void A_value_of_the_wrong_kind_makes_the_document_invalid_rather_than_failing_the_test(string expect, string message)
    {
        PolicyTestSuiteLoadResult loaded = PolicyTestSuite.Load(Header + $"  tests:\n    - name: t\n      expect: {(expect == "{}" ? "{}" : "{" + expect + "}")}\n", "t");

        Assert.Null(loaded.Suite);
        Assert.Contains(loaded.Diagnostics, d => d.Message.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("C:/secrets.yaml")]
    public void Files_are_named_relative_to_the_document(string path)
    {
        PolicyTestSuiteLoadResult loaded = PolicyTestSuite.Load(Header + $"  inputs: {{files: ['{path}']}}\n  tests:\n    - {{name: t, expect: {{diagnostics: [x]}}}}\n", "t");

        Assert.Null(loaded.Suite);
        Assert.Contains(loaded.Diagnostics, d => d.Message.Contains("is not a relative path", StringComparison.Ordinal));
    }

    [Fact]
    public void A_policy_file_that_is_not_a_policy_is_never_echoed()
    {
        const string Suite = "apiVersion: registrypolicy.dev/v1alpha1\nkind: RegistryPolicyTest\nmetadata: {name: s}\nspec:\n  policy: {file: p.yaml}\n  tests:\n    - {name: t, expect: {diagnostics: [x]}}\n";
        PolicyTestSuiteResult result = PolicyTestSuite.Load(Suite, "t").Suite!.Run(new Dictionary<string, string> { ["p.yaml"] = "example-token-not-a-secret" });

        PolicyTestCaseResult test = Assert.Single(result.Cases);
        Assert.Equal(PolicyTestOutcome.Invalid, test.Outcome);
        Assert.DoesNotContain(test.Diagnostics, d => d.ToString().Contains("example-token", StringComparison.Ordinal));
    }
}

public sealed class PolicyTestSuiteEmptyInputTests
{
    [Fact]
    public void An_input_file_without_kubernetes_objects_makes_the_test_invalid()
    {
        const string Suite = "apiVersion: registrypolicy.dev/v1alpha1\nkind: RegistryPolicyTest\nmetadata: {name: s}\nspec:\n  policy: {preset: kyma-serverless}\n  inputs: {files: [self.test.yaml]}\n  tests:\n    - {name: t, expect: {swap: {map: 'default::', images: {nginx: nginx}}}}\n";
        PolicyTestSuite suite = PolicyTestSuite.Load(Suite, "self.test.yaml").Suite!;

        PolicyTestCaseResult test = Assert.Single(suite.Run(new Dictionary<string, string> { ["self.test.yaml"] = Suite }).Cases);

        Assert.Equal(PolicyTestOutcome.Invalid, test.Outcome);
        Assert.Contains(test.Diagnostics, d => d.Code == "test-file-empty");
    }
}
