using RegistryPolicy.Tests.Support;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;

namespace RegistryPolicy.Tests.Policies;

public sealed class PolicyLoaderTests
{
    private const string Minimal = """
        apiVersion: registrypolicy.dev/v1alpha1
        kind: RegistryPolicy
        metadata:
          name: minimal
        spec:
          resolution:
            candidates:
              - name: registry
                source: namespace
        """;

    [Theory]
    [MemberData(nameof(Support.Presets.Names), MemberType = typeof(Support.Presets))]
    public void Two_documents_parsed_from_the_same_text_are_equal_and_hash_alike(string name)
    {
        Assert.True(PolicyPresets.TryGetText(name, out string? text));

        RegistryPolicyDocument first = PolicyLoader.Parse(text, "a.yaml").Document;
        RegistryPolicyDocument second = PolicyLoader.Parse(text, "b.yaml").Document;

        Assert.NotSame(first, second);
        Assert.Equal(first, second);
        Assert.Equal(first.GetHashCode(), second.GetHashCode());
        Assert.Equal(PolicyLoader.Load(text, "a.yaml").Diagnostics, PolicyLoader.Load(text, "a.yaml").Diagnostics);
    }

    [Fact]
    public void Documents_that_differ_in_one_list_item_are_not_equal()
    {
        RegistryPolicyDocument first = PolicyLoader.Parse(Minimal, "a.yaml").Document;
        RegistryPolicyDocument second = PolicyLoader.Parse(Minimal.Replace("source: namespace", "source: default"), "b.yaml").Document;

        Assert.NotEqual(first, second);
    }

    [Theory]
    [MemberData(nameof(Support.Presets.Names), MemberType = typeof(Support.Presets))]
    public void Every_preset_loads_without_errors_or_warnings(string name)
    {
        Assert.True(PolicyPresets.TryGetText(name, out string? text));

        Assert.True(PolicyLoading.TryLoad(text, name, out CompiledPolicy? policy, out var diagnostics), string.Join("\n", diagnostics));
        Assert.DoesNotContain(diagnostics, d => d.Severity != DiagnosticSeverity.Info);
        Assert.Equal(name, policy.Name);
    }

    [Fact]
    public void The_default_preset_is_kyma_serverless() => Assert.Equal("kyma-serverless", PolicyPresets.Default.Name);

    [Fact]
    public void A_minimal_policy_loads_with_documented_defaults()
    {
        Assert.True(PolicyLoading.TryLoad(Minimal, "m.yaml", out CompiledPolicy? policy, out _));

        ResolutionCandidate candidate = Assert.Single(policy.Document.Spec.Resolution!.Candidates);
        AddressRule rule = Assert.Single(candidate.Addresses);
        Assert.Equal(("registryAddress", "registryAddress"), (rule.Push, rule.Pull));
        Assert.Empty(policy.Document.Spec.Propagation);
    }

