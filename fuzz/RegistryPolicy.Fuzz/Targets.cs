using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Documents;
using RegistryPolicy.Policies;
using RegistryPolicy.References;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Suites;
using RegistryPolicy.Swap;
using RegistryPolicy.WhatIf;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Fuzz;

/// <summary>
/// The fuzz targets: one per parser of untrusted input, each a plain method over the input bytes, so that AFL (through
/// SharpFuzz) and the test suite (replaying <c>fuzz/corpus</c> and <c>fuzz/regressions</c>) run the same body. Only the
/// public API of <c>RegistryPolicy</c> is used. Every target checks the same four kinds of contract:
/// <list type="bullet">
/// <item>no exception escapes (these are <c>Try</c>/<c>Read</c>/<c>Parse</c> APIs that document none for bad content);</item>
/// <item>where there are two paths to one answer, they agree;</item>
/// <item>results are internally consistent (round trips, idempotence, success exactly when there is no error diagnostic);</item>
/// <item>limits hold (<see cref="DocumentLimits"/>: nothing longer or bigger than a limit comes out of the reader).</item>
/// </list>
/// A broken contract that throws nothing is reported as a <see cref="ContractViolationException"/>, which the fuzzer counts
/// as a crash. Invalid UTF-8 is part of the input space: APIs that take bytes or a stream get the raw bytes; APIs that take
/// a string get the input decoded with replacement (<see cref="Texts"/>).
/// </summary>
internal static class Targets
{
    private const string DigestHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    // No static field may run instrumented code (a RegistryPolicy constructor, say): SharpFuzz's fork server and the
    // child's setup run before the coverage map is attached, and instrumented code then writes through a null pointer.
    private static DocumentLimits? _tight;

    /// <summary>Limits small enough that the fuzzer reaches every one of them in a few bytes.</summary>
    private static DocumentLimits Tight => _tight ??= new(MaxDepth: 6, MaxScalarLength: 48, MaxNodesPerObject: 200);

    private static readonly UTF8Encoding Lenient = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private static readonly string[] Images =
    [
        "nginx", "nginx:1.25", "docker.io/library/redis:7", "index.docker.io/library/busybox", "docker.io/bitnami/redis",
        "quay.io/org/app:1", "quay.io/org/app@sha256:" + DigestHex, "ghcr.io/a/b/c:2", "localhost:5000/app", "localhost/app",
        "registry.k8s.io/pause:3.9", "gcr.io/project/img", "my.registry:443/team/app:v1", "harbor.example.org/airgap-images/docker.io/nginx",
        "", "NOT VALID", "a/b", ":", "@", "nginx@sha256:" + DigestHex,
    ];

    private static readonly string[] RegistryInfoKeys = ["DOMAIN", "BASE_PATH", "INSECURE", "MIRROR_REGISTRIES", "USERNAME", "PASSWORD", "CA_CERT"];

    private static readonly Lazy<ClusterSnapshot> Cluster = new(() =>
    {
        using Stream stream = typeof(Targets).Assembly.GetManifestResourceStream("kyma-cluster.yaml")
            ?? throw new InvalidOperationException("the embedded kyma-cluster.yaml is missing");
        return ClusterSnapshot.Create(SnapshotReader.Read(stream, "kyma-cluster.yaml"));
    });

    private static readonly Lazy<CredentialKeyring> Keyring = new(() => CredentialKeyring.Create(
        new[] { "r.io", "*.example.com", DockerConfigJson.DefaultServer, "localhost:5000", "registry.example.com/team", "http://insecure.example.org:8080/path", "quay.io/org" }
            .Select(server => DockerConfigJson.Read(DockerConfigJson.Encode(server, "user", "pass"), DockerConfigFormat.DockerConfigJson).Config)));

    /// <summary>The target names, in the order <c>fuzz/run.sh</c> runs them (each has a folder under <c>fuzz/corpus</c>).</summary>
    public static ImmutableArray<string> Names => TargetNames.All;

    /// <summary>Runs one target on one input. Returns normally when every contract holds; throws otherwise.</summary>
    /// <param name="target">One of <see cref="Names"/>.</param>
    /// <param name="input">The input bytes.</param>
    public static void Run(string target, ReadOnlySpan<byte> input)
    {
        ArgumentNullException.ThrowIfNull(target);
        switch (target)
        {
            case "snapshot-json": SnapshotJson(input); break;
            case "snapshot-json-limits": SnapshotJsonLimits(input); break;
            case "snapshot-yaml": SnapshotYaml(input); break;
            case "policy": Policy(input); break;
            case "swap-map": SwapMap(input); break;
            case "mirror-registries": MirrorRegistries(input); break;
            case "dockerconfigjson": DockerConfig(input); break;
            case "changes": Changes(input); break;
            case "registry-info": RegistryInfo(input); break;
            case "image-reference": ImageReferences(input); break;
            case "admission-review": AdmissionReview(input); break;
            case "test-suite": TestSuite(input); break;
            case "watch-event": WatchEvents(input); break;
            case "kubeconfig": Kubeconfig(input); break;
            default: throw new ArgumentException($"unknown fuzz target '{target}'; the targets are: {string.Join(", ", Names)}", nameof(target));
        }
    }

    /// <summary>
    /// The input as text for string APIs: UTF-8 with invalid bytes replaced by U+FFFD; and, when the input starts with the
    /// UTF-16LE byte order mark (FF FE), also the rest as raw UTF-16LE code units, so that lone surrogates reach them too.
    /// </summary>
    internal static List<string> Texts(ReadOnlySpan<byte> input)
    {
        var texts = new List<string> { Lenient.GetString(input) };
        if (input.Length >= 2 && input[0] == 0xFF && input[1] == 0xFE)
        {
            ReadOnlySpan<byte> rest = input[2..];
            texts.Add(new string(MemoryMarshal.Cast<byte, char>(rest[..(rest.Length & ~1)])));
        }

        return texts;
    }

    /// <summary>
    /// <c>SnapshotReader.Read(Stream)</c> on the input as given (raw bytes, so invalid UTF-8 reaches the reader), with the
    /// default <see cref="DocumentLimits"/>; when that is not valid UTF-8, also <c>Read(string)</c> on the input decoded
    /// with replacement. When the input is exactly one JSON object, it is also read wrapped as the only item of a
    /// <c>v1 List</c>: list items take the fast single-pass decoder, which must decode exactly as the general path or
    /// decline, so the objects (by value) and the diagnostics (severity, code, subject, field, message; not line and
    /// column, which the wrapper moves) must agree. Objects with a top-level <c>items</c> key are not wrapped: alone they
    /// are read as a list themselves. What is read must build a snapshot that the default policy evaluates.
    /// </summary>
    private static void SnapshotJson(ReadOnlySpan<byte> input)
    {
        byte[] bytes = input.ToArray();
        SnapshotSource general = Read(bytes, "fuzz.json", DocumentLimits.Default);
        CheckSource(general, DocumentLimits.Default);
        Downstream(general);
        CheckFilter(general, Read(bytes, "fuzz.json", DocumentLimits.Default, Keep));
        if (!Utf8.IsValid(input))
        {
            CheckSource(SnapshotReader.Read(Lenient.GetString(input), "fuzz.json"), DocumentLimits.Default);
        }

        if (IsSingleObject(input))
        {
            SnapshotSource item = Read(Wrap(input), "fuzz.json", DocumentLimits.Default);
            CheckSource(item, DocumentLimits.Default);
            Agree("json-paths-agree", general, item);
        }
    }

