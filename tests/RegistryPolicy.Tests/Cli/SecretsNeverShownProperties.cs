using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.Cli;

/// <summary>
/// Credentials are never printed without <c>--show-secrets</c>: for random marker passwords placed in every position a
/// credential takes (Secret data, the password inside a <c>.dockerconfigjson</c>, its <c>auth</c>, URL userinfo in a
/// registry key, a <c>last-applied-configuration</c> annotation, an unquoted <c>stringData</c> number, a Palette
/// <c>PASSWORD</c>, a change document, right next to a YAML or JSON syntax error), every command in every output format
/// prints neither a marker nor its base64, on standard output or standard error. (<c>encode</c> is left out: it prints
/// the credential it is given, which is its job.)
/// </summary>
public sealed class SecretsNeverShownProperties
{
    private const string Alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

    private static Gen<string> Marker =>
        from length in Gen.Choose(14, 22)
        from chars in Gen.ArrayOf(Gen.Elements(Alphabet.ToCharArray()), length)
        select "Pw" + new string(chars);

    /// <summary>Inputs built around the markers, and every command line to run on them.</summary>
    private sealed class Inputs
    {
        public Inputs(string[] m, string digits)
        {
            Markers = [.. m, digits];
            Dir = Directory.CreateTempSubdirectory().FullName;
            string b64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));
            string dockerConfig(string server, string user, string pass) =>
                $"{{\"auths\":{{\"{server}\":{{\"username\":\"{user}\",\"password\":\"{pass}\",\"auth\":\"{b64(user + ":" + pass)}\"}},\"https://bot:{m[1]}@registry.example.com\":{{\"auth\":\"{b64("bot:" + m[1])}\"}}}}}}";
            string lastApplied = $"{{\"apiVersion\":\"v1\",\"data\":{{\"password\":\"{b64(m[3])}\"}},\"kind\":\"Secret\",\"metadata\":{{\"name\":\"serverless-registry-config\",\"namespace\":\"team-a\"}},\"stringData\":{{\"token\":\"{m[3]}\"}}}}\n";
            Embedded = [b64(m[0]), b64("internal-user:" + m[0]), b64(dockerConfig("serverless-docker-registry.kyma-system.svc.cluster.local:5000", "internal-user", m[0])),
                b64(m[2]), b64(dockerConfig("registry.example.com", "team-a", m[2])), b64(lastApplied), b64(m[4]), b64(dockerConfig("registry.example.com", "ci", m[5])), b64(m[6])];

