using System.Collections.Immutable;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Cli;

/// <summary>
/// Output users pipe into a shell or <c>kubectl apply</c> can carry nothing but what was planned: for any names and values,
/// every printed command line is exactly one command whose words are the intended ones (checked by the real bash), and the
/// YAML manifests read back as exactly the planned objects.
/// </summary>
public sealed class OutputInjectionProperties
{
    private static readonly string[] Hostile = ["team-z;touch x;#", "a'b", "$(id)", "`id`", "a b", "x\ny", "--all", "-n", "*", "~", "\"q\"", "é日本", "\\", "!", "{a}", "#c", ""];

    private static Gen<string> AnyText =>
        Gen.OneOf(
            Gen.Elements(Hostile),
            ArbMap.Default.GeneratorFor<string>().Where(s => s is not null && !s.Contains('\0', StringComparison.Ordinal)),
            from n in Gen.Choose(1, 4) from parts in Gen.ArrayOf(Gen.Elements(Hostile), n) select string.Concat(parts));

    /// <summary>The words bash sees in a command line whose first word is 'kubectl'.</summary>
    private static string[] BashWords(string bash, string line)
    {
        Assert.StartsWith("kubectl ", line, StringComparison.Ordinal);
        ProcessResult result = RealTools.Run(bash, ["-c", "words() { printf '%s\\0' \"$@\"; }; words " + line["kubectl ".Length..]], environment: new Dictionary<string, string> { ["LC_ALL"] = "C.UTF-8" });
        Assert.True(result.ExitCode == 0, result.Error);
        return result.Output.Split('\0')[..^1];
    }

    [SkippableFact]
    public void Printed_kubectl_commands_are_exactly_the_intended_words_for_any_names()
    {
        string bash = RealTools.Require("bash", "bash is on every Debian machine");
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), Prop.ForAll(
            (from ns in AnyText from name in AnyText from secret in AnyText select (ns, name, secret)).ToArbitrary(),
            c =>
            {
                string value = $"[{{\"name\":{System.Text.Json.JsonSerializer.Serialize(c.secret)}}}]";
                var patch = new ServiceAccountPatch(new ObjectReference("ServiceAccount", c.ns, c.name), [new JsonPatchOperation("add", "/imagePullSecrets", value)]);
                var delete = new PlanAction(PlanOperation.Delete, new SecretReference(c.ns, c.name), "rule", "reason");

                Assert.Equal(["patch", "-n", c.ns, "serviceaccount/" + c.name, "--type=json", "-p", patch.ToJson()], BashWords(bash, patch.ToKubectlCommand()));
                Assert.Equal(["delete", "secret", "-n", c.ns, c.name], BashWords(bash, delete.ToKubectlCommand()!));
            }));
    }

    [Property(MaxTest = 40)]
    public Property Plan_yaml_reads_back_as_exactly_the_planned_secrets_for_any_annotations_labels_and_data() =>
        Prop.ForAll(
            (from annotation in AnyText
             from data in ArbMap.Default.GeneratorFor<byte[]>().Where(b => b is not null)
             from label in Gen.Elements("v", "a.b-c_d", "", "9")
             from name in Gen.Elements("serverless-registry-config-default", "my-registry")
             select (annotation, data, label, name)).ToArbitrary(),
            c =>
            {
                var baseSecret = new SecretObject(
                    new ObjectMetadata(c.name, "kyma-system")
                    {
                        Labels = StringMap.Of("serverless.kyma-project.io/config", "credentials", "extra", c.label),
                        Annotations = StringMap.Of("note", c.annotation),
                    },
                    "Opaque",
                    SecretData.Create([new("password", c.data), new("registryAddress", "r.example.com"u8.ToArray())]));
                ClusterSnapshot snapshot = ClusterSnapshot.Create(NamespaceObject.Named("kyma-system"), NamespaceObject.Named("team-a"), NamespaceObject.Named("team-b"), baseSecret);
                PropagationPlan plan = PolicyEngine.Plan(PolicyPresets.Default, snapshot);
                string file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "cluster.yaml");
                File.WriteAllText(file, ToYaml(snapshot));

                CliResult result = CliRunner.Run("plan", "-f", file, "-o", "manifests", "--show-secrets");
                SnapshotSource back = SnapshotReader.Read(result.Output, "plan.yaml");

                Assert.Equal(0, result.ExitCode);
                Assert.Empty(back.Diagnostics.Where(d => d.Severity != DiagnosticSeverity.Info));
                SecretObject[] expected = [.. plan.Actions.Where(a => a.Desired is not null).Select(a => a.Desired!)];
                Assert.NotEmpty(expected);
                Assert.Equal(expected, back.Objects.Select(o => (SecretObject)o.Item));
            });

    /// <summary>The snapshot as a JSON list (a format the property does not test), so the YAML under test is only the output.</summary>
    private static string ToYaml(ClusterSnapshot snapshot)
    {
        using var buffer = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("kind", "List");
            w.WriteStartArray("items");
            foreach (KubeObject o in snapshot.Objects)
            {
                w.WriteStartObject();
                w.WriteString("apiVersion", "v1");
                w.WriteString("kind", o.Kind);
                w.WriteStartObject("metadata");
                w.WriteString("name", o.Name);
                if (o.Namespace is not null)
                {
                    w.WriteString("namespace", o.Namespace);
                }

                foreach (var (field, map) in new[] { ("labels", o.Metadata.Labels), ("annotations", o.Metadata.Annotations) })
                {
                    w.WriteStartObject(field);
                    foreach (var (k, v) in map)
                    {
                        w.WriteString(k, v);
                    }

                    w.WriteEndObject();
                }

                w.WriteEndObject();
                if (o is SecretObject s)
                {
                    w.WriteString("type", s.Type);
                    w.WriteStartObject("data");
                    foreach (var (k, v) in s.Data.RevealEntries())
                    {
                        w.WriteString(k, Convert.ToBase64String(v.Span));
                    }

                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