    /// <summary>
    /// The same reads as <see cref="SnapshotJson"/> (as given, and a single object alone and as a list item) under limits
    /// small enough for the fuzzer to reach (depth 6, scalars of 48 characters, 200 nodes): nothing read may be bigger than
    /// a limit allows, and the two paths must still agree. A separate target, because most real objects cross these
    /// limits, and an input that fails a check is no longer explored by the fuzzer.
    /// </summary>
    private static void SnapshotJsonLimits(ReadOnlySpan<byte> input)
    {
        SnapshotSource general = Read(input.ToArray(), "fuzz.json", Tight);
        CheckSource(general, Tight);
        if (IsSingleObject(input))
        {
            SnapshotSource item = Read(Wrap(input), "fuzz.json", Tight);
            CheckSource(item, Tight);
            Agree("json-paths-agree-tight-limits", general, item);
        }
    }

    /// <summary>
    /// <c>SnapshotReader.Read(Stream)</c> on the input forced to YAML (a <c>#</c> comment line in front, so that format
    /// detection never picks JSON), with the default limits and with tight ones.
    /// </summary>
    private static void SnapshotYaml(ReadOnlySpan<byte> input)
    {
        byte[] bytes = [.. "#\n"u8, .. input];
        SnapshotSource source = Read(bytes, "fuzz.yaml", DocumentLimits.Default);
        CheckSource(source, DocumentLimits.Default);
        Downstream(source);
        CheckFilter(source, Read(bytes, "fuzz.yaml", DocumentLimits.Default, Keep));
        CheckSource(Read(bytes, "fuzz.yaml", Tight), Tight);
    }

    /// <summary>
    /// <c>PolicyLoader.Load</c>: true exactly when a policy comes out and no diagnostic is an error; a policy that
    /// loads evaluates (converged and as-is) on the bundled Kyma sample snapshot without throwing.
    /// </summary>
    private static void Policy(ReadOnlySpan<byte> input)
    {
        foreach (string text in Texts(input))
        {
            PolicyLoadResult result = PolicyLoader.Load(text, "fuzz-policy.yaml");
            bool loaded = !result.HasErrors;
            CompiledPolicy? policy = result.Policy;
            ImmutableArray<Diagnostic> diagnostics = result.Diagnostics.Items;
            CheckDiagnostics("policy", diagnostics);
            bool errors = diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
            ContractViolationException.Require(loaded == (policy is not null) && loaded != errors, "policy-result-consistent",
                () => $"TryLoad returned {loaded}, policy {(policy is null ? "null" : "set")}, error diagnostics: {errors}\n{Lines(diagnostics)}");
            if (policy is null)
            {
                continue;
            }

            foreach (EvaluationView view in Enum.GetValues<EvaluationView>())
            {
                _ = PolicyEngine.Evaluate(policy, Cluster.Value, view);
            }

            _ = PolicyEngine.Plan(policy, Cluster.Value);
        }
    }

    /// <summary><c>ImageSwapMap.Load</c>, then the checks of <see cref="Rewrites"/> in both dialects.</summary>
    private static void SwapMap(ReadOnlySpan<byte> input)
    {
        foreach (string text in Texts(input))
        {
            ImageSwapMap map = ImageSwapMap.Load(text, "fuzz-maps");
            CheckMap(map);
            Rewrites(map);
        }
    }

    /// <summary><c>ImageSwapMap.ParseMirrorRegistries</c> (always has the implied <c>default</c> key), then <see cref="Rewrites"/>.</summary>
    private static void MirrorRegistries(ReadOnlySpan<byte> input)
    {
        foreach (string text in Texts(input))
        {
            ImageSwapMap map = ImageSwapMap.LoadMirrorRegistries(text);
            CheckMap(map);
            ContractViolationException.Require(map.HasDefault && map.ImpliedDefault, "mirror-registries-default",
                () => $"HasDefault {map.HasDefault}, ImpliedDefault {map.ImpliedDefault}");
            Rewrites(map);
        }
    }

    /// <summary>
    /// <c>DockerConfigJson.Read</c> on the raw bytes in both formats: an error means an empty config (documented), servers
    /// are unique (Go map semantics), reading the same bytes through a <c>PullSecret</c> of the matching type gives the
    /// same result, and keyrings built from the config and from the Secret look images up without throwing.
    /// </summary>
    private static void DockerConfig(ReadOnlySpan<byte> input)
    {
        var secretReference = new ObjectReference("Secret", "fuzz", "pull");
        foreach (DockerConfigFormat format in Enum.GetValues<DockerConfigFormat>())
        {
            (string key, string type) = format == DockerConfigFormat.DockerConfigJson
                ? (PullSecret.DockerConfigJsonKey, PullSecret.DockerConfigJsonType)
                : (PullSecret.DockerCfgKey, PullSecret.DockerCfgType);
            DockerConfigReadResult result = DockerConfigJson.Read(input, format, secretReference, key);
            CheckDiagnostics("dockerconfigjson", result.Diagnostics);
            ContractViolationException.Require(!result.HasErrors || result.Config.Entries.Count == 0, "dockerconfig-error-means-empty",
                () => $"{format}: {result.Config.Entries.Count} entries despite errors\n{Lines(result.Diagnostics)}");
            ContractViolationException.Require(result.Config.Entries.Select(e => e.Server).Distinct(StringComparer.Ordinal).Count() == result.Config.Entries.Count,
                "dockerconfig-servers-unique", () => $"{format}: servers {string.Join(", ", result.Config.Entries.Select(e => e.Server))}");

            List<string> images = [.. Images, .. result.Config.Entries.Take(8).SelectMany(e => new[] { e.Server, e.Server.TrimEnd('/') + "/org/app:1" })];
            Lookups(CredentialKeyring.Create([result.Config]), images);
            if (input.IsEmpty)
            {
                continue;
            }

            var secret = new PullSecret("fuzz", "pull", type, new Dictionary<string, byte[]>(StringComparer.Ordinal) { [key] = input.ToArray() });
            DockerConfigReadResult viaSecret = secret.ReadDockerConfig();
            ContractViolationException.Require(viaSecret.Equals(result), "dockerconfig-paths-agree",
                () => $"{format}: Decode gave {result.Config.Entries.Count} entries\n{Lines(result.Diagnostics)}\nPullSecret.ReadDockerConfig gave {viaSecret.Config.Entries.Count}\n{Lines(viaSecret.Diagnostics)}");
            Lookups(CredentialKeyring.Create([secret]), images);
        }
    }