            Snapshot = Write("cluster.yaml", $$$"""
                apiVersion: v1
                items:
                - apiVersion: v1
                  kind: Namespace
                  metadata: {name: kyma-system}
                - apiVersion: v1
                  kind: Namespace
                  metadata: {name: team-a}
                - apiVersion: v1
                  kind: Namespace
                  metadata: {name: team-b, labels: {serverless.kyma-project.io/managed-by: user}}
                - apiVersion: v1
                  data:
                    .dockerconfigjson: {{{b64(dockerConfig("serverless-docker-registry.kyma-system.svc.cluster.local:5000", "internal-user", m[0]))}}}
                    isInternal: {{{b64("true")}}}
                    password: {{{b64(m[0])}}}
                    pullRegAddr: {{{b64("localhost:32137")}}}
                    pushRegAddr: {{{b64("serverless-docker-registry.kyma-system.svc.cluster.local:5000")}}}
                    registryAddress: {{{b64("serverless-docker-registry.kyma-system.svc.cluster.local:5000")}}}
                    serverAddress: {{{b64("serverless-docker-registry.kyma-system.svc.cluster.local:5000")}}}
                    username: {{{b64("internal-user")}}}
                  kind: Secret
                  metadata:
                    labels: {serverless.kyma-project.io/config: credentials}
                    name: serverless-registry-config-default
                    namespace: kyma-system
                  type: kubernetes.io/dockerconfigjson
                - apiVersion: v1
                  data:
                    .dockerconfigjson: {{{b64(dockerConfig("registry.example.com", "team-a", m[2]))}}}
                    password: {{{b64(m[2])}}}
                    registryAddress: {{{b64("registry.example.com/team-a")}}}
                    serverAddress: {{{b64("registry.example.com")}}}
                    username: {{{b64("team-a")}}}
                  kind: Secret
                  metadata:
                    annotations:
                      kubectl.kubernetes.io/last-applied-configuration: {{{System.Text.Json.JsonSerializer.Serialize(lastApplied)}}}
                    labels: {serverless.kyma-project.io/remote-registry: config}
                    name: serverless-registry-config
                    namespace: team-a
                  type: kubernetes.io/dockerconfigjson
                - apiVersion: v1
                  kind: Secret
                  metadata: {name: app-token, namespace: team-a}
                  data: {token: {{{b64(m[4])}}}}
                  stringData:
                    password: {{{digits}}}
                - apiVersion: v1
                  kind: Secret
                  metadata: {name: regcred, namespace: team-b}
                  type: kubernetes.io/dockerconfigjson
                  data: {.dockerconfigjson: {{{b64(dockerConfig("registry.example.com", "ci", m[5]))}}}}
                - apiVersion: v1
                  kind: ServiceAccount
                  metadata: {name: default, namespace: team-b}
                  imagePullSecrets: [{name: regcred}]
                - apiVersion: apps/v1
                  kind: Deployment
                  metadata: {name: web, namespace: team-b}
                  spec:
                    template:
                      spec:
                        containers: [{name: app, image: registry.example.com/team/app:1}, {name: hub, image: nginx:1.25}]
                - apiVersion: v1
                  kind: Secret
                  metadata: {name: registry-info, namespace: jet-system}
                  stringData:
                    DOMAIN: harbor.example.org
                    BASE_PATH: airgap
                    INSECURE: "false"
                    USERNAME: admin
                    PASSWORD: {{{m[6]}}}
                    MIRROR_REGISTRIES: docker.io::harbor.example.org/airgap/docker.io
                kind: List
                """);
            // Next to syntax errors: an unquoted password starting with '*' reads as an alias; a JSON value with garbage after it.
            BrokenYaml = Write("broken.yaml", $"apiVersion: v1\nkind: Secret\nmetadata: {{name: broken, namespace: team-a}}\nstringData:\n  password: *{m[7]}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: broken2, namespace: team-a}}\nstringData: {{password: \"{m[7]}\n");
            BrokenJson = Write("broken.json", $"{{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{{\"name\":\"b\",\"namespace\":\"team-a\"}},\"stringData\":{{\"password\":\"{m[8]}\"x}}}}");
            DockerConfig = Write("config.json", dockerConfig("registry.example.com", "ci", m[5]));
            BadAuth = Write("bad-auth.json", $"{{\"auths\":{{\"registry.example.com\":{{\"auth\":\"!{m[8]}\"}}}}}}");
            Changes = Write("changes.yaml", $"changes:\n  - op: setData\n    target: {{kind: Secret, namespace: team-a, name: serverless-registry-config}}\n    key: password\n    value: {m[9]}\n");
            RegistryInfo = Write("registry-info.yaml", $"apiVersion: v1\nkind: Secret\nmetadata: {{name: registry-info, namespace: jet-system}}\nstringData:\n  DOMAIN: harbor.example.org\n  BASE_PATH: airgap\n  INSECURE: \"nope\"\n  USERNAME: admin\n  PASSWORD: {m[6]}\n  MIRROR_REGISTRIES: docker.io::harbor.example.org/airgap/docker.io,bad\n");
        }

        public string[] Markers { get; }

        public string[] Embedded { get; }

        public string Dir { get; }

        public string Snapshot { get; }

        public string BrokenYaml { get; }

        public string BrokenJson { get; }

        public string DockerConfig { get; }

        public string BadAuth { get; }

        public string Changes { get; }

        public string RegistryInfo { get; }

        private string Write(string name, string text)
        {
            string path = Path.Combine(Dir, name);
            File.WriteAllText(path, text);
            return path;
        }

        public IEnumerable<string[]> Commands()
        {
            string[][] snapshots = [[Snapshot], [Snapshot, BrokenYaml], [BrokenJson, Snapshot]];
            foreach (string[] files in snapshots)
            {
                string[] f = [.. files.SelectMany(x => new[] { "-f", x })];
                foreach (string preset in new[] { "kyma-serverless", "kyma-serverless-module", "openfaas", "ibm-iks" })
                {
                    foreach (string format in new[] { "table", "json", "yaml" })
                    {
                        yield return ["resolve", .. f, "--preset", preset, "-o", format];
                        yield return ["plan", .. f, "--preset", preset, "-o", format];
                    }

                    yield return ["explain", .. f, "--preset", preset, "-n", "team-a", "-n", "kyma-system", "-n", "team-b"];
                    yield return ["pulls", .. f, "--preset", preset, "-o", "json"];
                }

                yield return ["pulls", .. f];
                yield return ["creds", "decode", .. f];
                yield return ["creds", "decode", .. f, "-o", "json"];
                yield return ["admit", .. f];
                yield return ["admit", .. f, "-o", "json"];
                foreach (string format in new[] { "table", "json", "markdown" })
                {
                    yield return ["whatif", "--before", files[0], "--after", files[^1], "--changes", Changes, "-o", format];
                    yield return ["whatif", "--before", files[0], "--preset-after", "kyma-serverless-module", "-o", format];
                }

                yield return ["swap", "--mirror-registries", "docker.io::m.example.com/d", .. f, "-o", "patch"];
                yield return ["swap", "--mirror-registries", "docker.io::m.example.com/d", .. f, "-o", "yaml"];
            }

            foreach (string file in new[] { BrokenYaml, BrokenJson })
            {
                yield return ["admit", "-f", file];
                yield return ["creds", "decode", "-f", file];
            }

            foreach (string config in new[] { DockerConfig, BadAuth })
            {
                yield return ["creds", "decode", "--dockerconfig", config];
                yield return ["creds", "decode", "--dockerconfig", config, "-o", "json"];
                yield return ["creds", "match", "--dockerconfig", config, "registry.example.com/team/app"];
                yield return ["creds", "match", "--dockerconfig", config, "-o", "json", "registry.example.com/team/app"];
            }

            foreach (string format in new[] { "containerd", "hosts-toml", "registries-conf" })
            {
                yield return ["render", format, "--registry-info", RegistryInfo];
                yield return ["render", format, "--registry-info", Snapshot];
            }

            yield return ["policy", "validate", Changes];
            yield return ["policy", "show", Snapshot, "-o", "json"];
        }

        /// <summary>The marker, or its base64 at any of the three byte alignments, or any encoded value it was embedded in.</summary>
        public string? Leak(string text)
        {
            foreach (string marker in Markers)
            {
                if (text.Contains(marker, StringComparison.Ordinal))
                {
                    return marker;
                }

                foreach (string pad in new[] { "", "a", "ab" })
                {
                    string encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(pad + marker));
                    int start = pad.Length == 0 ? 0 : 4;
                    int end = (pad.Length + marker.Length) / 3 * 4;
                    string core = encoded[start..end];
                    if (text.Contains(core, StringComparison.Ordinal))
                    {
                        return $"base64 of {marker}: {core}";
                    }
                }
            }

            return Embedded.FirstOrDefault(e => text.Contains(e, StringComparison.Ordinal));
        }
    }

    [Property(MaxTest = 3)]
    public Property No_command_in_any_format_prints_a_marker_password_or_its_base64() =>
        Prop.ForAll(
            (from markers in Gen.ArrayOf(Marker, 10)
             from digits in Gen.Choose(100_000, 999_999)
             select (markers, "98" + digits.ToString(System.Globalization.CultureInfo.InvariantCulture) + "0417")).ToArbitrary(),
            input =>
            {
                var inputs = new Inputs(input.markers, input.Item2);
                var leaks = new List<string>();
                int commands = 0, answered = 0;
                foreach (string[] command in inputs.Commands())
                {
                    commands++;
                    CliResult result = CliRunner.Run(command);
                    Assert.True(result.ExitCode != 70, $"'{string.Join(' ', command)}' failed inside: {result.Error}");
                    Assert.True(result.ExitCode != 2, $"'{string.Join(' ', command)}' is not a valid command line: {result.Error}");
                    answered += result.Output.Length > 0 ? 1 : 0;
                    if (inputs.Leak(result.Output + "\n" + result.Error) is { } leak)
                    {
                        leaks.Add($"{string.Join(' ', command).Replace(inputs.Dir, "DIR", StringComparison.Ordinal)}: {leak}");
                    }
                }

                Assert.True(commands > 100, "the command table lost its rows");
                Assert.True(answered > commands * 3 / 4, $"only {answered} of {commands} commands printed an answer");
                Assert.True(leaks.Count == 0, string.Join("\n", leaks));
            });

    [Fact]
    public void With_show_secrets_the_markers_do_appear_so_the_check_can_fail()
    {
        var inputs = new Inputs([.. Enumerable.Range(0, 10).Select(i => $"PwKnownMarker{i}xyz")], "9812345670417");

        CliResult decode = CliRunner.Run("creds", "decode", "-f", inputs.Snapshot, "--show-secrets");
        CliResult plan = CliRunner.Run("plan", "-f", inputs.Snapshot, "-o", "manifests", "--show-secrets");

        Assert.NotNull(inputs.Leak(decode.Output));
        Assert.NotNull(inputs.Leak(plan.Output));
    }
}
