using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Testing;

namespace RegistryPolicy.Tests.Snapshots;

/// <summary>
/// The fast JSON path (list items) and the general path (a single top-level object) must read every object identically,
/// with the same diagnostics: the fast path either decodes exactly as the general path would, or declines.
/// </summary>
public sealed class FastPathProperties
{
    internal static string Json(KubeObject o, Random random)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("apiVersion", "v1");
            if (o is SecretObject s)
            {
                w.WriteStartObject("data");
                foreach (var (key, value) in s.Data.RevealEntries())
                {
                    w.WriteString(key, Convert.ToBase64String(value.Span));
                }

                w.WriteEndObject();
                if (random.Next(3) == 0)
                {
                    w.WriteStartObject("stringData");
                    w.WriteString("extra", "text");
                    w.WriteEndObject();
                }
            }

            w.WriteString("kind", o.Kind);
            w.WriteStartObject("metadata");
            w.WriteString("name", o.Name);
            if (o.Namespace is not null)
            {
                w.WriteString("namespace", o.Namespace);
            }

            w.WriteStartObject("labels");
            foreach (var (key, value) in o.Metadata.Labels)
            {
                w.WriteString(key, value);
            }

            w.WriteEndObject();
            if (o.Metadata.Finalizers.Count > 0)
            {
                w.WriteStartArray("finalizers");
                foreach (string f in o.Metadata.Finalizers)
                {
                    w.WriteStringValue(f);
                }

                w.WriteEndArray();
            }

            if (o.Metadata.DeletionTimestamp is { } ts)
            {
                w.WriteString("deletionTimestamp", ts);
            }

            w.WriteEndObject();
            if (o is SecretObject secret)
            {
                w.WriteString("type", secret.Type);
            }
            else if (o is NamespaceObject ns)
            {
                w.WriteStartObject("status");
                w.WriteString("phase", ns.Phase);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static (string Objects, string Diagnostics) ReadBoth(string objectJson)
    {
        SnapshotSource fast = SnapshotReader.Read("{\"kind\":\"List\",\"items\":[" + objectJson + "]}", "x.json");
        SnapshotSource slow = SnapshotReader.Read(objectJson, "x.json");
        string Describe(SnapshotSource s) => string.Join("\n", s.Objects.Select(o => o.Item + " " + o.Item.Metadata.Labels + " " + o.Item.Metadata.Finalizers +
            (o.Item is SecretObject secret ? " " + secret.Type + " " + string.Join(",", secret.Data.RevealEntries().Select(e => e.Key + "=" + Convert.ToHexString(e.Value.Span))) : "") +
            (o.Item is NamespaceObject n ? " " + n.Phase : "")));
        bool same = fast.Objects.Select(o => o.Item).SequenceEqual(slow.Objects.Select(o => o.Item));
        return (same ? "same" : Describe(fast) + "\n--\n" + Describe(slow),
            string.Join("\n", fast.Diagnostics.Select(d => d.Code + " " + d.Subject + " " + d.Field)) + "|" + string.Join("\n", slow.Diagnostics.Select(d => d.Code + " " + d.Subject + " " + d.Field)));
    }

    [Property(MaxTest = 300)]
    public Property Generated_objects_read_the_same_on_both_paths() =>
        Prop.ForAll(SnapshotGenerators.ObjectsArbitrary(SnapshotShape.KymaServerless), Gen.Choose(0, 1000).ToArbitrary(), (objects, seed) =>
        {
            var random = new Random(seed);
            foreach (KubeObject o in objects)
            {
                (string same, string diagnostics) = ReadBoth(Json(o, random));
                string[] parts = diagnostics.Split('|');
                if (same != "same" || parts[0] != parts[1])
                {
                    return false.Label(same + "\n" + diagnostics);
                }
            }

            return true.ToProperty();
        });

    [Theory]
    [InlineData("""{"kind":"Secret","metadata":{"name":"s","namespace":"n"},"data":{"k":"!!"}}""")]
    [InlineData("""{"kind":"Secret","metadata":{"name":"s","namespace":"n"},"data":{"k":"YQ==","k":"Yg=="}}""")]
    [InlineData("""{"kind":"Secret","kind":"Secret","metadata":{"name":"s","namespace":"n"}}""")]
    [InlineData("""{"kind":"Secret","metadata":{"name":"s","name":"t","namespace":"n"}}""")]
    [InlineData("""{"kind":"Secret","metadata":{"name":"s","namespace":"n","labels":{"a":true}}}""")]
    [InlineData("""{"kind":"Secret","metadata":{"name":"s","namespace":"n"},"data":{"k":"YQ\r\n=="}}""")]
    [InlineData("""{"kind":"Secret","metadata":{"name":"s","namespace":"n"},"data":{"k":"YR=="}}""")]
    [InlineData("""{"kind":"Secret","metadata":{"name":"s","namespace":"n"},"data":{"k":"Y Q=="}}""")]
    [InlineData("""{"kind":"Secret","metadata":{"name":"s","namespace":"n"},"data":{"k":"YQ"}}""")]
    [InlineData("""{"kind":"Secret","metadata":{"name":"s","namespace":""},"data":{"k":null},"type":""}""")]
    [InlineData("""{"kind":"Secret","metadata":{"name":"s","namespace":"n","labels":null,"annotations":{"a":null}},"stringData":{"k":"v"},"data":{"k":"YQ=="}}""")]
    [InlineData("""{"kind":"Secret","metadata":{"name":"","namespace":"n"}}""")]
    [InlineData("""{"kind":"Secret","metadata":{"na\u006De":"s","namespace":"n"}}""")]
    [InlineData("""{"kind":"Namespace","metadata":{"name":"n","deletionTimestamp":"2026-01-01T00:00:00Z"},"status":{"phase":"Terminating"}}""")]
    [InlineData("""{"kind":"Namespace","metadata":{"name":"n"},"status":"weird"}""")]
    [InlineData("""{"kind":"Secret","metadata":{"name":"s","namespace":"n","finalizers":["a",1]}}""")]
    [InlineData("""{"kind":"Secret","metadata":{"name":"s","namespace":"n"},"type":5}""")]
    public void Tricky_objects_read_the_same_on_both_paths(string json)
    {
        (string same, string diagnostics) = ReadBoth(json);

        Assert.Equal("same", same);
        string[] parts = diagnostics.Split('|');
        Assert.Equal(parts[1], parts[0]);
    }
}
