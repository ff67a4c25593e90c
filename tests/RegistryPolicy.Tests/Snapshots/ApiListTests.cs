using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Tests.Snapshots;

/// <summary>
/// The API server's typed lists (what <c>kubectl get --raw /api/v1/secrets</c> and live reads get) leave <c>kind</c> and
/// <c>apiVersion</c> out of their items; the reader takes them from the list, as kubectl does.
/// </summary>
public sealed class ApiListTests
{
    private const string SecretList = """
        {"kind":"SecretList","apiVersion":"v1","metadata":{"resourceVersion":"1234"},"items":[
          {"metadata":{"name":"regcred","namespace":"team-a","resourceVersion":"10"},"type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":"eyJhdXRocyI6e319"}},
          {"metadata":{"name":"plain","namespace":"team-b"},"data":{"k":"dg=="}}
        ]}
        """;

    [Fact]
    public void Items_of_a_typed_list_without_kind_are_read_as_the_list_says()
    {
        SnapshotSource source = SnapshotReader.Read(SecretList, "raw.json");

        Assert.Empty(source.Diagnostics);
        Assert.Equal(["team-a/regcred", "team-b/plain"], source.Objects.Select(o => $"{o.Item.Namespace}/{o.Item.Name}"));
        Assert.All(source.Objects, o => Assert.IsType<SecretObject>(o.Item));
    }

    [Fact]
    public void An_item_that_names_its_own_kind_keeps_it_and_a_plain_List_still_needs_kinds()
    {
        SnapshotSource mixed = SnapshotReader.Read("""{"kind":"SecretList","apiVersion":"v1","items":[{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c","namespace":"a"}}]}""", "m.json");
        Assert.IsType<ConfigMapObject>(Assert.Single(mixed.Objects).Item);

        SnapshotSource plain = SnapshotReader.Read("""{"kind":"List","apiVersion":"v1","items":[{"metadata":{"name":"s","namespace":"a"}}]}""", "p.json");
        Assert.Empty(plain.Objects);
        Assert.Contains(plain.Diagnostics, d => d.Code == "kind-missing");
    }

    [Fact]
    public void A_typed_list_reads_to_the_same_objects_as_kubectls_list_of_the_same_items()
    {
        string kubectlShape = """
            {"apiVersion":"v1","items":[
              {"apiVersion":"v1","kind":"Secret","metadata":{"name":"regcred","namespace":"team-a","resourceVersion":"10"},"type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":"eyJhdXRocyI6e319"}},
              {"apiVersion":"v1","kind":"Secret","metadata":{"name":"plain","namespace":"team-b"},"data":{"k":"dg=="}}
            ],"kind":"List","metadata":{"resourceVersion":""}}
            """;

        Assert.Equal(SnapshotReader.Read(kubectlShape, "k.json").Objects.Select(o => o.Item), SnapshotReader.Read(SecretList, "raw.json").Objects.Select(o => o.Item));
    }
}