    /// <summary>
    /// <c>WhatIfEngine.LoadChanges</c>: every change is well-formed for its operation; applied to the bundled Kyma sample, the
    /// inverse changes apply cleanly and give back the original objects (documented on <see cref="ChangeResult"/>).
    /// </summary>
    private static void Changes(ReadOnlySpan<byte> input)
    {
        foreach (string text in Texts(input))
        {
            ChangeDocument document = WhatIfEngine.LoadChanges(text, "fuzz-changes.yaml");
            ValueArray<SnapshotChange> changes = document.Changes;
            CheckDiagnostics("changes", document.Diagnostics.Items);
            foreach (SnapshotChange change in changes)
            {
                bool wellFormed = change.Operation switch
                {
                    ChangeOperation.Put => change.Manifest is not null && change.Manifest.Reference == change.Target,
                    ChangeOperation.Delete => change.Manifest is null,
                    ChangeOperation.SetLabel or ChangeOperation.SetData => change.Key is not null && change.Value is not null,
                    _ => change.Key is not null,
                };
                ContractViolationException.Require(wellFormed, "changes-well-formed", () => $"{change} (manifest {change.Manifest?.Reference.ToString() ?? "none"})");
            }

            ClusterSnapshot before = Cluster.Value;
            ChangeResult forward = WhatIfEngine.ApplyChanges(before, changes);
            ChangeResult back = WhatIfEngine.ApplyChanges(forward.Snapshot, forward.Inverse);
            ContractViolationException.Require(back.Diagnostics.IsEmpty, "changes-inverse-applies",
                () => $"the inverse changes were not all applied:\n{Lines(back.Diagnostics)}");
            ContractViolationException.Require(back.Snapshot.Objects.ToHashSet().SetEquals(before.Objects), "changes-inverse-restores",
                () => $"after the inverse: {string.Join(", ", back.Snapshot.Objects.Except(before.Objects))} new or changed; " +
                      $"{string.Join(", ", before.Objects.Except(back.Snapshot.Objects))} missing or changed");
            _ = PolicyEngine.Evaluate(PolicyPresets.Default, forward.Snapshot);
        }
    }

    /// <summary>
    /// The controller's watch stream, one event per line (<c>KubeApi.ParseEvent</c>), applied to an object cache: each line
    /// parses or is refused with a <c>KubeApiException</c> or <c>JsonException</c> (the two the cache's loop handles), and
    /// nothing else escapes; a parsed ADDED/MODIFIED/DELETED event has an object with a name, BOOKMARK none; after an
    /// ADDED or MODIFIED the cache holds the object unless it already held a newer version, after a DELETED it does not
    /// hold it, and a BOOKMARK changes nothing but the resourceVersion.
    /// </summary>
    private static void WatchEvents(ReadOnlySpan<byte> input)
    {
        var cache = new RegistryPolicy.Kubernetes.Controller.ObjectCache(null!, RegistryPolicy.Kubernetes.Controller.ResourceType.Secrets, new RegistryPolicy.Kubernetes.Controller.CacheOptions());
        byte[] bytes = input.ToArray();
        int start = 0;
        for (int i = 0; i <= bytes.Length; i++)
        {
            if (i < bytes.Length && bytes[i] != (byte)'\n')
            {
                continue;
            }

            byte[] line = bytes[start..i];
            start = i + 1;
            if (line.Length == 0)
            {
                continue;
            }

            RegistryPolicy.Kubernetes.Controller.WatchEvent e;
            try
            {
                e = RegistryPolicy.Kubernetes.Controller.KubeApi.ParseEvent(line, RegistryPolicy.Kubernetes.Controller.ResourceType.Secrets);
            }
            catch (Exception ex) when (ex is RegistryPolicy.Kubernetes.Controller.KubeApiException or JsonException)
            {
                continue;
            }

            bool bookmark = e.Type == RegistryPolicy.Kubernetes.Controller.WatchEventType.Bookmark;
            ContractViolationException.Require(bookmark == (e.Object is null), "watch-event-object", () => $"{e.Type} with object {e.Object}");
            ContractViolationException.Require(e.Object is null || e.Object.Name.Length > 0, "watch-event-named", () => "an object without a name");
            int before = cache.Items().Count;
            RegistryPolicy.Kubernetes.Controller.ApiObject? held = e.Object is { } o ? cache.Get(o.Namespace, o.Name) : null;
            cache.Apply(e);
            if (e.Object is { } obj)
            {
                RegistryPolicy.Kubernetes.Controller.ApiObject? now = cache.Get(obj.Namespace, obj.Name);
                bool olderThanHeld = held is not null && ulong.TryParse(obj.ResourceVersion, out ulong a) && ulong.TryParse(held.ResourceVersion, out ulong b) && a < b;
                // The same resourceVersion is the same object (the echo of a write the cache observed): what it holds stays.
                bool sameAsHeld = held is not null && obj.ResourceVersion.Length > 0 && obj.ResourceVersion == held.ResourceVersion;
                ContractViolationException.Require(e.Type == RegistryPolicy.Kubernetes.Controller.WatchEventType.Deleted ? now is null : now == (olderThanHeld || sameAsHeld ? held : obj),
                    "watch-event-applied", () => $"{e.Type} {obj.Namespace}/{obj.Name}: the cache holds {now}");
            }
            else
            {
                ContractViolationException.Require(cache.Items().Count == before, "watch-bookmark-changes-nothing", () => "a bookmark changed the objects");
            }
        }
    }

    /// <summary>
    /// <c>KubernetesConnection.TryFromKubeconfigText</c>: never throws; a connection exactly when there is no error; the
    /// error never quotes a token, password or key from the document (only names and the path), and a connection's
    /// <c>ToString</c> names the server and where it came from, never a credential.
    /// </summary>
    private static void Kubeconfig(ReadOnlySpan<byte> input)
    {
        foreach (string text in Texts(input))
        {
            bool ok = RegistryPolicy.Kubernetes.Controller.KubernetesConnection.TryFromKubeconfigText(text, "/nonexistent/fuzz-kubeconfig", null,
                out RegistryPolicy.Kubernetes.Controller.KubernetesConnection? connection, out string? error);
            ContractViolationException.Require(ok == (connection is not null) && ok == (error is null), "kubeconfig-iff-no-error", () => $"ok {ok}, error {error}");
            foreach (string secret in SecretsIn(text))
            {
                ContractViolationException.Require(error?.Contains(secret, StringComparison.Ordinal) != true, "kubeconfig-error-no-secret", () => error!);
                ContractViolationException.Require(connection?.ToString().Contains(secret, StringComparison.Ordinal) != true, "kubeconfig-tostring-no-secret", () => connection!.ToString());
            }
        }
    }

