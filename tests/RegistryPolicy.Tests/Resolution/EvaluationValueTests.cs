using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Tests.Resolution;

/// <summary>Results are plain values: safe to share across threads, equal by content, and <c>with</c> behaves as for any record.</summary>
public sealed class EvaluationValueTests
{
    private static readonly string Samples = Path.Combine(Policies.PolicySchemaTests.RepositoryRoot(), "samples");

    private static ClusterSnapshot Kyma() => ClusterSnapshot.Create(SnapshotReader.Read(File.ReadAllText(Path.Combine(Samples, "kyma-cluster.yaml")), "kyma.yaml"));

    [Fact]
    public void One_evaluation_explains_from_eight_threads_at_once_with_identical_results()
    {
        Evaluation evaluation = PolicyEngine.Evaluate(PolicyPresets.Default, Kyma());
        string[] namespaces = [.. evaluation.Namespaces.Select(n => n.Namespace)];
        var expected = namespaces.ToDictionary(n => n, n => evaluation.Explain(n));
        using var start = new Barrier(8);

        var results = new System.Collections.Concurrent.ConcurrentBag<(string, NamespaceExplanation, string)>();
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, thread =>
        {
            start.SignalAndWait();
            for (int round = 0; round < 25; round++)
            {
                foreach (string ns in namespaces)
                {
                    NamespaceExplanation e = evaluation.Explain(ns);
                    results.Add((ns, e, e.ToString()));
                }
            }
        });

        Assert.Equal(8 * 25 * namespaces.Length, results.Count);
        Assert.All(results, r =>
        {
            Assert.Equal(expected[r.Item1], r.Item2);
            Assert.Equal(expected[r.Item1].ToString(), r.Item3);
            Assert.Equal(evaluation.Find(r.Item1), r.Item2.Resolution);
        });
    }

    [Fact]
    public void Resolutions_are_equal_by_content_and_with_changes_only_what_it_says()
    {
        Evaluation first = PolicyEngine.Evaluate(PolicyPresets.Default, Kyma());
        Evaluation second = PolicyEngine.Evaluate(PolicyPresets.Default, Kyma());
        NamespaceResolution a = first.Find("team-b")!;

        Assert.Equal(first, second);
        Assert.Equal(a, second.Find("team-b"));
        Assert.Equal(a.GetHashCode(), second.Find("team-b")!.GetHashCode());
        NamespaceResolution edited = a with { PushAddress = "elsewhere.example.com" };
        Assert.NotEqual(a, edited);
        Assert.Equal("elsewhere.example.com", edited.PushAddress);
        Assert.Equal(a.Reason, edited.Reason);
        Assert.Equal(a, edited with { PushAddress = a.PushAddress });
        // The explanation comes from the evaluation's inputs, not from whatever the caller did to a result.
        Assert.Equal(a, first.Explain("team-b").Resolution);
    }

    [Fact]
    public void A_resolution_keeps_nothing_of_the_evaluation()
    {
        // Plain data: its fields are strings, enums and a reference struct, so it cannot keep a snapshot, plan or cache alive.
        var fields = typeof(NamespaceResolution).GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public);

        Assert.All(fields, f => Assert.True(f.FieldType == typeof(string) || f.FieldType.IsValueType || f.FieldType == typeof(Type), $"{f.Name}: {f.FieldType}"));
    }

    [Fact]
    public void Find_uses_the_sorted_order_and_finds_every_namespace()
    {
        Evaluation evaluation = PolicyEngine.Evaluate(PolicyPresets.Default, Kyma());

        Assert.All(evaluation.Namespaces, n => Assert.Same(n, evaluation.Find(n.Namespace)));
        Assert.Null(evaluation.Find("zzz-not-there"));
        Assert.Null(evaluation.Find(""));
    }
}
