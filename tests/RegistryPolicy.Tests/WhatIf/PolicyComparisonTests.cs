using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.WhatIf;

namespace RegistryPolicy.Tests.WhatIf;

public sealed class PolicyComparisonTests
{
    private static CompiledPolicy WithSourcesSwapped()
    {
        // The Kyma preset with its two candidates in the other order: the default would win over the override.
        string text = PolicyPresets.Default.Text!;
        int first = text.IndexOf("      - name: serverless-registry-config\n", StringComparison.Ordinal);
        int second = text.IndexOf("      - name: serverless-registry-config-default\n", StringComparison.Ordinal);
        int end = text.IndexOf("    notFoundReason:", StringComparison.Ordinal);
        string swapped = text[..first] + text[second..end] + text[first..second] + text[end..];
        return PolicyLoader.Parse(swapped.Replace("name: kyma-serverless\n", "name: kyma-swapped\n", StringComparison.Ordinal), "swapped.yaml");
    }

    [Fact]
    public void A_planted_difference_is_found_and_shrunk()
    {
        DifferenceSearchResult result = WhatIfEngine.FindPolicyDifference(PolicyPresets.Default, WithSourcesSwapped());

        Assert.True(result.Found);
        Assert.True(result.Counterexample!.Secrets.Length <= 2, string.Join(", ", result.Counterexample.Secrets));
        NamespaceChange change = result.Diff!.Namespaces[0];
        Assert.NotEqual(change.Before.Secret, change.After.Secret);
    }

    [Fact]
    public void A_policy_never_differs_from_itself_within_the_bounds()
    {
        DifferenceSearchResult result = WhatIfEngine.FindPolicyDifference(PolicyPresets.Default, PolicyPresets.Default);

        Assert.False(result.Found);
        Assert.True(result.SnapshotsTried > 1000, result.Bounds);
        Assert.Contains("Secrets from", result.Bounds, StringComparison.Ordinal);
    }

    [Fact]
    public void The_serverless_module_differs_from_kyma_2()
    {
        Assert.True(PolicyPresets.TryGet("kyma-serverless-module", out CompiledPolicy? module));

        DifferenceSearchResult result = WhatIfEngine.FindPolicyDifference(PolicyPresets.Default, module);

        Assert.True(result.Found);
        Assert.Single(result.Counterexample!.Secrets); // one override Secret is enough
    }

    [Fact]
    public void Policies_that_differ_only_in_what_they_write_are_told_apart_by_their_plans()
    {
        Assert.True(PolicyPresets.TryGetText("ibm-iks", out string? ibm));
        CompiledPolicy original = PolicyLoader.Parse(ibm, "ibm.yaml");
        CompiledPolicy updating = PolicyLoader.Parse(ibm.Replace("updateExisting: false", "updateExisting: true", StringComparison.Ordinal), "updating.yaml");
        CompiledPolicy builder = PolicyLoader.Parse(ibm.Replace("serviceAccount: default", "serviceAccount: builder", StringComparison.Ordinal), "builder.yaml");

        DifferenceSearchResult copies = WhatIfEngine.FindPolicyDifference(original, updating);
        DifferenceSearchResult links = WhatIfEngine.FindPolicyDifference(original, builder);
        DifferenceSearchResult same = WhatIfEngine.FindPolicyDifference(original, original);

        Assert.True(copies.Found);
        PlanChange update = Assert.Single(copies.Diff!.Plan);
        Assert.Equal((PlanOperation.Update, true), (update.Action.Operation, update.Appears));
        Assert.True(links.Found);
        // Shrinking keeps only what the difference needs: the link to 'default' that the other policy no longer makes.
        LinkChange link = Assert.Single(links.Diff!.Links);
        Assert.Equal(("default", "all-icr-io", false), (link.ServiceAccount.Name, link.Secret, link.Appears));
        Assert.False(same.Found);
    }

    [Fact]
    public void The_cli_prints_a_counterexample_that_resolve_reads_back()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        string a = Path.Combine(dir, "a.yaml"), b = Path.Combine(dir, "b.yaml"), cx = Path.Combine(dir, "cx.yaml");
        File.WriteAllText(a, PolicyPresets.Default.Text);
        Assert.True(PolicyPresets.TryGetText("kyma-serverless-module", out string? module));
        File.WriteAllText(b, module);

        Support.CliResult diff = Support.CliRunner.Run("policy", "diff", a, b);
        File.WriteAllText(cx, diff.Output);
        Support.CliResult same = Support.CliRunner.Run("policy", "diff", a, a);
        Support.CliResult resolveA = Support.CliRunner.Run("resolve", "-f", cx, "--policy", a, "-o", "json");
        Support.CliResult resolveB = Support.CliRunner.Run("resolve", "-f", cx, "--policy", b, "-o", "json");

        Assert.Equal(3, diff.ExitCode);
        Assert.Equal(0, same.ExitCode);
        Assert.StartsWith("# no difference found within", same.Output, StringComparison.Ordinal);
        Assert.Equal(0, resolveA.ExitCode);
        Assert.NotEqual(resolveA.Output.Replace("kyma-serverless-module", "x", StringComparison.Ordinal).Replace("kyma-serverless", "x", StringComparison.Ordinal),
            resolveB.Output.Replace("kyma-serverless-module", "x", StringComparison.Ordinal).Replace("kyma-serverless", "x", StringComparison.Ordinal));
    }
}