    /// <summary>The values of token, password and *-data keys in a kubeconfig's text (a plain scan: enough to look for them in messages).</summary>
    private static IEnumerable<string> SecretsIn(string text)
    {
        foreach (string line in text.Split('\n'))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            string key = line[..colon].Trim().TrimStart('-').Trim();
            string value = line[(colon + 1)..].Trim().Trim('"', '\'');
            if (value.Length >= 8 && (key is "token" or "password" || key.EndsWith("-data", StringComparison.Ordinal)))
            {
                yield return value;
            }
        }
    }

    /// <summary>
    /// <c>PolicyTestSuite.Load</c> + <c>Run</c>: a suite comes back exactly when there is no error diagnostic, and every
    /// diagnostic has the document as its source; the files it names are distinct. Run with no files (each named file then
    /// missing) and run again with every named file holding the bundled Kyma sample: both never throw, give one result per
    /// test, are deterministic (a second run is equal), and each result is consistent: invalid means nothing was compared,
    /// passed means no failure, failed means at least one, and never more failures than checks.
    /// </summary>
    private static void TestSuite(ReadOnlySpan<byte> input)
    {
        foreach (string text in Texts(input))
        {
            PolicyTestSuiteLoadResult loaded = PolicyTestSuite.Load(text, "fuzz.test.yaml");
            CheckDiagnostics("test-suite", loaded.Diagnostics.Items);
            bool errors = loaded.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
            ContractViolationException.Require(errors == (loaded.Suite is null), "test-suite-iff-no-error",
                () => $"suite {(loaded.Suite is null ? "missing" : "present")} with diagnostics\n{Lines(loaded.Diagnostics)}");
            ContractViolationException.Require(loaded.Diagnostics.All(d => d.Location is { Source: "fuzz.test.yaml" }), "test-suite-diagnostics-located",
                () => $"a diagnostic without the document's location\n{Lines(loaded.Diagnostics)}");
            if (loaded.Suite is not { } suite)
            {
                continue;
            }

            ContractViolationException.Require(suite.Files.Distinct(StringComparer.Ordinal).Count() == suite.Files.Length, "test-suite-files-distinct",
                () => string.Join(", ", suite.Files));
            string sample = KymaSampleText.Value;
            foreach (IReadOnlyDictionary<string, string> files in new[]
            {
                (IReadOnlyDictionary<string, string>)new Dictionary<string, string>(),
                suite.Files.Distinct(StringComparer.Ordinal).ToDictionary(f => f, _ => sample, StringComparer.Ordinal),
            })
            {
                PolicyTestSuiteResult result = suite.Run(files);
                ContractViolationException.Require(result.Cases.Count == suite.TestNames.Length, "test-suite-one-result-per-test",
                    () => $"{result.Cases.Count} results for {suite.TestNames.Length} tests");
                ContractViolationException.Require(result.Equals(suite.Run(files)), "test-suite-deterministic", () => "two runs differ");
                foreach (PolicyTestCaseResult test in result.Cases)
                {
                    bool consistent = test.Outcome switch
                    {
                        PolicyTestOutcome.Invalid => test.Checks == 0 && test.Failures.Count == 0,
                        PolicyTestOutcome.Passed => test.Failures.Count == 0,
                        _ => test.Failures.Count > 0 && test.Failures.Count <= test.Checks,
                    };
                    ContractViolationException.Require(consistent, "test-suite-result-consistent",
                        () => $"{test.Name}: {test.Outcome}, {test.Checks} checks, {test.Failures.Count} failures");
                    CheckDiagnostics("test-suite run", test.Diagnostics.Items);
                }
            }
        }
    }

    private static readonly Lazy<string> KymaSampleText = new(() =>
    {
        using Stream stream = typeof(Targets).Assembly.GetManifestResourceStream("kyma-cluster.yaml")
            ?? throw new InvalidOperationException("the embedded kyma-cluster.yaml is missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>
    /// <c>PaletteRegistryInfo.Read</c>. The input is up to seven NUL-separated values, for DOMAIN, BASE_PATH, INSECURE,
    /// MIRROR_REGISTRIES, USERNAME, PASSWORD and CA_CERT in that order (fewer values: the later keys are missing). They are
    /// put in a <c>registry-info</c> Secret three ways: as base64 <c>data</c> of a YAML Secret read by
    /// <c>SnapshotReader</c> (raw bytes), as quoted <c>stringData</c> of a YAML Secret (the values decoded with
    /// replacement), and built in code with <c>SecretData.Create</c>. The reader must give back exactly the Secret built
    /// in code, and <c>TryRead</c> must give the same answer for the same bytes; true exactly when it gives an override
    /// and no diagnostic is an error; a usable override rewrites images (<see cref="Rewrites"/>).
    /// </summary>
    private static void RegistryInfo(ReadOnlySpan<byte> input)
    {
        List<byte[]> values = [.. Split(input, 0).Take(RegistryInfoKeys.Length)];
        var metadata = new ObjectMetadata("registry-info", "jet-system");
        var raw = new SecretObject(metadata, SecretObject.OpaqueType,
            SecretData.Create(values.Select((v, i) => KeyValuePair.Create(RegistryInfoKeys[i], v))));
        var text = new SecretObject(metadata, SecretObject.OpaqueType,
            SecretData.Create(values.Select((v, i) => KeyValuePair.Create(RegistryInfoKeys[i], Encoding.UTF8.GetBytes(Lenient.GetString(v))))));

        var data = new StringBuilder("apiVersion: v1\nkind: Secret\nmetadata:\n  name: registry-info\n  namespace: jet-system\ntype: Opaque\n");
        var stringData = new StringBuilder(data.ToString());
        data.Append(values.Count == 0 ? "data: {}\n" : "data:\n");
        stringData.Append(values.Count == 0 ? "stringData: {}\n" : "stringData:\n");
        for (int i = 0; i < values.Count; i++)
        {
            // Quoted, as kubectl's YAML emitter quotes base64 that would read as another type ("true", "1234", "null").
            data.Append("  ").Append(RegistryInfoKeys[i]).Append(": \"").Append(Convert.ToBase64String(values[i])).Append("\"\n");
            stringData.Append("  ").Append(RegistryInfoKeys[i]).Append(": \"").Append(JsonEncodedText.Encode(Lenient.GetString(values[i])).ToString()).Append("\"\n");
        }

        foreach (var (yaml, expected) in new[] { (data.ToString(), raw), (stringData.ToString(), text) })
        {
            SnapshotSource read = SnapshotReader.Read(yaml, "registry-info.yaml");
            CheckSource(read, DocumentLimits.Default);
            ContractViolationException.Require(read.Objects.Length == 1 && read.Objects[0].Item.Equals(expected) && read.Diagnostics.IsEmpty,
                "registry-info-secret-reads", () => $"the reader did not give back the Secret that was written:\n{yaml}\n{Lines(read.Diagnostics)}\n" +
                    $"read: {string.Join("; ", read.Objects.Select(o => Describe(o.Item)))}\nexpected: {Describe(expected)}");
            (bool, string) fromReader = ReadRegistryInfo((SecretObject)read.Objects[0].Item);
            (bool, string) fromCode = ReadRegistryInfo(expected);
            ContractViolationException.Require(fromReader == fromCode, "registry-info-paths-agree",
                () => $"from the reader: {fromReader}\nfrom code: {fromCode}");
        }
    }

    /// <summary>
    /// <c>ImageReference.TryParse</c> and <c>TryParseNormalized</c> on the input as a string: never throw; a parsed
    /// reference prints as its input, its parts compose it, it re-parses to an equal value (also through
    /// <c>ISpanParsable</c>, <c>TryFormat</c> and <c>WithDefaultTag</c>); normalising is idempotent and gives a parseable
    /// reference; <c>Parse</c> throws <see cref="FormatException"/> exactly when <c>TryParse</c> fails. The image is also
    /// looked up in a small fixed keyring (globs, ports, paths), which must not throw.
    /// </summary>
    private static void ImageReferences(ReadOnlySpan<byte> input)
    {
        foreach (string text in Texts(input))
        {
            bool parsed = ImageReference.TryParse(text, out ImageReference p, out ReferenceError pe);
            ContractViolationException.Require(parsed
                    ? !p.IsDefault && pe.Kind == ReferenceErrorKind.None && p.ToString() == text
                    : p.IsDefault && pe.Kind != ReferenceErrorKind.None && pe.Code.Length > 0 && pe.Message.Length > 0,
                "reference-parse-result-consistent", () => $"'{text}': parsed {parsed}, reference '{p}', error '{pe}'");
            ContractViolationException.Require(SpanTryParse(text, out ImageReference ps) == parsed && ps == p, "reference-span-parse-agrees",
                () => $"'{text}': TryParse(string) '{p}', ISpanParsable.TryParse '{ps}'");
            ContractViolationException.Require(ParseThrowsFormatException(text) != parsed, "reference-parse-throws-format-exception",
                () => $"'{text}': TryParse {parsed}");
            if (parsed)
            {
                CheckParsed(text, p);
            }

            bool normalized = ImageReference.TryParseNormalized(text, out ImageReference n, out ReferenceError ne);
            ContractViolationException.Require(normalized
                    ? !n.IsDefault && ne.Kind == ReferenceErrorKind.None
                    : n.IsDefault && ne.Kind != ReferenceErrorKind.None && ne.Code.Length > 0 && ne.Message.Length > 0,
                "reference-normalize-result-consistent", () => $"'{text}': normalized {normalized}, reference '{n}', error '{ne}'");
            if (normalized)
            {
                string once = n.ToString();
                ContractViolationException.Require(ImageReference.TryParseNormalized(once, out ImageReference twice) && twice == n,
                    "reference-normalize-idempotent", () => $"'{text}' -> '{once}' -> '{twice}'");
                ContractViolationException.Require(ImageReference.TryParse(once, out ImageReference plain) && plain == n,
                    "reference-normalized-parses", () => $"'{text}' -> '{once}' -> '{plain}'");
                CheckParsed(once, n);
                _ = Keyring.Value.Lookup(n);
            }

            _ = Keyring.Value.Lookup(text);
            _ = Keyring.Value.LookupRaw(text);
        }
    }

    private static void CheckParsed(string text, ImageReference r)
    {
        ContractViolationException.Require(ImageReference.TryParse(r.ToString(), out ImageReference again) && again == r, "reference-round-trip",
            () => $"'{text}' -> '{r}' -> '{again}'");
        string composed = r.Name + (r.Tag is { } tag ? ":" + tag : "") + (r.Digest is { } digest ? "@" + digest : "");
        string name = r.Domain is null ? r.Path : r.Domain + "/" + r.Path;
        ContractViolationException.Require(composed == r.ToString() && name == r.Name && r.HasTag == (r.Tag is not null) && r.HasDigest == (r.Digest is not null)
                && r.DomainSpan.SequenceEqual(r.Domain) && r.PathSpan.SequenceEqual(r.Path) && r.NameSpan.SequenceEqual(r.Name)
                && r.TagSpan.SequenceEqual(r.Tag) && r.DigestSpan.SequenceEqual(r.Digest),
            "reference-parts-compose", () => $"'{text}': domain '{r.Domain}' path '{r.Path}' tag '{r.Tag}' digest '{r.Digest}' name '{r.Name}' composed '{composed}'");
        string canonical = r.ToString();
        char[] buffer = new char[canonical.Length + 1];
        bool fits = r.TryFormat(buffer, out int written);
        string formatted = new(buffer, 0, written);
        bool tooSmall = canonical.Length > 0 && r.TryFormat(buffer.AsSpan(0, canonical.Length - 1), out _);
        ContractViolationException.Require(fits && formatted == canonical && !tooSmall, "reference-try-format",
            () => $"'{text}': fits {fits} wrote '{formatted}', too small a buffer accepted: {tooSmall}");
        ImageReference tagged = r.WithDefaultTag();
        ContractViolationException.Require(ImageReference.TryParse(tagged.ToString(), out ImageReference taggedAgain) && taggedAgain == tagged
                && (r.HasTag || r.HasDigest ? tagged == r : tagged.Tag == ImageReference.DefaultTag && tagged.Name == r.Name),
            "reference-default-tag", () => $"'{text}' -> '{tagged}'");
        _ = r.ToFamiliarString();
        _ = r.ToFamiliarName();
        _ = r.ToString("F", null);
    }

    private static bool SpanTryParse<T>(string text, out T result)
        where T : ISpanParsable<T> => T.TryParse(text.AsSpan(), null, out result!);

    private static bool ParseThrowsFormatException(string text)
    {
        try
        {
            _ = ImageReference.Parse(text);
            return false;
        }
        catch (FormatException)
        {
            return true;
        }
    }

    /// <summary>
    /// Rewrites fixed images, and images made from the map's own keys, in both dialects (and in LEGACY mode with the
    /// <c>default</c> value as prefix). Always: the result names the image it was given, and an image that is not swapped
    /// comes back unchanged. In the reference dialect (documented in docs/swap.md): every swapped result is a valid
    /// reference, and rewriting a result again changes nothing.
    /// </summary>
    private static void Rewrites(ImageSwapMap map)
    {
        List<string> images = [.. Images];
        foreach (string key in map.KeyOrder.Where(k => k is not ("default" or "noswap_wildcards")).Take(6))
        {
            images.Add(key);
            images.Add(key + "/app:1");
            images.Add(key + "/org/app@sha256:" + DigestHex);
        }

        images.AddRange(map.Exact.Keys.Take(6));
        images.AddRange(map.Replace.Take(6).Select(r => r.Key.Replace("*", "x", StringComparison.Ordinal)));
        images.AddRange(map.Maps.Values.Where(v => v.Length > 0).Take(6).Select(v => v.TrimEnd('/') + "/app:1"));

        var options = new List<ImageSwapOptions> { new() { Dialect = SwapDialect.ImageSwap }, new() { Dialect = SwapDialect.Reference } };
        if (map.Maps.GetValueOrDefault("default") is { } prefix)
        {
            options.Add(new ImageSwapOptions { LegacyPrefix = prefix });
        }

        foreach (ImageSwapOptions option in options)
        {
            var swapper = new ImageSwapper(map, option);
            foreach (string image in images)
            {
                SwapResult r = swapper.Rewrite(image);
                ContractViolationException.Require(r.Image == image && (r.Swapped || r.Result == image), "swap-result-consistent",
                    () => $"{option}: '{image}' gave {r}");
                if (option.Dialect != SwapDialect.Reference || option.LegacyPrefix is not null)
                {
                    continue;
                }

                ContractViolationException.Require(!r.Swapped || ImageReference.TryParse(r.Result, out _), "swap-reference-result-valid",
                    () => $"'{image}' gave {r}, which is not a valid reference");
                SwapResult again = swapper.Rewrite(r.Result);
                ContractViolationException.Require(again.Result == r.Result, "swap-reference-idempotent",
                    () => $"'{image}' gave {r}; rewriting that gave {again}");
            }
        }
    }

    private static void CheckMap(ImageSwapMap map)
    {
        CheckDiagnostics("swap-map", map.Diagnostics);
        ContractViolationException.Require(map.KeyOrder.Length == map.Maps.Count && map.KeyOrder.All(map.Maps.ContainsKey), "swap-map-key-order",
            () => $"key order [{string.Join(", ", map.KeyOrder)}] but keys [{string.Join(", ", map.Maps.Keys)}]");
        ContractViolationException.Require(map.Replace.Select(r => r.Key).Distinct(StringComparer.Ordinal).Count() == map.Replace.Length, "swap-map-replace-unique",
            () => $"[REPLACE] patterns [{string.Join(", ", map.Replace.Select(r => r.Key))}]");
    }

    private static void Lookups(CredentialKeyring keyring, IEnumerable<string> images)
    {
        foreach (string image in images)
        {
            KeyringLookup lookup = keyring.Lookup(image);
            ContractViolationException.Require(lookup.Found == !lookup.Matches.IsEmpty && (lookup.Error is null || !lookup.Found), "keyring-lookup-consistent",
                () => $"'{image}': found {lookup.Found}, {lookup.Matches.Length} matches, error '{lookup.Error}'");
            _ = keyring.LookupRaw(image);
        }
    }

    private static (bool Usable, string Outcome) ReadRegistryInfo(SecretObject secret)
    {
        PaletteRegistryInfoReadResult read = PaletteRegistryInfo.Read(secret);
        bool usable = !read.HasErrors;
        PaletteRegistryInfo? info = read.Info;
        IReadOnlyList<Diagnostic> diagnostics = read.Diagnostics;
        CheckDiagnostics("registry-info", diagnostics);
        bool errors = diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
        ContractViolationException.Require(usable == (info is not null) && usable != errors, "registry-info-result-consistent",
            () => $"Read gave HasErrors={!usable}, info {(info is null ? "null" : "set")}, error diagnostics: {errors}\n{Lines(diagnostics)}");
        if (info is null)
        {
            return (false, Lines(diagnostics));
        }

        ContractViolationException.Require(info.Map.HasDefault, "registry-info-map-default", () => "the MIRROR_REGISTRIES map has no default key");
        Rewrites(info.Map);
        string map = string.Join(";", info.Map.KeyOrder.Select(k => k + "=" + info.Map.Maps[k]));
        return (true, $"{info.Domain}|{info.BasePath}|{info.Credential?.Username}|{info.Credential?.Fingerprint}|{info.Insecure}|{info.CaCert}|{map}\n{Lines(diagnostics)}");
    }

    private static byte[] Wrap(ReadOnlySpan<byte> input) => [.. "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["u8, .. input, .. "]}"u8];

    private static SnapshotSource Read(byte[] bytes, string source, DocumentLimits limits, SecretFilter? keep = null)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        return SnapshotReader.Read(stream, source, new SnapshotReadOptions { Limits = limits, Keep = keep });
    }

    /// <summary>A filter that keeps about half of all Secrets, whatever their names, so that both branches are taken.</summary>
    private static bool Keep(string @namespace, string name, StringMap labels) => (name.Length + labels.Count) % 2 == 0;

    /// <summary>
    /// Reading with a <see cref="SecretFilter"/> gives exactly the objects read without it less the Secrets it refuses,
    /// the same diagnostics (plus the <c>secrets-filtered</c> count), and the refused Secrets' namespaces as
    /// <see cref="SnapshotSource.OtherNamespaces"/>.
    /// </summary>
    private static void CheckFilter(SnapshotSource all, SnapshotSource filtered)
    {
        CheckSource(filtered, DocumentLimits.Default);
        KubeObject[] expected = [.. all.Objects.Select(o => o.Item).Where(o => o is not SecretObject s || Keep(s.Namespace!, s.Name, s.Metadata.Labels))];
        ContractViolationException.Require(filtered.Objects.Select(o => o.Item).SequenceEqual(expected), "filter-keeps-the-rest/objects",
            () => $"with the filter:    {string.Join("; ", filtered.Objects.Select(o => Describe(o.Item)))}\n" +
                  $"without, filtered: {string.Join("; ", expected.Select(Describe))}\n" +
                  $"diagnostics with the filter:\n{Lines(filtered.Diagnostics)}\ndiagnostics without:\n{Lines(all.Diagnostics)}");
        string withFilter = Lines(filtered.Diagnostics.Where(d => d.Code != "secrets-filtered"));
        string without = Lines(all.Diagnostics);
        ContractViolationException.Require(withFilter == without, "filter-keeps-the-rest/diagnostics",
            () => $"diagnostics with the filter:\n{withFilter}\ndiagnostics without:\n{without}");
        string[] refused = [.. all.Objects.Select(o => o.Item).OfType<SecretObject>().Where(s => !Keep(s.Namespace!, s.Name, s.Metadata.Labels))
            .Select(s => s.Namespace!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        ContractViolationException.Require(filtered.OtherNamespaces.SequenceEqual(refused), "filter-other-namespaces",
            () => $"OtherNamespaces [{string.Join(", ", filtered.OtherNamespaces)}], refused Secrets live in [{string.Join(", ", refused)}]");
    }

    /// <summary>What is read must be usable: it builds a snapshot, and the default policy evaluates it.</summary>
    private static void Downstream(SnapshotSource source) =>
        _ = PolicyEngine.Evaluate(PolicyPresets.Default, ClusterSnapshot.Create(source));

    /// <summary>Exactly one JSON object (no BOM, nothing after it) without a top-level <c>items</c> key.</summary>
    private static bool IsSingleObject(ReadOnlySpan<byte> input)
    {
        if (input.StartsWith("\uFEFF"u8))
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(input, new JsonReaderOptions { MaxDepth = 4096 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.CurrentDepth > 0)
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("items"u8))
                {
                    return false;
                }
            }

            return reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0 && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false; // ValueTextEquals on a name that is not valid UTF-8 or UTF-16
        }
    }

    /// <summary>
    /// The same object read alone and as a list item: the same objects, then the same diagnostics. The check's name says
    /// which differ (for diagnostics, the codes found on one side only), so that distinct causes deduplicate apart.
    /// </summary>
    private static void Agree(string check, SnapshotSource general, SnapshotSource item)
    {
        ContractViolationException.Require(general.Objects.Select(o => o.Item).SequenceEqual(item.Objects.Select(o => o.Item)), check + "/objects",
            () => $"objects differ\n  alone:     {string.Join("; ", general.Objects.Select(o => Describe(o.Item)))}\n" +
                  $"  list item: {string.Join("; ", item.Objects.Select(o => Describe(o.Item)))}\n" +
                  $"  diagnostics alone:\n{Lines(general.Diagnostics)}\n  diagnostics as a list item:\n{Lines(item.Diagnostics)}");
        string alone = Lines(general.Diagnostics), listed = Lines(item.Diagnostics);
        if (alone != listed)
        {
            var codesAlone = general.Diagnostics.Select(d => d.Code).ToHashSet(StringComparer.Ordinal);
            var codesListed = item.Diagnostics.Select(d => d.Code).ToHashSet(StringComparer.Ordinal);
            string[] oneSided = [.. codesAlone.Except(codesListed).Select(c => "-" + c).Concat(codesListed.Except(codesAlone).Select(c => "+" + c)).Order(StringComparer.Ordinal)];
            throw new ContractViolationException(
                $"{check}/diagnostics[{(oneSided.Length == 0 ? "same codes" : string.Join(",", oneSided))}]: diagnostics differ\n  alone:\n{alone}\n  list item:\n{listed}");
        }
    }

    /// <summary>Everything a reader returns is well-formed, and nothing in it is bigger than the limits allow.</summary>
    private static void CheckSource(SnapshotSource source, DocumentLimits limits)
    {
        CheckDiagnostics("snapshot", source.Diagnostics);
        foreach (LocatedObject located in source.Objects)
        {
            KubeObject? o = located.Item;
            if (o is null)
            {
                throw new ContractViolationException("snapshot-object-identity: the reader returned a null object");
            }

            ContractViolationException.Require(!string.IsNullOrEmpty(o.Name) && (o is NamespaceObject ? o.Namespace is null : !string.IsNullOrEmpty(o.Namespace)),
                "snapshot-object-identity", () => $"object {o.Kind} '{o.Namespace}'/'{o.Name}'");
            CheckLimits(o, limits);
        }
    }

    private static void CheckLimits(KubeObject o, DocumentLimits limits)
    {
        int max = limits.MaxScalarLength;
        long nodes = 1;
        void Text(string? value, string field)
        {
            nodes++;
            if (value is not null && value.Length > max)
            {
                throw new ContractViolationException($"limit-scalar: {o.Kind} {o.Namespace}/{Shorten(o.Name)} {field} has {value.Length} characters, over the limit of {max}");
            }
        }

        void Map(IEnumerable<KeyValuePair<string, string>> map, string field)
        {
            foreach (var (key, value) in map)
            {
                Text(key, $"{field} key");
                Text(value, $"{field}[{Shorten(key)}]");
            }
        }

        Text(o.Name, "metadata.name");
        Text(o.Namespace, "metadata.namespace");
        Map(o.Metadata.Labels, "metadata.labels");
        Map(o.Metadata.Annotations, "metadata.annotations");
        foreach (string f in o.Metadata.Finalizers)
        {
            Text(f, "metadata.finalizers");
        }

        Text(o.Metadata.DeletionTimestamp, "metadata.deletionTimestamp");
        switch (o)
        {
            case SecretObject s:
                Text(s.Type, "type");
                foreach (var (key, value) in s.Data.RevealEntries())
                {
                    Text(key, "data key");
                    nodes++;
                    if (value.Length > 3L * max)
                    {
                        throw new ContractViolationException($"limit-scalar: Secret {s.Namespace}/{Shorten(s.Name)} data[{Shorten(key)}] holds {value.Length} bytes, more than a scalar of {max} characters can give");
                    }
                }

                break;
            case NamespaceObject n:
                Text(n.Phase, "status.phase");
                break;
            case ServiceAccountObject a:
                foreach (string name in a.ImagePullSecrets)
                {
                    Text(name, "imagePullSecrets");
                }

                break;
            case ConfigMapObject c:
                Map(c.Data, "data");
                break;
            case FunctionObject f:
                Text(f.Runtime, "spec.runtime");
                break;
            case WorkloadObject w:
                Text(w.Template.ServiceAccountName, "serviceAccountName");
                foreach (string name in w.Template.ImagePullSecrets)
                {
                    Text(name, "imagePullSecrets");
                }

                foreach (ContainerSpec c in w.Template.Containers)
                {
                    nodes++;
                    Text(c.Name, "containers.name");
                    Text(c.Image, "containers.image");
                    Text(c.ImagePullPolicy, "containers.imagePullPolicy");
                }

                break;
        }

        ContractViolationException.Require(nodes <= limits.MaxNodesPerObject, "limit-nodes",
            () => $"{o.Kind} {o.Namespace}/{Shorten(o.Name)} holds at least {nodes} nodes, over the limit of {limits.MaxNodesPerObject}");
    }

    private static void CheckDiagnostics(string what, IEnumerable<Diagnostic> diagnostics)
    {
        foreach (Diagnostic d in diagnostics)
        {
            ContractViolationException.Require(d is not null && !string.IsNullOrEmpty(d.Code) && !string.IsNullOrEmpty(d.Message) && Enum.IsDefined(d.Severity),
                "diagnostic-well-formed", () => $"{what}: a diagnostic without code, message or a valid severity: {d}");
        }
    }

    private static string Lines(IEnumerable<Diagnostic> diagnostics) =>
        string.Join("\n", diagnostics.Select(d => $"    {d.Severity} {d.Code} {d.Subject} {d.Field}: {d.Message}"));

    private static string Describe(KubeObject o)
    {
        var text = new StringBuilder().Append(o.Kind).Append(' ').Append(o.Namespace).Append('/').Append(Shorten(o.Name))
            .Append(" labels ").Append(o.Metadata.Labels).Append(" annotations ").Append(o.Metadata.Annotations)
            .Append(" finalizers [").Append(string.Join(",", o.Metadata.Finalizers)).Append("] deletion ").Append(o.Metadata.DeletionTimestamp);
        if (o is SecretObject s)
        {
            text.Append(" type ").Append(s.Type).Append(" data {")
                .Append(string.Join(",", s.Data.RevealEntries().Select(e => e.Key + "=" + Convert.ToHexString(e.Value.Span)))).Append('}');
        }
        else if (o is NamespaceObject n)
        {
            text.Append(" phase ").Append(n.Phase);
        }

        return text.ToString();
    }

    private static string Shorten(string? text) => text is null ? "" : text.Length <= 80 ? text : text[..80] + "...";

    private static List<byte[]> Split(ReadOnlySpan<byte> input, byte separator)
    {
        var parts = new List<byte[]>();
        if (input.IsEmpty)
        {
            return parts;
        }

        while (true)
        {
            int at = input.IndexOf(separator);
            if (at < 0)
            {
                parts.Add(input.ToArray());
                return parts;
            }

            parts.Add(input[..at].ToArray());
            input = input[(at + 1)..];
        }
    }

    private static RegistryPolicy.AspNetCore.AdmissionReviewHandler? _webhook;

    /// <summary>The handler the webhook host runs: the bundled sample map (idempotent rewrites) and the default policy.</summary>
    private static RegistryPolicy.AspNetCore.AdmissionReviewHandler Webhook => _webhook ??= new(new RegistryPolicy.AspNetCore.WebhookConfiguration
    {
        Swapper = new ImageSwapper(ImageSwapMap.Load("default::\ndocker.io::harbor.example.org/airgap/docker.io\nquay.io::harbor.example.org/airgap/quay.io\n" +
            "[EXACT]busybox::harbor.example.org/airgap/docker.io/library/busybox:1.36\n"), new ImageSwapOptions { LeaveSwappedImages = true }),
        Policy = PolicyPresets.Default,
        ExcludedNamespaces = ["kube-system"],
    });

    /// <summary>
    /// Both webhook endpoints on untrusted bodies. Contracts: no exception; the answer is 200 or 400, a 400 only for a body
    /// that is not a review; a 200 is an AdmissionReview of the request's apiVersion with the request's uid, and a patch
    /// exactly when patchType is JSONPatch; a Pod patch applies to request.object (our RFC 6902 applier), and the patched
    /// object sent again gets no patch (idempotence); the same review re-serialised (other escapes and whitespace) gets the
    /// same answer.
    /// </summary>
    private static void AdmissionReview(ReadOnlySpan<byte> input)
    {
        byte[] body = input.ToArray();
        foreach (bool pods in new[] { true, false })
        {
            RegistryPolicy.AspNetCore.AdmissionAnswer answer = pods ? Webhook.MutatePods(body) : Webhook.MutateSecrets(body);
            if (answer.StatusCode == 400)
            {
                continue;
            }

            Check(answer.StatusCode == 200, $"status {answer.StatusCode}");
            JsonDocument review;
            JsonDocument response;
            try
            {
                review = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 256 });
                response = JsonDocument.Parse(answer.Body);
            }
            catch (JsonException e)
            {
                throw new ContractViolationException($"a 200 answer for a body that is not JSON, or an answer that is not: {e.Message}");
            }

            using (review)
            using (response)
            {
                JsonElement request = Last(review.RootElement, "request");
                JsonElement reply = response.RootElement.GetProperty("response");
                Check(response.RootElement.GetProperty("apiVersion").GetString() == Last(review.RootElement, "apiVersion").GetString(), "apiVersion not echoed");
                Check(reply.GetProperty("uid").GetRawText() == Last(request, "uid").GetRawText(), "uid not echoed as it was sent");
                Check(reply.GetProperty("allowed").ValueKind is JsonValueKind.True or JsonValueKind.False, "no allowed");
                bool patched = reply.TryGetProperty("patch", out JsonElement patch);
                Check(patched == reply.TryGetProperty("patchType", out JsonElement type) && (!patched || type.GetString() == "JSONPatch"), "patch without JSONPatch type, or the reverse");
                Check(patched == answer.PatchOperations > 0 || (!pods && patched), "PatchOperations disagrees with the body");
                if (pods && patched)
                {
                    var operations = System.Text.Json.Nodes.JsonNode.Parse(Convert.FromBase64String(patch.GetString()!))!.AsArray()
                        .Select(o => new JsonPatchOperation((string)o!["op"]!, (string)o["path"]!, o["value"]!.ToJsonString())).ToList();
                    System.Text.Json.Nodes.JsonNode? obj, again;
                    try
                    {
                        // JsonNode cannot hold repeated keys (it throws on first use); such reviews skip this check.
                        var strict = new JsonDocumentOptions { MaxDepth = 256, AllowDuplicateProperties = false };
                        obj = System.Text.Json.Nodes.JsonNode.Parse(Last(request, "object").GetRawText(), documentOptions: strict);
                        again = System.Text.Json.Nodes.JsonNode.Parse(review.RootElement.GetRawText(), documentOptions: strict);
                    }
                    catch (JsonException)
                    {
                        obj = again = null;
                    }

                    if (obj is not null && again is not null)
                    {
                        Check(JsonPatch.TryApply(obj, operations, out System.Text.Json.Nodes.JsonNode? applied, out string? error), "the patch does not apply: " + error);
                        again["request"]!["object"] = applied;
                        RegistryPolicy.AspNetCore.AdmissionAnswer second = Webhook.MutatePods(Encoding.UTF8.GetBytes(again.ToJsonString()));
                        Check(second.StatusCode == 200 && second.PatchOperations == 0, $"a second pass is not a no-op: {second}");
                    }
                }
            }

            // The same review written out again by another serialiser: the same answer.
            System.Text.Json.Nodes.JsonNode? rewritten;
            try
            {
                rewritten = System.Text.Json.Nodes.JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { MaxDepth = 256, AllowDuplicateProperties = false });
                _ = rewritten?.ToJsonString();
            }
            catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
            {
                continue; // repeated keys (JsonObject refuses them) or depth beyond the writer's
            }

            RegistryPolicy.AspNetCore.AdmissionAnswer other = pods ? Webhook.MutatePods(Encoding.UTF8.GetBytes(rewritten!.ToJsonString())) : Webhook.MutateSecrets(Encoding.UTF8.GetBytes(rewritten!.ToJsonString()));
            Check(other.StatusCode == answer.StatusCode && other.Outcome == answer.Outcome && other.PatchOperations == answer.PatchOperations,
                $"re-serialised: {other} instead of {answer}");
        }

        static void Check(bool condition, string what)
        {
            if (!condition)
            {
                throw new ContractViolationException("admission-review: " + what);
            }
        }

        // A repeated key: the last value counts (as Go's decoder, and so the handler, reads it).
        static JsonElement Last(JsonElement element, string name)
        {
            JsonElement found = default;
            foreach (JsonProperty property in element.EnumerateObject())
            {
                if (property.NameEquals(name))
                {
                    found = property.Value;
                }
            }

            return found;
        }
    }
}