    [Fact]
    public void Every_error_is_reported_at_once_with_line_column_and_fix()
    {
        const string text = """
            apiVersion: registrypolicy.dev/v1alpha1
            kind: RegistryPolicy
            metadata:
              name: broken
            spec:
              propagation:
                - name: p
                  base:
                    namespace: kyma-system
                    selecter:
                      matchLabels: {a: b}
                  onBaseDeleted: deleteUnshieldedCopies
                  targets:
                    skipTerminating: "yes"
              resolution:
                candidates:
                  - name: registry
                    source: cluster
            """;

        Assert.False(PolicyLoading.TryLoad(text, "broken.yaml", out _, out var diagnostics));

        Diagnostic unknown = Assert.Single(diagnostics, d => d.Code == "unknown-field");
        Assert.Equal(new SourceLocation("broken.yaml", 10, 9), unknown.Location);
        Assert.Contains("did you mean 'selector'?", unknown.Message, StringComparison.Ordinal);
        Assert.Equal("spec.propagation[0].base.selecter", unknown.Field);

        Diagnostic enumCase = Assert.Single(diagnostics, d => d.Field == "spec.propagation[0].onBaseDeleted");
        Assert.Contains("write 'DeleteUnshieldedCopies'", enumCase.Message, StringComparison.Ordinal);

        Diagnostic type = Assert.Single(diagnostics, d => d.Field == "spec.propagation[0].targets.skipTerminating");
        Assert.Equal("wrong-type", type.Code);
        Assert.Equal(14, type.Location!.Value.Line);

        Diagnostic source = Assert.Single(diagnostics, d => d.Field == "spec.resolution.candidates[0].source");
        Assert.Contains("cluster-wide", source.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("matchLabels: {a: b}\n  matchExpressions: [{key: a, operator: DoesNotExist}]", "selector-never-matches")]
    [InlineData("matchExpressions: [{key: a, operator: In, values: [p]}, {key: a, operator: In, values: [q]}]", "selector-never-matches")]
    [InlineData("matchExpressions: [{key: a, operator: In, values: [x]}, {key: a, operator: NotIn, values: [x]}]", "selector-never-matches")]
    [InlineData("matchExpressions: [{key: a, operator: In}]", "selector-values-required")]
    [InlineData("matchExpressions: [{key: a, operator: Exists, values: [x]}]", "selector-values-forbidden")]
    [InlineData("matchLabels: {\"bad key!\": b}", "bad-label-key")]
    [InlineData("matchLabels: {a: \"-bad-\"}", "bad-label-value")]
    public void Selectors_that_are_invalid_or_can_never_match_are_errors(string selector, string code)
    {
        string text = Minimal.Replace("        source: namespace", $"        source: namespace\n        selector:\n          {selector.Replace("\n  ", "\n          ", StringComparison.Ordinal)}", StringComparison.Ordinal);

        Assert.False(PolicyLoading.TryLoad(text, "s.yaml", out _, out var diagnostics));

        Assert.Contains(diagnostics, d => d.Code == code && d.Location is { Line: > 0 });
    }

    [Theory]
    [InlineData("propagation: [{name: p, base: {namespace: d, names: [x]}, rename: [{to: \"{ns}-x\"}]}]", "unknown-placeholder", 2, true)]
    [InlineData("propagation: [{name: p, base: {namespace: d, names: [x]}, rename: [{to: \"{name}_X\"}]}]", "bad-name", 2, true)]
    [InlineData("propagation: [{name: p, base: {namespace: d, names: [x]}, rename: [{from: \"Bad\", to: z}]}]", "bad-name", 2, true)]
    [InlineData("propagation: [{name: p, base: {namespace: d, names: [a1, b1]}, rename: [{to: same}]}]", "rename-collides", 2, false)]
    [InlineData("propagation: [{name: p, base: {namespace: d, names: [x]}, rename: [{to: a}, {from: x, to: b}]}]", "rename-unreachable", 2, false)]
    [InlineData("propagation: [{name: p, base: {namespace: d, names: [x]}, targets: {namespaces: [d, t]}}]", "base-namespace-target", 2, false)]
    [InlineData("propagation: [{name: p, base: {namespace: d, names: [x]}, targets: {namespaces: [t], excludeNamespaces: [t]}}]", "scope-contradiction", 2, false)]
    [InlineData("serviceAccountLinks: [{name: l, secrets: {}}]", "link-unbounded", 2, true)]
    [InlineData("serviceAccountLinks: [{name: l, secrets: {names: [a]}}, {name: l, secrets: {names: [b]}}]", "duplicate-name", 2, true)]
    [InlineData("serviceAccountLinks: [{name: l, serviceAccount: Default, secrets: {names: [a]}}]", "bad-name", 2, true)]
    [InlineData("serviceAccountLinks: [{name: l, secrets: {types: [Opaque]}}]", "not-a-pull-secret-type", 2, false)]
    [InlineData("serviceAccountLinks: [{name: l, secrets: {names: [a]}, namespaces: {namespaces: [Team]}}]", "bad-name", 2, true)]
    [InlineData("serviceAccountLinks: [{name: l, secret: {names: [a]}}]", "unknown-field", 2, true)]
    [InlineData("pulls: {defaultPullPolicy: always}", "bad-value", 2, true)]
    [InlineData("pulls: {namespaces: {namespaceSelector: {matchExpressions: [{key: a, operator: In}]}}}", "selector-values-required", 2, true)]
    public void Pull_secret_rules_are_checked_with_their_fix(string spec, string code, int line, bool isError)
    {
        string text = $"apiVersion: registrypolicy.dev/v1alpha1\nkind: RegistryPolicy\nmetadata: {{name: p}}\nspec:\n  {spec}\n";

        bool loaded = PolicyLoading.TryLoad(text, "p.yaml", out _, out var diagnostics);

        Assert.Equal(!isError, loaded);
        Diagnostic found = Assert.Single(diagnostics, d => d.Code == code);
        Assert.Equal(line + 3, found.Location!.Value.Line);
    }

    [Fact]
    public void Duplicate_rule_names_and_bases_without_bounds_are_errors()
    {
        const string text = """
            apiVersion: registrypolicy.dev/v1alpha1
            kind: RegistryPolicy
            metadata: {name: dup}
            spec:
              propagation:
                - name: copy
                  base: {namespace: base}
                - name: copy
                  base: {namespace: base, names: [x]}
            """;

        Assert.False(PolicyLoading.TryLoad(text, "d.yaml", out _, out var diagnostics));

        Assert.Contains(diagnostics, d => d.Code == "duplicate-name" && d.Location!.Value.Line == 8);
        Assert.Contains(diagnostics, d => d.Code == "base-unbounded" && d.Location!.Value.Line == 7);
    }

    [Fact]
    public void Wrong_api_version_kind_and_several_documents_are_refused()
    {
        Assert.False(PolicyLoading.TryLoad(Minimal.Replace("v1alpha1", "v2", StringComparison.Ordinal), "v.yaml", out _, out var v));
        Assert.Contains(v, d => d.Code == "unsupported-api-version");
        Assert.False(PolicyLoading.TryLoad(Minimal.Replace("kind: RegistryPolicy", "kind: Policy", StringComparison.Ordinal), "k.yaml", out _, out var k));
        Assert.Contains(k, d => d.Code == "wrong-kind");
        Assert.False(PolicyLoading.TryLoad(Minimal + "\n---\n" + Minimal, "two.yaml", out _, out var two));
        Assert.Contains(two, d => d.Code == "policy-document-count");
    }

    [Fact]
    public void An_unreachable_candidate_is_a_warning_and_the_policy_still_loads()
    {
        string text = Minimal + "\n      - name: registry\n        source: default\n";

        Assert.True(PolicyLoading.TryLoad(text, "u.yaml", out _, out var diagnostics));

        Assert.Equal("candidate-unreachable", Assert.Single(diagnostics).Code);
    }

    [Fact]
    public void A_policy_written_as_json_loads_like_its_yaml()
    {
        CompiledPolicy yaml = PolicyPresets.Default;
        string json = PolicySchema.ToJson(yaml.Document);

        Assert.True(PolicyLoading.TryLoad(json, "kyma.json", out CompiledPolicy? fromJson, out var diagnostics), string.Join("\n", diagnostics));
        Assert.Equal(json, PolicySchema.ToJson(fromJson.Document));
    }

    [Fact]
    public void Load_throws_with_every_error_listed()
    {
        var e = Assert.Throws<FormatException>(() => PolicyLoader.Parse("kind: RegistryPolicy\n", "x.yaml"));

        Assert.Contains("apiVersion", e.Message, StringComparison.Ordinal);
        Assert.Contains("metadata", e.Message, StringComparison.Ordinal);
    }
}
