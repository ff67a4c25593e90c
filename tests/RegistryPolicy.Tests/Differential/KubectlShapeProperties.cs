using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Differential;

/// <summary>
/// The shapes users really have: every sample re-printed by the real kubectl as <c>kubectl get -A -o json|yaml</c> prints
/// it (keys sorted, so <c>data</c> before <c>metadata</c>; server fields; an empty Secret without <c>data</c>), as a
/// <c>v1 List</c> in JSON and YAML, as YAML documents, as a stream of JSON values, and with the keys of every object in a
/// random order. Every command must give the same answer for all of them.
/// </summary>
[Trait("Category", "RealComponent")]
public sealed class KubectlShapeProperties
{
    public static TheoryData<string> Samples => ["kyma-cluster.yaml", "openfaas-cluster.yaml", "ibm-iks-cluster.yaml", "cluster-wide-override.yaml"];

    internal static string SamplePath(string name) => Path.Combine(Policies.PolicySchemaTests.RepositoryRoot(), "samples", name);

    /// <summary>Every command that reads a snapshot, with each output format, as argument lists for a file.</summary>
    internal static IEnumerable<string[]> Commands(string file, string firstNamespace)
    {
        foreach (string format in new[] { "table", "json", "yaml" })
        {
            yield return ["resolve", "-f", file, "-o", format];
            yield return ["plan", "-f", file, "-o", format];
        }

        yield return ["resolve", "-f", file, "--view", "as-is", "--preset", "kyma-serverless-module"];
        yield return ["explain", "-f", file, "-n", firstNamespace];
        foreach (string preset in new[] { "openfaas", "ibm-iks" })
        {
            yield return ["plan", "-f", file, "--preset", preset, "-o", "json"];
            yield return ["pulls", "-f", file, "--preset", preset, "-o", "json"];
        }

        yield return ["pulls", "-f", file];
        yield return ["pulls", "-f", file, "-o", "json"];
        yield return ["whatif", "--before", file, "--preset-after", "kyma-serverless-module", "-o", "json"];
        yield return ["whatif", "--before", file, "--preset-after", "kyma-serverless-module", "-o", "markdown"];
        yield return ["swap", "--mirror-registries", "docker.io::mirror.example.com/docker.io", "-f", file, "-o", "patch"];
        yield return ["creds", "decode", "-f", file];
        yield return ["creds", "decode", "-f", file, "-o", "json"];
        yield return ["admit", "-f", file, "-o", "json"];
    }

    [SkippableTheory]
    [MemberData(nameof(Samples))]
    public void Every_command_answers_the_same_for_a_sample_in_every_shape_kubectl_prints(string sample)
    {
        Dump dump = KubectlDumps.Of(SamplePath(sample));
        var shapes = Shapes(dump, new Random(sample.Length));
        shapes["sample.yaml"] = File.ReadAllText(SamplePath(sample));
        AssertSameAnswers(shapes, FirstNamespace(dump));
    }

    [SkippableFact]
    public void Kubectl_prints_data_before_metadata_and_leaves_data_out_of_an_empty_secret()
    {
        // The shape that once crashed the reader: make sure the corpus really has it.
        Dump dump = KubectlDumps.Of(SamplePath("ibm-iks-cluster.yaml"));
        string secret = dump.Json.First(j => j.Contains("\"kind\": \"Secret\"", StringComparison.Ordinal) && j.Contains("\"data\"", StringComparison.Ordinal));
        Assert.True(secret.IndexOf("\"data\"", StringComparison.Ordinal) < secret.IndexOf("\"metadata\"", StringComparison.Ordinal), secret);
        string empty = Path.Combine(Directory.CreateTempSubdirectory().FullName, "empty.yaml");
        File.WriteAllText(empty, "apiVersion: v1\nkind: Secret\nmetadata: {name: empty, namespace: team-a}\ntype: Opaque\n");
        Dump withEmpty = KubectlDumps.Of(empty);
        Assert.DoesNotContain("\"data\"", withEmpty.Json[0], StringComparison.Ordinal);

        // Secrets with data, then one without: the fast path must not carry the first one's state into the second.
        string mixed = Dump.JsonList([.. dump.Json, withEmpty.Json[0], .. dump.Json.Where(j => j.Contains("\"kind\": \"Secret\"", StringComparison.Ordinal))]);
        SnapshotSource source = SnapshotReader.Read(mixed, "mixed.json");
        Assert.DoesNotContain(source.Diagnostics, d => d.Severity == Diagnostics.DiagnosticSeverity.Error);
        Assert.Contains(source.Objects, o => o.Item is SecretObject { Name: "empty" } s && s.Data.Count == 0);
    }

