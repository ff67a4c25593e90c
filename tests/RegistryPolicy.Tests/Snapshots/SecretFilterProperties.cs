using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Testing;

namespace RegistryPolicy.Tests.Snapshots;

/// <summary>Loading only what a policy can match (its <see cref="CompiledPolicy.SecretFilter"/>) never changes a resolution.</summary>
public sealed class SecretFilterProperties
{
    [Property(MaxTest = 300)]
    public Property A_filtered_snapshot_resolves_exactly_like_the_full_one() =>
        Prop.ForAll(Gen.Elements(PolicyPresets.Names.ToArray()).ToArbitrary(), SnapshotGenerators.ObjectsArbitrary(SnapshotShape.KymaServerless with
        {
            SecretNames = ["serverless-registry-config", "serverless-registry-config-default", "my-registry", "app-token"],
        }), Gen.Choose(0, 1000).ToArbitrary(), (name, objects, seed) =>
        {
            PolicyPresets.TryGet(name, out CompiledPolicy? policy);
            var random = new Random(seed);
            string json = "{\"kind\":\"List\",\"items\":[" + string.Join(",", objects.Select(o => FastPathProperties.Json(o, random))) + "]}";
            random = new Random(seed);
            string yaml = "# YAML documents in flow style\n" + string.Join("\n---\n", objects.Select(o => FastPathProperties.Json(o, random)));
            ClusterSnapshot full = ClusterSnapshot.Create(SnapshotReader.Read(json, "full.json"));
            foreach ((string text, string source) in new[] { (json, "filtered.json"), (yaml, "filtered.yaml") })
            {
                ClusterSnapshot filtered = ClusterSnapshot.Create(SnapshotReader.Read(text, source, new SnapshotReadOptions { Keep = policy!.SecretFilter }));
                foreach (EvaluationView view in new[] { EvaluationView.Converged, EvaluationView.AsIs })
                {
                    var a = PolicyEngine.Evaluate(policy, full, view).Namespaces;
                    var b = PolicyEngine.Evaluate(policy, filtered, view).Namespaces;
                    if (a.Length != b.Length || !a.Zip(b).All(p => p.First.SameOutcome(p.Second)))
                    {
                        return false.Label($"{name} {view} {source}\n{string.Join("\n", a)}\n--\n{string.Join("\n", b)}");
                    }
                }
            }

            return true.ToProperty();
        });

    [Fact]
    public void A_filtered_secret_with_bad_base64_is_still_reported_and_refused_while_a_filtered_one_keeps_its_namespace()
    {
        const string json = """{"kind":"List","items":[{"kind":"Secret","metadata":{"name":"app-token","namespace":"team-z"},"data":{"token":"!!"}},{"kind":"Secret","metadata":{"name":"other","namespace":"team-y"},"data":{"token":"b2s="}}]}""";

        SnapshotSource source = SnapshotReader.Read(json, "f.json", new SnapshotReadOptions { Keep = PolicyPresets.Default.SecretFilter });
        ClusterSnapshot snapshot = ClusterSnapshot.Create(source);

        Assert.Contains(source.Diagnostics, d => d.Code == "data-not-base64" && d.Subject!.Value.Name == "app-token");
        Assert.Contains(source.Diagnostics, d => d.Code == "secrets-filtered");
        Assert.Empty(snapshot.Secrets);
        // The filtered Secret's namespace is listed; the refused one's is not (the API server never stored that Secret).
        Assert.Equal(["team-y"], snapshot.Namespaces.Select(n => n.Name));
        Assert.Equal("app-token", Assert.Single(snapshot.Refused).Subject.Name);
    }

    [Fact]
    public void The_filter_keeps_candidate_names_base_namespaces_and_selector_labels()
    {
        SecretFilter keep = PolicyPresets.Default.SecretFilter;

        Assert.True(keep("team", "serverless-registry-config", StringMap.Empty));
        Assert.True(keep("kyma-system", "anything", StringMap.Empty));
        Assert.True(keep("team", "anything", StringMap.Of("serverless.kyma-project.io/remote-registry", "config")));
        Assert.False(keep("team", "default-token-abcde", StringMap.Of("app", "web")));
    }

    [Theory]
    [MemberData(nameof(Support.Presets.Names), MemberType = typeof(Support.Presets))]
    public void The_embedded_json_form_of_each_preset_is_its_yaml_document(string name)
    {
        Assert.True(PolicyPresets.TryGetText(name, out string? yaml));
        CompiledPolicy fromYaml = PolicyLoader.Parse(yaml, name + ".yaml");
        string shipped = File.ReadAllText(Path.Combine(Policies.PolicySchemaTests.RepositoryRoot(), "src", "RegistryPolicy", "Policies", "Presets", name + ".json"));

        // If this fails after editing the YAML: registry-policy policy show NAME -o json > src/RegistryPolicy/Policies/Presets/NAME.json
        Assert.Equal(PolicySchema.ToJson(fromYaml.Document), shipped.TrimEnd());
        PolicyPresets.TryGet(name, out CompiledPolicy? preset);
        Assert.Equal(PolicySchema.ToJson(fromYaml.Document), PolicySchema.ToJson(preset!.Document));
    }
}
