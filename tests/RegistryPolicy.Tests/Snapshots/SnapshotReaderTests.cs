using System.Text;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Documents;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Tests.Snapshots;

public sealed class SnapshotReaderTests
{
    private const string ListYaml = """
        apiVersion: v1
        items:
        - apiVersion: v1
          kind: Namespace
          metadata:
            labels:
              team: a
            name: team-a
          status:
            phase: Active
        - apiVersion: v1
          kind: Secret
          metadata:
            name: reg
            namespace: team-a
            labels:
              serverless.kyma-project.io/remote-registry: config
          data:
            username: dXNlcg==
          stringData:
            password: plain
          type: Opaque
        - apiVersion: v1
          kind: ConfigMap
          metadata:
            name: cm
            namespace: team-b
          data:
            a: b
        kind: List
        metadata:
          resourceVersion: ""
        """;

    [Fact]
    public void A_v1_list_in_yaml_yields_its_items_with_their_line_and_column()
    {
        SnapshotSource source = SnapshotReader.Read(ListYaml, "list.yaml");

        Assert.Empty(source.Diagnostics);
        Assert.Equal(["Namespace team-a", "Secret team-a/reg", "ConfigMap team-b/cm"], source.Objects.Select(o => o.Item.ToString()));
        Assert.Equal(new SourceLocation("list.yaml", 11, 3), source.Objects[1].Location);
    }

    [Fact]
    public void Secret_data_is_decoded_and_string_data_is_merged_over_it()
    {
        var secret = (SecretObject)SnapshotReader.Read(ListYaml, "list.yaml").Objects[1].Item;

        Assert.True(secret.Data.TryGetString("username", out string user));
        Assert.Equal("user", user);
        Assert.True(secret.Data.TryGetString("password", out string pass));
        Assert.Equal("plain", pass);
        Assert.Equal("Opaque", secret.Type);
    }

    [Fact]
    public void Namespaces_without_a_namespace_object_are_inferred_from_the_objects_in_them()
    {
        ClusterSnapshot snapshot = ClusterSnapshot.Create(SnapshotReader.Read(ListYaml, "list.yaml"));

        Assert.Equal(["team-a", "team-b"], snapshot.Namespaces.Select(n => n.Name));
        Assert.True(snapshot.GetNamespace("team-a")!.IsDeclared);
        Assert.False(snapshot.GetNamespace("team-b")!.IsDeclared);
        Assert.Equal("a", snapshot.GetNamespace("team-a")!.Metadata.Labels["team"]);
    }

    [Fact]
    public void Bad_base64_is_an_error_naming_file_line_column_object_and_field_and_the_rest_still_loads()
    {
        const string yaml = """
            apiVersion: v1
            kind: Secret
            metadata:
              name: broken
              namespace: ns
            data:
              good: b2s=
              bad: "not base64!"
            ---
            apiVersion: v1
            kind: Secret
            metadata:
              name: fine
              namespace: ns
            """;

        SnapshotSource source = SnapshotReader.Read(yaml, "bad.yaml");

        Diagnostic error = Assert.Single(source.Diagnostics);
        Assert.Equal("data-not-base64", error.Code);
        Assert.Equal(DiagnosticSeverity.Error, error.Severity);
        Assert.Equal(new ObjectReference("Secret", "ns", "broken"), error.Subject);
        Assert.Equal("data[bad]", error.Field);
        Assert.Equal(new SourceLocation("bad.yaml", 8, 8), error.Location);
        // The API server refuses a Secret with data that is not base64: it is treated as absent, and the next one is read.
        Assert.Equal("fine", Assert.Single(source.Objects).Item.Name);
        Assert.Equal(new ObjectReference("Secret", "ns", "broken"), Assert.Single(source.Refused).Subject);
    }