    [SkippableFact]
    public void Any_subset_of_the_samples_in_any_key_order_gives_the_same_answers_in_every_shape()
    {
        var pool = new[] { "kyma-cluster.yaml", "openfaas-cluster.yaml", "ibm-iks-cluster.yaml", "cluster-wide-override.yaml" }.Select(s => KubectlDumps.Of(SamplePath(s))).ToArray();
        var objects = pool.SelectMany(d => d.Json.Zip(d.Yaml)).ToArray();
        Gen<(bool[] Keep, int Seed)> cases =
            from keep in Gen.ArrayOf(ArbMap.Default.GeneratorFor<bool>(), objects.Length)
            from seed in Gen.Choose(0, 1_000_000)
            select (keep, seed);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(12), Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var chosen = objects.Where((_, i) => c.Keep[i]).ToArray();
            if (chosen.Length == 0)
            {
                return;
            }

            var dump = new Dump([.. chosen.Select(o => o.First)], [.. chosen.Select(o => o.Second)]);
            AssertSameAnswers(Shapes(dump, new Random(c.Seed)), FirstNamespace(dump));
        }));
    }

    private static Dictionary<string, string> Shapes(Dump dump, Random random)
    {
        string list = Dump.JsonList(dump.Json);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["list.json"] = list,
            ["list.yaml"] = Dump.YamlList(dump.Yaml),
            ["documents.yaml"] = Dump.YamlDocuments(dump.Yaml),
            ["stream.json"] = string.Concat(dump.Json),
            ["shuffled.json"] = Dump.Shuffled(list, random),
            ["bom.json"] = "\uFEFF" + list,
        };
    }

    private static string FirstNamespace(Dump dump)
    {
        SnapshotSource source = SnapshotReader.Read(Dump.JsonList(dump.Json), "x.json");
        return ClusterSnapshot.Create(source).Namespaces.Select(n => n.Name).FirstOrDefault(n => n.StartsWith("team", StringComparison.Ordinal)) ?? "default";
    }

    private static void AssertSameAnswers(Dictionary<string, string> shapes, string ns)
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        var snapshots = new Dictionary<string, ClusterSnapshot>(StringComparer.Ordinal);
        foreach (var (name, text) in shapes)
        {
            File.WriteAllText(Path.Combine(dir, name), text, new System.Text.UTF8Encoding(false));
            snapshots[name] = ClusterSnapshot.Create(SnapshotReader.Read(text, name));
        }

        string reference = shapes.Keys.First();
        foreach (var (name, snapshot) in snapshots)
        {
            Assert.True(snapshot.Objects.SequenceEqual(snapshots[reference].Objects), $"{name} reads other objects than {reference}");
            Assert.DoesNotContain(snapshot.Diagnostics, d => d.Severity == Diagnostics.DiagnosticSeverity.Error);
        }

        foreach (string[] command in Commands("FILE", ns))
        {
            string? expected = null;
            foreach (string name in shapes.Keys)
            {
                string file = Path.Combine(dir, name);
                CliResult result = CliRunner.Run([.. command.Select(a => a == "FILE" ? file : a)]);
                Assert.NotEqual(70, result.ExitCode);
                string answer = $"exit {result.ExitCode}\n{Normalize(result.Output, file)}\n--- stderr\n{Normalize(result.Error, file)}";
                expected ??= answer;
                Assert.True(expected == answer, $"'{string.Join(' ', command)}' answers differently for {name} than for {shapes.Keys.First()}:\n{answer}\n=== vs ===\n{expected}");
            }
        }
    }

    /// <summary>The file's name and positions differ between shapes; nothing else may.</summary>
    private static string Normalize(string text, string file) =>
        Regex.Replace(text.Replace(file, "FILE", StringComparison.Ordinal), @"FILE:\d+:\d+", "FILE");
}
