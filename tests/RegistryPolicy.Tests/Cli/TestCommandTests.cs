using System.Text.Json;
using System.Xml.Linq;
using RegistryPolicy.Tests.Policies;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Cli;

public sealed class TestCommandTests : IDisposable
{
    private static readonly string Root = PolicySchemaTests.RepositoryRoot();
    private readonly string _dir = Directory.CreateTempSubdirectory("rp-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Failing = """
        apiVersion: registrypolicy.dev/v1alpha1
        kind: RegistryPolicyTest
        metadata: {name: failing}
        spec:
          policy: {preset: kyma-serverless}
          inputs: {files: [cluster.yaml]}
          tests:
            - name: team-b is expected to use the cluster-wide Secret
              expect:
                namespaces:
                  team-b: {source: cluster-wide}
            - name: team-a has its own
              expect:
                namespaces:
                  team-a: {source: user-managed}
        """;

    private void Write(string relative, string text)
    {
        string path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    [Fact]
    public void The_sample_suites_pass_with_exit_0()
    {
        CliResult result = CliRunner.Run("test", Path.Combine(Root, "samples", "tests"));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["RESULT", "SUITE", "TEST", "CHECKS"], result.Lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("3 passed, 0 failed, 0 invalid in 1 suite(s)", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_preset_suite_passes_under_the_command()
    {
        CliResult result = CliRunner.Run("test", "--preset", "all");

        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain("FAIL", result.Output, StringComparison.Ordinal);
        Assert.Contains("in 4 suite(s)", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_expectation_exits_3_and_prints_the_namespace_field_expected_actual_and_where_it_is_written()
    {
        File.Copy(Path.Combine(Root, "samples", "kyma-cluster.yaml"), Path.Combine(_dir, "cluster.yaml"));
        Write("suite.test.yaml", Failing);

        CliResult result = CliRunner.Run("test", _dir);

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("FAIL failing: team-b is expected to use the cluster-wide Secret", result.Output, StringComparison.Ordinal);
        Assert.Contains($"  namespace team-b: source: expected \"cluster-wide\", actual \"namespace\"  [{Path.Combine(_dir, "suite.test.yaml")}:11:28]", result.Output, StringComparison.Ordinal);
        Assert.Contains("1 passed, 1 failed, 0 invalid", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Directories_are_searched_recursively_for_test_files_only_leaving_out_hidden_bin_and_obj()
    {
        File.Copy(Path.Combine(Root, "samples", "kyma-cluster.yaml"), Path.Combine(_dir, "cluster.yaml"));
        Write("a/b/deep.test.yaml", Failing.Replace("files: [cluster.yaml]", "files: [../../cluster.yaml]", StringComparison.Ordinal).Replace("name: failing", "name: deep", StringComparison.Ordinal));
        Write("bin/skipped.test.yaml", "not: a suite");
        Write(".git/skipped.test.yaml", "not: a suite");
        Write("notes.yaml", "not: a suite");

        CliResult result = CliRunner.Run("test", _dir, "-o", "json");

        using JsonDocument json = JsonDocument.Parse(result.Output);
        JsonElement suite = Assert.Single(json.RootElement.GetProperty("suites").EnumerateArray());
        Assert.Equal("deep", suite.GetProperty("suite").GetString());
        Assert.Equal("failed", suite.GetProperty("outcome").GetString());
        JsonElement failure = suite.GetProperty("tests")[0].GetProperty("failures")[0];
        Assert.Equal("namespace team-b", failure.GetProperty("subject").GetString());
        Assert.Equal("source", failure.GetProperty("field").GetString());
        Assert.Equal("cluster-wide", failure.GetProperty("expected").GetString());
        Assert.Equal("namespace", failure.GetProperty("actual").GetString());
        Assert.Equal(3, result.ExitCode);
    }

    [Fact]
    public void An_invalid_document_exits_1_with_its_errors_and_the_other_suites_still_run()
    {
        Write("bad.test.yaml", "apiVersion: registrypolicy.dev/v1alpha1\nkind: RegistryPolicyTest\nmetadata: {name: bad}\nspec: {policy: {preset: kyma-serverless}, tests: [{name: t, expct: {}}]}\n");
        File.Copy(Path.Combine(Root, "samples", "tests", "kyma-cluster.test.yaml"), Path.Combine(_dir, "good.test.yaml"));
        File.Copy(Path.Combine(Root, "samples", "kyma-cluster.yaml"), Path.Combine(_dir, "kyma-cluster.yaml"));
        File.Copy(Path.Combine(Root, "samples", "maps.conf"), Path.Combine(_dir, "maps.conf"));
        string good = File.ReadAllText(Path.Combine(_dir, "good.test.yaml")).Replace("../", "", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(_dir, "good.test.yaml"), good);

        CliResult result = CliRunner.Run("test", _dir);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("bad.test.yaml:4:", result.Error, StringComparison.Ordinal);
        Assert.Contains("unknown field 'expct'", result.Error, StringComparison.Ordinal);
        Assert.Contains("3 passed, 0 failed, 0 invalid in 1 suite(s); 1 test document(s) could not be used", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Junit_xml_has_a_testsuite_per_suite_and_a_failure_with_the_diff()
    {
        File.Copy(Path.Combine(Root, "samples", "kyma-cluster.yaml"), Path.Combine(_dir, "cluster.yaml"));
        Write("suite.test.yaml", Failing);
        string junit = Path.Combine(_dir, "junit.xml");

        CliResult result = CliRunner.Run("test", Path.Combine(_dir, "suite.test.yaml"), "--preset", "openfaas", "--junit", junit);

        Assert.Equal(3, result.ExitCode);
        XElement root = XDocument.Load(junit).Root!;
        Assert.Equal("testsuites", root.Name.LocalName);
        Assert.Equal("1", root.Attribute("failures")!.Value);
        Assert.Equal(["openfaas", "failing"], root.Elements("testsuite").Select(s => s.Attribute("name")!.Value));
        XElement failed = root.Descendants("testcase").Single(t => t.Element("failure") is not null);
        Assert.Equal("team-b is expected to use the cluster-wide Secret", failed.Attribute("name")!.Value);
        Assert.Contains("namespace team-b: source: expected \"cluster-wide\", actual \"namespace\"", failed.Element("failure")!.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void The_schema_and_a_preset_suite_can_be_printed_and_the_printed_suite_runs()
    {
        CliResult schema = CliRunner.Run("test", "--print-schema");
        CliResult preset = CliRunner.Run("test", "--print-preset", "ibm-iks");
        Write("ibm.test.yaml", preset.Output);

        Assert.Equal(0, schema.ExitCode);
        Assert.Equal("RegistryPolicyTest", JsonDocument.Parse(schema.Output).RootElement.GetProperty("title").GetString());
        Assert.Equal(0, CliRunner.Run("test", _dir).ExitCode);
        Assert.Equal(2, CliRunner.Run("test", "--print-preset", "nope").ExitCode);
        Assert.Equal(2, CliRunner.Run("test", "--preset", "nope").ExitCode);
    }

    [Fact]
    public void A_directory_without_test_documents_is_an_input_error()
    {
        CliResult result = CliRunner.Run("test", _dir);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no test documents", result.Error, StringComparison.Ordinal);
    }
}

public sealed class WhatIfActionableOutputTests
{
    private static readonly string Samples = Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples");

    [Fact]
    public void A_namespace_a_cluster_wide_secret_would_take_over_gets_the_label_that_keeps_its_own()
    {
        CliResult result = CliRunner.Run("whatif", "--before", Path.Combine(Samples, "kyma-cluster.yaml"), "--after", Path.Combine(Samples, "kyma-cluster.yaml"),
            "--after", Path.Combine(Samples, "cluster-wide-override.yaml"));

        Assert.Equal(["NAMESPACE", "SOURCE", "PUSH", "REBUILD"], result.Lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("fix team-b: to keep its own registry, label its Secret serverless-registry-config serverless.kyma-project.io/managed-by=user: " +
            "kubectl label -n team-b secret serverless-registry-config serverless.kyma-project.io/managed-by=user", result.Output, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^team-b +namespace -> cluster-wide .* yes: billing$", result.Output);
        Assert.Matches(@"(?m)^default +default -> cluster-wide .* no Functions to rebuild$", result.Output);
        Assert.DoesNotContain("(0 Functions)", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_changed_copy_is_one_update_and_the_user_managed_namespaces_and_the_doc_versus_code_rebuild_rule_are_named()
    {
        string dir = Directory.CreateTempSubdirectory("rp-whatif-").FullName;
        string changes = Path.Combine(dir, "rotate.yaml");
        File.WriteAllText(changes, "changes:\n  - {op: setData, target: {kind: Secret, namespace: kyma-system, name: serverless-registry-config-default}, key: password, value: rotated}\n");

        CliResult result = CliRunner.Run("whatif", "--before", Path.Combine(Samples, "kyma-cluster.yaml"), "--changes", changes);

        Assert.Contains("plan ~ create team-c/serverless-registry-config-default: the copy's content changes", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("plan - create team-c/serverless-registry-config-default", result.Output, StringComparison.Ordinal);
        Assert.Contains("note: keep their old credential (managed by the user): team-a", result.Output, StringComparison.Ordinal);
        Assert.Contains("the function-controller rebuilds only on a change of pushAddress", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("rotated", result.Output, StringComparison.Ordinal);
    }
}

public sealed class NewcomerFindingTests
{
    private static readonly string Samples = Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples");

    [Fact]
    public void Junit_into_a_folder_that_does_not_exist_yet_creates_it_and_a_folder_is_refused()
    {
        string dir = Directory.CreateTempSubdirectory("rp-junit-").FullName;

        CliResult made = CliRunner.Run("test", Path.Combine(Samples, "tests"), "--junit", Path.Combine(dir, "test-results", "rp.xml"));
        CliResult folder = CliRunner.Run("test", Path.Combine(Samples, "tests"), "--junit", dir);

        Assert.Equal(0, made.ExitCode);
        Assert.True(File.Exists(Path.Combine(dir, "test-results", "rp.xml")));
        Assert.Equal(1, folder.ExitCode);
        Assert.Contains("is a directory", folder.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_text_file_given_as_a_policy_is_not_quoted_back()
    {
        CliResult result = CliRunner.Run("resolve", "-f", Path.Combine(Samples, "kyma-cluster.yaml"), "--policy", Path.Combine(Samples, "token.txt"));

        Assert.Equal(1, result.ExitCode);
        Assert.DoesNotContain(File.ReadAllText(Path.Combine(Samples, "token.txt")).Trim(), result.Error, StringComparison.Ordinal);
        Assert.Contains("expected a mapping but found a string", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Right_to_left_overrides_in_names_are_escaped_in_tables()
    {
        string dir = Directory.CreateTempSubdirectory("rp-bidi-").FullName;
        File.WriteAllText(Path.Combine(dir, "a.test.yaml"), "apiVersion: registrypolicy.dev/v1alpha1\nkind: RegistryPolicyTest\nmetadata: {name: s}\nspec:\n  policy: {preset: kyma-serverless}\n  tests:\n    - {name: \"evil\u202Etxt\", expect: {swap: {map: 'default::', images: {nginx: nginx}}}}\n");

        CliResult result = CliRunner.Run("test", dir);

        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain("\u202E", result.Output, StringComparison.Ordinal);
        Assert.Contains("evil\\u202etxt", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Whatif_markdown_says_in_words_whether_an_action_appears_or_disappears()
    {
        CliResult result = CliRunner.Run("whatif", "--before", Path.Combine(Samples, "kyma-cluster.yaml"), "--preset", "kyma-serverless", "--preset-after", "kyma-serverless-module", "-o", "markdown");

        Assert.Contains("- no longer: create default/my-registry", result.Output, StringComparison.Ordinal);
        Assert.Contains("- now: create kube-system/serverless-registry-config-default", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("- - ", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Pulls_in_the_converged_view_says_that_it_assumes_the_manual_steps()
    {
        CliResult result = CliRunner.Run("pulls", "-f", Path.Combine(Samples, "ibm-iks-cluster.yaml"), "--preset", "ibm-iks");

        Assert.Contains("the converged view assumes the policy's manual steps are done", result.Error, StringComparison.Ordinal);
    }
}
