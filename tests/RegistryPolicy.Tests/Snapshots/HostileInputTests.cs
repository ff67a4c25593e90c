using System.Text;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Documents;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Snapshots;

/// <summary>Inputs that once crashed, hung or took quadratic time; each class of them, not just the one example.</summary>
public sealed class HostileInputTests
{
    private static SnapshotSource ReadBytes(byte[] bytes, SecretFilter? keep = null)
    {
        using var stream = new MemoryStream(bytes);
        return SnapshotReader.Read(stream, "x", new SnapshotReadOptions { Keep = keep });
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_secret_with_data_then_one_without_reads_both_with_and_without_a_filter(bool filtered)
    {
        // kubectl's own key order: data before metadata; an empty Secret has no data at all.
        const string json = """
            {"apiVersion":"v1","items":[
            {"apiVersion":"v1","data":{"a":"YWFhYWFhYWFhYWFhYWFhYQ==","b":"YmJi"},"kind":"Secret","metadata":{"name":"full","namespace":"team-a"},"type":"Opaque"},
            {"apiVersion":"v1","kind":"Secret","metadata":{"name":"empty","namespace":"team-a"},"type":"Opaque"},
            {"apiVersion":"v1","data":{"c":"Yw=="},"kind":"Secret","metadata":{"name":"serverless-registry-config","namespace":"team-b"},"type":"Opaque"},
            {"apiVersion":"v1","kind":"Secret","metadata":{"name":"serverless-registry-config","namespace":"team-c"}}
            ],"kind":"List","metadata":{"resourceVersion":""}}
            """;

        SnapshotSource source = ReadBytes(Encoding.UTF8.GetBytes(json), filtered ? PolicyPresets.Default.SecretFilter : null);

        Assert.DoesNotContain(source.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Contains(source.Objects, o => o.Item is SecretObject { Namespace: "team-c" } s && s.Data.Count == 0);
        Assert.Equal(filtered ? 2 : 4, source.Objects.Length);
    }

    public static TheoryData<byte[]> BadStrings => new()
    {
        new byte[] { 0xff, 0xfe },               // not UTF-8 at all
        new byte[] { 0xe2, 0x82 },               // a truncated sequence
        new byte[] { 0xed, 0xa0, 0x80 },         // a surrogate encoded in UTF-8
        Encoding.ASCII.GetBytes("\\ud800"),      // an unpaired high surrogate escape
        Encoding.ASCII.GetBytes("\\udc00x"),     // an unpaired low surrogate escape
        Encoding.ASCII.GetBytes("\\ud800\\u0041"), // a high surrogate followed by no low one
    };

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    [Theory]
    [MemberData(nameof(BadStrings))]
    public void A_json_string_go_would_repair_is_read_with_replacement_characters_in_every_position(byte[] bad)
    {
        byte[] a = Encoding.ASCII.GetBytes("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\",\"annotations\":{\"note\":\"");
        byte[] b = Encoding.ASCII.GetBytes("\"}},\"stringData\":{\"k\":\"");
        byte[] c = Encoding.ASCII.GetBytes("\"}}");
        byte[] single = Concat(a, bad, b, bad, c);
        byte[] list = Concat("{\"kind\":\"List\",\"items\":["u8.ToArray(), single, "]}"u8.ToArray());

        foreach (byte[] input in new[] { single, list })
        {
            SnapshotSource source = ReadBytes(input);
            var secret = (SecretObject)Assert.Single(source.Objects).Item;
            Assert.Contains('\uFFFD', secret.Metadata.Annotations["note"]);
            Assert.True(secret.Data.TryGetString("k", out string value) && value.Contains('\uFFFD'));
            Assert.Contains(source.Diagnostics, d => d.Code == "invalid-utf8" && d.Severity == DiagnosticSeverity.Warning);
        }
    }

    [Theory]
    [MemberData(nameof(BadStrings))]
    public void A_bad_string_in_a_policy_is_a_diagnostic_not_an_exception(byte[] bad)
    {
        string text = new UTF8Encoding(false, false).GetString(Concat("{\"apiVersion\":\"registrypolicy.dev/v1alpha1\",\"kind\":\"RegistryPolicy\",\"metadata\":{\"name\":\""u8.ToArray(), bad, "\"}}"u8.ToArray()));

        bool ok = PolicyLoading.TryLoad(text, "p.json", out _, out var diagnostics);

        Assert.False(ok && diagnostics.IsEmpty);
    }

    [Theory]
    [MemberData(nameof(BadStrings))]
    public void A_dockerconfigjson_with_any_bytes_decodes_as_the_kubelet_does(byte[] bad)
    {
        // The kubelet's json.Unmarshal repairs strings the same way: the entry is kept, with U+FFFD.
        byte[] json = Concat("{\"auths\":{\"r.io"u8.ToArray(), bad, "\":{\"username\":\"u"u8.ToArray(), bad, "\",\"password\":\"p"u8.ToArray(), bad, "\"}}}"u8.ToArray());

        DockerConfigReadResult read = DockerConfigJson.Read(json, DockerConfigFormat.DockerConfigJson);

        DockerConfigEntry entry = Assert.Single(read.Config.Entries);
        Assert.Contains('\uFFFD', entry.Server);
        Assert.Contains('\uFFFD', entry.Credential.Username);
        Assert.False(read.HasErrors);
    }

    [Fact]
    public void A_utf8_byte_order_mark_before_json_is_read_like_any_json()
    {
        byte[] json = Concat([0xef, 0xbb, 0xbf], "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"team-a\"}}"u8.ToArray());

        SnapshotSource source = ReadBytes(json);

        Assert.Empty(source.Diagnostics);
        Assert.Equal("team-a", Assert.Single(source.Objects).Item.Name);
        Assert.True(PolicyLoading.TryLoad("\uFEFF" + PolicySchema.ToJson(PolicyPresets.Default.Document), "bom.json", out _, out var problems), string.Join("\n", problems));
    }

    [Theory]
    [InlineData(55_000)]
    [InlineData(200)]
    public void Deep_nesting_refuses_only_its_document_and_the_next_is_read(int depth)
    {
        string deep = new string('[', depth) + new string(']', depth);
        string yaml = $"kind: Secret\nmetadata: {{name: deep, namespace: ns}}\ndata: {deep}\n---\nkind: Namespace\nmetadata: {{name: after}}\n";
        string flow = $"a: {string.Concat(Enumerable.Repeat("{a: ", depth))}1{new string('}', depth)}\n---\nkind: Namespace\nmetadata: {{name: after}}\n";
        string json = $"{{\"kind\":\"List\",\"items\":[{{\"kind\":\"Secret\",\"metadata\":{{\"name\":\"deep\",\"namespace\":\"ns\"}},\"data\":{deep}}},{{\"kind\":\"Namespace\",\"metadata\":{{\"name\":\"after\"}}}}]}}";

        foreach (string text in new[] { yaml, flow, json })
        {
            SnapshotSource source = SnapshotReader.Read(text, "deep");
            Assert.Contains(source.Diagnostics, d => d.Code == "document-limit" && d.Location is { Line: > 0 });
            Assert.Equal("after", Assert.Single(source.Objects).Item.Name);
        }
    }

    [Fact]
    public void A_yaml_syntax_error_ends_only_its_document()
    {
        const string yaml = "kind: Namespace\nmetadata: {name: first}\n---\nkind: Secret\nmetadata: {name: s, namespace: ns\n  bad: [\n---\nkind: Namespace\nmetadata: {name: last}\n";

        SnapshotSource source = SnapshotReader.Read(yaml, "y.yaml");

        Assert.Equal(["first", "last"], source.Objects.Select(o => o.Item.Name));
        Diagnostic error = Assert.Single(source.Diagnostics, d => d.Code == "yaml-syntax");
        Assert.InRange(error.Location!.Value.Line, 4, 7);
    }

    [Fact]
    public void Aliases_as_keys_and_alias_bombs_cost_bounded_work()
    {
        var bomb = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 12; i++)
        {
            bomb.Append($"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n");
        }

        string keys = "base: &k {a: 1, b: 2}\nmap:\n" + string.Concat(Enumerable.Range(0, 200).Select(i => $"  ? *k\n  : {i}\n"));

        Assert.Contains(SnapshotReader.Read(bomb + "---\nkind: Namespace\nmetadata: {name: after}\n", "bomb").Diagnostics, d => d.Code == "document-limit");
        Assert.NotNull(SnapshotReader.Read(keys, "keys"));
    }

    [Fact]
    public void Reading_deeply_nested_flow_yaml_is_linear()
    {
        Linear.Assert(n => string.Concat(Enumerable.Repeat("{a: ", n)) + new string('}', n) + "\n", text => SnapshotReader.Read(text, "flow"), 20_000, "nested flow mappings");
    }

    [Fact]
    public void Decoding_a_dockerconfigjson_with_many_entries_is_linear()
    {
        Linear.Assert(n =>
        {
            var json = new StringBuilder("{\"auths\":{");
            for (int i = 0; i < n; i++)
            {
                json.Append(i == 0 ? "" : ",").Append($"\"r{i}.example.com\":{{\"auth\":\"dTpw\"}}");
            }

            return Encoding.UTF8.GetBytes(json.Append("}}").ToString());
        }, bytes => DockerConfigJson.Read(bytes, DockerConfigFormat.DockerConfigJson), 10_000, ".dockerconfigjson entries");
    }

    [Fact]
    public void Objects_with_many_keys_and_many_duplicates_read_in_linear_time()
    {
        Linear.Assert(n =>
        {
            var json = new StringBuilder("{\"kind\":\"List\",\"items\":[{\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\",\"namespace\":\"ns\",\"labels\":{");
            for (int i = 0; i < n; i++)
            {
                json.Append(i == 0 ? "" : ",").Append($"\"k{i}\":\"v\"");
            }

            json.Append("}},\"data\":{");
            for (int i = 0; i < n; i++)
            {
                json.Append(i == 0 ? "" : ",").Append($"\"d{i}\":\"dg==\"");
            }

            json.Append("}}");
            for (int i = 0; i < n / 4; i++)
            {
                json.Append(",{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"same\"}}");
            }

            return Encoding.UTF8.GetBytes(json.Append("]}").ToString());
        }, bytes => ClusterSnapshot.Create(ReadBytes(bytes)), 4_000, "labels, data keys and duplicate objects");
    }

    public static TheoryData<string, string> RefusedObjects => new()
    {
        { "kind: Namespace\nmetadata: {name: \"Team_A\"}\n", "invalid-name" },
        { "kind: Namespace\nmetadata: {name: \"team-z\\n---\\nkind: Secret\"}\n", "invalid-name" },
        { "kind: Secret\nmetadata: {name: \"team-z;touch x;#\", namespace: ns}\n", "invalid-name" },
        { "kind: Secret\nmetadata: {name: s, namespace: \"../etc\"}\n", "invalid-name" },
        { "kind: ServiceAccount\nmetadata: {name: \"default\\n\", namespace: ns}\n", "invalid-name" },
        { "kind: Secret\nmetadata: {name: s, namespace: ns, labels: {\"bad key\": v}}\n", "invalid-label" },
        { "kind: Secret\nmetadata: {name: s, namespace: ns, labels: {k: \"v\\nw\"}}\n", "invalid-label" },
        { "kind: Secret\nmetadata: {name: s, namespace: ns, labels: {k: yes}}\n", "wrong-type" },
        { "kind: Secret\nmetadata: {name: s, namespace: ns, finalizers: [\"no slash here!\"]}\n", "invalid-finalizer" },
        { "kind: Secret\nmetadata: {name: s, namespace: ns}\ndata: {\"a/b\": YQ==}\n", "invalid-data-key" },
        { "kind: Secret\nmetadata: {name: s, namespace: ns}\ndata: {k: \"not base64!\"}\n", "data-not-base64" },
        { "kind: Secret\nmetadata: {name: s, namespace: ns}\nstringData: {password: 987654321012}\n", "wrong-type" },
        { "kind: Secret\nmetadata: {name: s, namespace: ns}\ntype: kubernetes.io/dockerconfigjson\ndata: {x: YQ==}\n", "secret-refused" },
        { "kind: Secret\nmetadata: {name: s, namespace: ns}\ntype: kubernetes.io/dockerconfigjson\nstringData: {.dockerconfigjson: \"[1]\"}\n", "secret-refused" },
        { "kind: Secret\nmetadata: {name: s, namespace: ns}\ntype: kubernetes.io/tls\nstringData: {tls.crt: x}\n", "secret-refused" },
        { "kind: ConfigMap\nmetadata: {name: c, namespace: ns}\ndata: {\"..\": x}\n", "invalid-data-key" },
    };

    [Theory]
    [MemberData(nameof(RefusedObjects))]
    public void What_the_api_server_refuses_is_absent_with_an_error_naming_the_field(string yaml, string code)
    {
        SnapshotSource source = SnapshotReader.Read(yaml + "---\nkind: Namespace\nmetadata: {name: after}\n", "y.yaml");

        Assert.Equal("after", Assert.Single(source.Objects).Item.Name);
        RefusedObject refused = Assert.Single(source.Refused);
        Assert.Equal(code, refused.Reason.Code);
        Assert.Contains("treated as absent", refused.Reason.Message, StringComparison.Ordinal);
        Assert.NotNull(refused.Reason.Field);
        Assert.True(refused.Reason.Location is { Line: > 0, Column: > 0 }, refused.Reason.ToString());
        Assert.DoesNotContain('\n', refused.Reason.ToString());
    }

    public static TheoryData<string, string> RefusedJson => new()
    {
        { """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"Bad_Name","namespace":"ns"}}""", "invalid-name" },
        { """{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-z;touch x;#"}}""", "invalid-name" },
        { """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"ns","labels":{"k":true}}}""", "wrong-type" },
        { """{"apiVersion":"v1","data":{"k":"!!"},"kind":"Secret","metadata":{"name":"s","namespace":"ns"}}""", "data-not-base64" },
        { """{"apiVersion":"v1","data":{"x":"YQ=="},"kind":"Secret","metadata":{"name":"s","namespace":"ns"},"type":"kubernetes.io/dockerconfigjson"}""", "secret-refused" },
        { """{"apiVersion":"v1","data":{".dockerconfigjson":"bnVsbA=="},"kind":"Secret","metadata":{"name":"s","namespace":"ns"},"type":"kubernetes.io/dockercfg"}""", "secret-refused" },
        { """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"ns","annotations":{"bad key":"v"}}}""", "invalid-annotation" },
    };

    [Theory]
    [MemberData(nameof(RefusedJson))]
    public void The_fast_and_general_json_paths_refuse_the_same_objects(string json, string code)
    {
        foreach (string text in new[] { json, "{\"kind\":\"List\",\"items\":[" + json + "]}" })
        {
            foreach (SecretFilter? keep in new SecretFilter?[] { null, PolicyPresets.Default.SecretFilter })
            {
                SnapshotSource source = SnapshotReader.Read(text, "j.json", new SnapshotReadOptions { Keep = keep });
                Assert.Empty(source.Objects);
                Assert.Equal(code, Assert.Single(source.Refused).Reason.Code);
            }
        }
    }

    [Fact]
    public void A_refusal_never_quotes_the_value_it_refused()
    {
        SnapshotSource source = SnapshotReader.Read("kind: Secret\nmetadata: {name: s, namespace: ns, annotations: {a: 31415926535}}\nstringData: {password: 987654321012, other: on}\n", "s.yaml");

        Assert.All(source.Diagnostics, d =>
        {
            Assert.DoesNotContain("987654321012", d.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("31415926535", d.ToString(), StringComparison.Ordinal);
        });
        Assert.Equal(3, source.Diagnostics.Count(d => d.Code == "wrong-type"));
    }

    [Fact]
    public void A_password_that_reads_as_an_alias_is_not_quoted_in_the_syntax_error()
    {
        SnapshotSource source = SnapshotReader.Read("kind: Secret\nmetadata: {name: s, namespace: ns}\nstringData: {password: *hunter2secret}\n", "s.yaml");

        Diagnostic error = Assert.Single(source.Diagnostics);
        Assert.Equal("yaml-syntax", error.Code);
        Assert.DoesNotContain("hunter2secret", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("quote it", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_syntax_errors_do_not_quote_the_character_they_stopped_at()
    {
        SnapshotSource source = SnapshotReader.Read("{\"kind\":\"Secret\",\"stringData\":{\"password\":\"abc\"Zsecret}}", "s.json");

        Diagnostic error = Assert.Single(source.Diagnostics);
        Assert.Equal("json-syntax", error.Code);
        Assert.DoesNotContain("'Z'", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_registry_key_with_userinfo_is_never_shown_with_it()
    {
        byte[] json = "{\"auths\":{\"https://bot:S3cretPass@registry.example.com/v1/\":{\"auth\":\"!!\"}}}"u8.ToArray();
        byte[] good = "{\"auths\":{\"bot:S3cretPass@r.io\":{\"auth\":\"Ym90OnB3\"}}}"u8.ToArray();

        DockerConfigReadResult bad = DockerConfigJson.Read(json, DockerConfigFormat.DockerConfigJson);
        DockerConfigReadResult read = DockerConfigJson.Read(good, DockerConfigFormat.DockerConfigJson);
        Assert.True(bad.HasErrors);
        Assert.All(bad.Diagnostics, d => Assert.DoesNotContain("S3cretPass", d.ToString(), StringComparison.Ordinal));
        CredentialKeyring keyring = CredentialKeyring.Create([read.Config]);
        KeyringLookup lookup = keyring.Lookup("r.io/app");

        Assert.All(read.Diagnostics, d => Assert.DoesNotContain("S3cretPass", d.ToString(), StringComparison.Ordinal));
        Assert.Equal("<userinfo hidden>@r.io", Assert.Single(read.Config.Entries).DisplayServer);
        Assert.Equal("r.io", lookup.Matches[0].IndexKey);
        Assert.DoesNotContain("S3cretPass", lookup.Matches[0].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_node_limit_is_per_object_so_a_large_yaml_list_is_read_whole()
    {
        var yaml = new StringBuilder("apiVersion: v1\nitems:\n");
        for (int i = 0; i < 500; i++)
        {
            yaml.Append($"- apiVersion: v1\n  kind: Secret\n  metadata: {{name: s{i}, namespace: ns, labels: {{a: b}}}}\n  data: {{k: dg==}}\n");
        }

        yaml.Append("kind: List\n");
        var limits = new DocumentLimits(MaxNodesPerObject: 1_000);

        SnapshotSource source = SnapshotReader.Read(yaml.ToString(), "list.yaml", new SnapshotReadOptions { Limits = limits });

        Assert.Empty(source.Diagnostics);
        Assert.Equal(500, source.Objects.Length);
        Assert.Contains(SnapshotReader.Read("kind: Namespace\nmetadata: {name: n, labels: {" + string.Join(", ", Enumerable.Range(0, 600).Select(i => $"k{i}: v")) + "}}\n", "one.yaml", new SnapshotReadOptions { Limits = limits }).Diagnostics,
            d => d.Code == "document-limit");
    }

    [Theory]
    [InlineData(new byte[] { 0x00 })]
    [InlineData(new byte[] { 0x07 })]
    [InlineData(new byte[] { 0xff })]
    [InlineData(new byte[] { 0xc3 })]
    public void A_yaml_document_with_a_byte_go_yaml_refuses_is_skipped_whole_and_the_next_is_read(byte[] bad)
    {
        byte[] yaml = Concat("kind: Namespace\nmetadata: {name: before}\n---\nkind: Namespace\nmetadata: {name: bro"u8.ToArray(), bad, "ken}\n---\nkind: Namespace\nmetadata: {name: after}\n"u8.ToArray());

        SnapshotSource source = ReadBytes(yaml);

        Assert.Equal(["before", "after"], source.Objects.Select(o => o.Item.Name));
        Diagnostic error = Assert.Single(source.Diagnostics);
        Assert.Equal(new SourceLocation("x", 5, 21), error.Location);
    }
}

public sealed class ForbiddenCharacterLocationTests
{
    [Theory]
    [InlineData("apiVersion: v1\nkind: Secret\nmetadata: {name: \0a}\n", 3, 18)]
    [InlineData("apiVersion: v1\r\nkind: Secret\r\nmetadata:\r\n  name: a\u0001\r\n", 4, 10)]
    [InlineData("\u0002", 1, 1)]
    public void A_character_yaml_forbids_is_reported_at_its_line_and_column(string yaml, int line, int column)
    {
        RegistryPolicy.Snapshots.SnapshotSource read = RegistryPolicy.Snapshots.SnapshotReader.Read(yaml, "x.yaml");

        RegistryPolicy.Diagnostics.Diagnostic error = Assert.Single(read.Diagnostics, d => d.Code == "yaml-syntax");
        Assert.Equal(new RegistryPolicy.Diagnostics.SourceLocation("x.yaml", line, column), error.Location);
    }
}