    [Theory]
    [InlineData("kind: Secret\nmetadata: {namespace: ns}\n", "name-missing")]
    [InlineData("kind: Secret\n", "metadata-missing")]
    [InlineData("metadata: {name: x}\n", "kind-missing")]
    [InlineData("- just\n- a list\n", "object-not-mapping")]
    [InlineData("kind: Secret\nmetadata: {name: s, namespace: ns}\ndata: [1]\n", "wrong-type")]
    [InlineData("kind: Secret\nmetadata: {name: s, namespace: ns, labels: {enabled: true}}\n", "wrong-type")]
    public void Malformed_objects_become_diagnostics_not_exceptions(string yaml, string code)
    {
        SnapshotSource source = SnapshotReader.Read(yaml + "---\nkind: Namespace\nmetadata: {name: ok}\n", "x.yaml");

        Assert.Contains(source.Diagnostics, d => d.Code == code && d.Location is { Line: > 0 });
        Assert.Contains(source.Objects, o => o.Item.Name == "ok");
    }

    [Fact]
    public void An_unquoted_boolean_label_value_is_refused_as_the_API_server_does()
    {
        SnapshotSource source = SnapshotReader.Read("kind: Secret\nmetadata:\n  name: s\n  namespace: ns\n  labels:\n    enabled: true\n    ok: \"true\"\n", "x.yaml");

        Diagnostic d = Assert.Single(source.Diagnostics);
        Assert.Equal("metadata.labels[enabled]", d.Field);
        Assert.Equal(new SourceLocation("x.yaml", 6, 14), d.Location);
        // kubectl cannot even send it ("cannot unmarshal bool into ... string"): the Secret never exists.
        Assert.Empty(source.Objects);
        Assert.Equal("s", Assert.Single(source.Refused).Subject.Name);
    }

    [Fact]
    public void A_yaml_alias_bomb_hits_the_node_limit_with_a_clear_error()
    {
        var yaml = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 12; i++)
        {
            yaml.Append($"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n");
        }

        yaml.Append("kind: Secret\n---\nkind: Namespace\nmetadata: {name: after}\n");

        SnapshotSource source = SnapshotReader.Read(yaml.ToString(), "bomb.yaml");

        Diagnostic d = Assert.Single(source.Diagnostics, d => d.Code == "document-limit");
        Assert.Contains("1000000 nodes", d.Message, StringComparison.Ordinal);
        Assert.Contains(source.Objects, o => o.Item.Name == "after");
    }

    [Fact]
    public void Deep_nesting_hits_the_depth_limit_in_yaml_and_in_json()
    {
        string deepYaml = "kind: Secret\nx: " + new string('[', 200) + new string(']', 200) + "\n---\nkind: Namespace\nmetadata: {name: after}\n";
        string deepJson = "[{\"kind\":\"Secret\",\"x\":" + new string('[', 100) + new string(']', 100) + "},{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"after\"}}]";

        SnapshotSource yaml = SnapshotReader.Read(deepYaml, "deep.yaml");
        SnapshotSource json = SnapshotReader.Read(deepJson, "deep.json");

        Assert.Contains(yaml.Diagnostics, d => d.Code == "document-limit" && d.Message.Contains("64 levels", StringComparison.Ordinal));
        Assert.Contains(yaml.Objects, o => o.Item.Name == "after");
        Assert.Contains(json.Diagnostics, d => d.Code is "document-limit" or "json-syntax");
    }

    [Fact]
    public void A_scalar_longer_than_the_limit_is_refused()
    {
        var limits = new DocumentLimits(MaxScalarLength: 100);
        string yaml = $"kind: Secret\nmetadata: {{name: s, namespace: ns1}}\nstringData: {{k: {new string('x', 500)}}}\n";
        string json = $"{{\"kind\":\"Secret\",\"metadata\":{{\"name\":\"s\",\"namespace\":\"n\"}},\"stringData\":{{\"k\":\"{new string('x', 500)}\"}}}}";

        Assert.Contains(SnapshotReader.Read(yaml, "y", new SnapshotReadOptions { Limits = limits }).Diagnostics, d => d.Code == "document-limit");
        Assert.Contains(SnapshotReader.Read(json, "j", new SnapshotReadOptions { Limits = limits }).Diagnostics, d => d.Code == "document-limit");
    }

    [Fact]
    public void A_large_json_list_streams_through_the_buffer_with_exact_line_numbers()
    {
        var json = new StringBuilder("{\n \"apiVersion\": \"v1\",\n \"items\": [\n");
        const int count = 5000;
        for (int i = 0; i < count; i++)
        {
            json.Append("  {\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s").Append(i)
                .Append("\",\"namespace\":\"ns\"},\"data\":{\"k\":\"").Append(i == 4321 ? "!!!" : "dmFsdWU=").Append("\"}}")
                .Append(i + 1 < count ? ",\n" : "\n");
        }

        json.Append(" ],\n \"kind\": \"List\"\n}\n");
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(json.ToString()));

        SnapshotSource source = SnapshotReader.Read(stream, "big.json");

        Assert.Equal(count - 1, source.Objects.Length); // the one with bad base64 is refused, as the API server would
        Assert.Equal(new SourceLocation("big.json", 4, 3), source.Objects[0].Location);
        Assert.Equal(new SourceLocation("big.json", 4 + 4999, 3), source.Objects[4998].Location);
        Assert.Equal(new SourceLocation("big.json", 4 + 4321, 3), Assert.Single(source.Refused).Location);
        Diagnostic bad = Assert.Single(source.Diagnostics);
        Assert.Equal(new SourceLocation("big.json", 4 + 4321, 95), bad.Location);
        Assert.Equal(new ObjectReference("Secret", "ns", "s4321"), bad.Subject);
    }

    [Fact]
    public void Json_reads_single_objects_arrays_and_several_values_in_a_row()
    {
        const string json = """
            {"kind":"Namespace","metadata":{"name":"a"}}
            [{"kind":"Namespace","metadata":{"name":"b"}}]
            {"kind":"List","items":[{"kind":"Namespace","metadata":{"name":"c"}}]}
            """;

        SnapshotSource source = SnapshotReader.Read(json, "multi.json");

        Assert.Empty(source.Diagnostics);
        Assert.Equal(["a", "b", "c"], source.Objects.Select(o => o.Item.Name));
    }

    [Fact]
    public void A_json_syntax_error_is_reported_with_its_location_and_earlier_objects_are_kept()
    {
        const string json = "{\"kind\":\"List\",\"items\":[\n{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}},\n{\"kind\": oops}\n]}";

        SnapshotSource source = SnapshotReader.Read(json, "broken.json");

        Assert.Equal(["a"], source.Objects.Select(o => o.Item.Name));
        Diagnostic d = Assert.Single(source.Diagnostics);
        Assert.Equal("json-syntax", d.Code);
        Assert.Equal(3, d.Location!.Value.Line);
    }

    [Fact]
    public void A_yaml_syntax_error_keeps_the_documents_before_it()
    {
        SnapshotSource source = SnapshotReader.Read("kind: Namespace\nmetadata: {name: a}\n---\nkind: [unclosed\n", "broken.yaml");

        Assert.Equal(["a"], source.Objects.Select(o => o.Item.Name));
        Assert.Equal("yaml-syntax", Assert.Single(source.Diagnostics).Code);
    }

    [Fact]
    public void A_duplicate_object_is_a_warning_and_the_later_one_wins()
    {
        SnapshotSource first = SnapshotReader.Read("kind: Secret\nmetadata: {name: s, namespace: ns1}\nstringData: {k: one}\n", "one.yaml");
        SnapshotSource second = SnapshotReader.Read("kind: Secret\nmetadata: {name: s, namespace: ns1}\nstringData: {k: two}\n", "two.yaml");

        ClusterSnapshot snapshot = ClusterSnapshot.Create(first, second);

        Diagnostic d = Assert.Single(snapshot.Diagnostics);
        Assert.Equal("duplicate-object", d.Code);
        Assert.Contains("one.yaml:1:1", d.Message, StringComparison.Ordinal);
        Assert.True(snapshot.GetSecret("ns1", "s")!.Data.TryGetString("k", out string value));
        Assert.Equal("two", value);
    }

    [Fact]
    public void Duplicate_keys_in_a_mapping_are_an_error_and_the_first_value_is_kept()
    {
        SnapshotSource source = SnapshotReader.Read("kind: Secret\nmetadata: {name: s, namespace: ns1}\ntype: A\ntype: B\n", "dup.yaml");

        Assert.Equal("duplicate-key", Assert.Single(source.Diagnostics).Code);
        Assert.Equal("A", ((SecretObject)source.Objects[0].Item).Type);
    }

    [Fact]
    public void Other_kinds_are_counted_in_one_info_diagnostic()
    {
        SnapshotSource source = SnapshotReader.Read("kind: Service\nmetadata: {name: a}\n---\nkind: Service\nmetadata: {name: b}\n", "svc.yaml");

        Diagnostic d = Assert.Single(source.Diagnostics);
        Assert.Equal(DiagnosticSeverity.Info, d.Severity);
        Assert.Contains("2 Service", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Workloads_expose_every_container_list_with_the_pod_spec_path()
    {
        const string yaml = """
            apiVersion: batch/v1
            kind: CronJob
            metadata: {name: nightly, namespace: ops}
            spec:
              jobTemplate:
                spec:
                  template:
                    spec:
                      serviceAccountName: runner
                      imagePullSecrets: [{name: pull}]
                      initContainers: [{name: init, image: busybox}]
                      containers: [{name: main, image: "registry.example.com/job:1", imagePullPolicy: Always}]
            """;

        var workload = (WorkloadObject)SnapshotReader.Read(yaml, "cron.yaml").Objects.Single().Item;

        Assert.Equal("/spec/jobTemplate/spec/template/spec", workload.Template.SpecPath);
        Assert.Equal("runner", workload.Template.ServiceAccountName);
        Assert.Equal(["pull"], workload.Template.ImagePullSecrets);
        Assert.Equal([ContainerRole.InitContainer, ContainerRole.Container], workload.Template.Containers.Select(c => c.Role));
        Assert.Equal("Always", workload.Template.Containers[1].ImagePullPolicy);
    }

    [Fact]
    public void A_secret_never_shows_its_data_or_annotations_in_ToString()
    {
        SecretObject secret = Support.Objects.Secret("ns", "s", data: ["password", "hunter2-very-secret"]) with { };
        secret = secret with { Metadata = secret.Metadata with { Annotations = StringMap.Of("kubectl.kubernetes.io/last-applied-configuration", "{\"data\":{\"password\":\"aHVudGVyMg==\"}}") } };

        string text = secret + " " + secret.Data + " " + secret.Metadata.Labels;

        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        Assert.DoesNotContain("aHVudGVyMg", text, StringComparison.Ordinal);
        Assert.Contains("password", secret.Data.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("true", "Bool")]
    [InlineData("yes", "Bool")]
    [InlineData("Off", "Bool")]
    [InlineData("~", "Null")]
    [InlineData("0x1F", "Number")]
    [InlineData("1_000", "Number")]
    [InlineData("-1.5e3", "Number")]
    [InlineData(".inf", "Number")]
    [InlineData("1.2.3", "String")]
    [InlineData("credentials", "String")]
    [InlineData("e5", "String")]
    public void Plain_scalars_are_typed_as_kubectl_reads_yaml(string text, string kind) =>
        Assert.Equal(kind, YamlDocumentReader.PlainScalarKind(text).ToString());
}
