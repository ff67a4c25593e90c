using System.Collections.Immutable;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Documents;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Swap;
using RegistryPolicy.WhatIf;

namespace RegistryPolicy.Suites;

/// <summary>One value a test expects: a field, its value as text (null: absent) and where it is written.</summary>
internal sealed record FieldExpectation(string Field, string? Value, SourceLocation Location);

internal sealed record NamespaceExpectation(string Namespace, ImmutableArray<FieldExpectation> Fields);

internal sealed record ActionExpectation(string Text, SourceLocation Location);

internal sealed record AdmissionExpectation(string Name, SecretObject Secret, AdmissionOperation Operation, StringMap NamespaceLabels,
    ImmutableArray<FieldExpectation> Fields, ImmutableArray<string>? Patch, SourceLocation Location);

internal sealed record PullExpectation(string Workload, string Container, ImmutableArray<FieldExpectation> Fields, ImmutableArray<string>? Findings, SourceLocation Location);

internal sealed record SwapExpectation(string? Map, string? MapFile, string? MirrorRegistries, SwapDialect Dialect, ImmutableArray<FieldExpectation> Images);

internal sealed record Expectations
{
    public ImmutableArray<NamespaceExpectation> Namespaces { get; init; } = [];

    public ImmutableArray<ActionExpectation>? Plan { get; init; }

    public ImmutableArray<ActionExpectation>? Links { get; init; }

    public ImmutableArray<AdmissionExpectation> Admission { get; init; } = [];

    public ImmutableArray<PullExpectation> Pulls { get; init; } = [];

    public SwapExpectation? Swap { get; init; }

    public ImmutableArray<FieldExpectation> Diagnostics { get; init; } = [];
}

internal sealed record TestCase(string Name, SourceLocation Location, ImmutableArray<string> Files, ImmutableArray<LocatedObject> Objects,
    ImmutableArray<Diagnostic> ObjectDiagnostics, ImmutableArray<SnapshotChange> Changes, EvaluationView View, Expectations Expect);

/// <summary>
/// Binds a <c>RegistryPolicyTest</c> document strictly: unknown fields, wrong types and missing names are errors with line,
/// column and the fix, and every error is reported (not just the first).
/// </summary>
internal sealed class TestDocumentBinder(string source, List<Diagnostic> found)
{
    private readonly List<string> _files = [];

    private static readonly string[] ResolutionFields = ["source", "secret", "pushAddress", "pullAddress", "registryAddress", "serverAddress", "username", "credentialFingerprint"];

    private static readonly string[] PullFields = ["pullPolicy", "pullSecrets", "credentialKey", "credentialSecret", "credentialFingerprint"];

    private static readonly string[] Sources = ["none", "default", "namespace", "cluster-wide", "user-managed"];

    private static readonly string[] Operations = ["create", "update", "delete"];

    public PolicyTestSuite? Bind(DocNode root)
    {
        if (!Mapping(root, "", ["apiVersion", "kind", "metadata", "spec"]))
        {
            return null;
        }

        string? apiVersion = Scalar(root.Get("apiVersion"), "apiVersion", root);
        if (apiVersion is not null && apiVersion != PolicyTestSuite.ApiVersion)
        {
            Error(root.Get("apiVersion")!, "apiVersion", $"apiVersion must be {PolicyTestSuite.ApiVersion}");
        }

        string? kind = Scalar(root.Get("kind"), "kind", root);
        if (kind is not null && kind != PolicyTestSuite.Kind)
        {
            Error(root.Get("kind")!, "kind", kind == "RegistryPolicy"
                ? "this is a policy, not a test document: 'registry-policy policy validate' checks policies; a test document has kind RegistryPolicyTest"
                : $"kind must be {PolicyTestSuite.Kind}");
        }

        DocNode? metadata = root.Get("metadata");
        string name = "unnamed";
        if (metadata is null)
        {
            Error(root, "metadata", "metadata.name is required: write 'metadata: {name: my-suite}'");
        }
        else if (Mapping(metadata, "metadata", ["name", "description"]))
        {
            name = Scalar(metadata.Get("name"), "metadata.name", metadata) ?? name;
            _ = Scalar(metadata.Get("description"), "metadata.description", null);
        }

        DocNode? spec = root.Get("spec");
        if (spec is null)
        {
            Error(root, "spec", "spec is required, with 'policy' and 'tests'");
            return null;
        }

        if (!Mapping(spec, "spec", ["policy", "inputs", "tests"]))
        {
            return null;
        }

        string? preset = null, policyFile = null;
        DocNode? policy = spec.Get("policy");
        if (policy is null)
        {
            Error(spec, "spec.policy", "spec.policy is required: '{preset: kyma-serverless}' or '{file: my-policy.yaml}'");
        }
        else if (Mapping(policy, "spec.policy", ["preset", "file"]))
        {
            preset = Scalar(policy.Get("preset"), "spec.policy.preset", null);
            policyFile = Scalar(policy.Get("file"), "spec.policy.file", null);
            if ((preset is null) == (policyFile is null))
            {
                Error(policy, "spec.policy", "spec.policy names exactly one of 'preset' or 'file'");
            }
            else if (preset is not null && !Policies.PolicyPresets.TryGet(preset, out _))
            {
                Error(policy.Get("preset")!, "spec.policy.preset", $"there is no preset '{preset}'; the presets are: {string.Join(", ", Policies.PolicyPresets.Names)}");
            }

            if (policyFile is not null)
            {
                AddFile(policyFile, policy.Get("file")!);
            }
        }

        (ImmutableArray<string> sharedFiles, ImmutableArray<LocatedObject> sharedObjects, ImmutableArray<Diagnostic> sharedDiagnostics) =
            Inputs(spec.Get("inputs"), "spec.inputs");
        DocNode? tests = spec.Get("tests");
        var cases = ImmutableArray.CreateBuilder<TestCase>();
        if (tests is not { Kind: DocNodeKind.Sequence } || tests.Items.Count == 0)
        {
            Error(tests ?? spec, "spec.tests", "spec.tests is a list of tests, each with 'name' and 'expect'");
        }
        else
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < tests.Items.Count; i++)
            {
                DocNode test = tests.Items[i];
                string path = $"spec.tests[{i}]";
                if (!Mapping(test, path, ["name", "inputs", "changes", "view", "expect"]))
                {
                    continue;
                }

                string testName = Scalar(test.Get("name"), path + ".name", test) ?? $"test {i + 1}";
                if (!names.Add(testName))
                {
                    Error(test.Get("name")!, path + ".name", $"two tests are named '{testName}'; give each a name of its own");
                }

                var (files, objects, objectDiagnostics) = Inputs(test.Get("inputs"), path + ".inputs");
                ImmutableArray<SnapshotChange> changes = [];
                if (test.Get("changes") is { } changeList)
                {
                    if (changeList.Kind != DocNodeKind.Sequence)
                    {
                        Error(changeList, path + ".changes", "changes is a list of change items, as in a change document (op: put|delete|setLabel|removeLabel|setData|removeData)");
                    }
                    else
                    {
                        changes = SnapshotChanges.ParseItems(changeList, source, found);
                    }
                }

                EvaluationView view = EvaluationView.Converged;
                if (Scalar(test.Get("view"), path + ".view", null) is { } viewText)
                {
                    if (viewText == "as-is")
                    {
                        view = EvaluationView.AsIs;
                    }
                    else if (viewText != "converged")
                    {
                        Error(test.Get("view")!, path + ".view", "view is 'converged' (default) or 'as-is'");
                    }
                }

                DocNode? expect = test.Get("expect");
                Expectations expectations = new();
                if (expect is null)
                {
                    Error(test, path + ".expect", "a test needs 'expect' (namespaces, plan, links, admission, pulls, swap or diagnostics)");
                }
                else
                {
                    expectations = Expect(expect, path + ".expect");
                    if (expect.Kind == DocNodeKind.Mapping && expect.Entries.Count == 0)
                    {
                        Error(expect, path + ".expect", "expect names nothing to compare: write at least one of namespaces, plan, links, admission, pulls, swap or diagnostics");
                    }
                }

                cases.Add(new TestCase(testName, Location(test), [.. sharedFiles, .. files], [.. sharedObjects, .. objects],
                    [.. sharedDiagnostics, .. objectDiagnostics], changes, view, expectations));
            }
        }

        return new PolicyTestSuite(name, source, preset, policyFile, cases.ToImmutable(), [.. _files]);
    }

    private (ImmutableArray<string> Files, ImmutableArray<LocatedObject> Objects, ImmutableArray<Diagnostic> Diagnostics) Inputs(DocNode? node, string path)
    {
        if (node is null || !Mapping(node, path, ["files", "objects"]))
        {
            return ([], [], []);
        }

        ImmutableArray<string> files = Strings(node.Get("files"), path + ".files") ?? [];
        for (int i = 0; i < files.Length; i++)
        {
            AddFile(files[i], node.Get("files")!.Items[i]);
        }

        var objects = ImmutableArray.CreateBuilder<LocatedObject>();
        var diagnostics = new List<Diagnostic>();
        if (node.Get("objects") is { } list)
        {
            if (list.Kind != DocNodeKind.Sequence)
            {
                Error(list, path + ".objects", "objects is a list of Kubernetes manifests");
            }
            else
            {
                var decoded = new List<(KubeObject Object, SourceLocation Location)>();
                var decoder = new ObjectDecoder(source, diagnostics);
                foreach (DocNode item in list.Items)
                {
                    decoder.Decode(item, decoded);
                }

                objects.AddRange(decoded.Select(d => new LocatedObject(d.Object, d.Location)));
            }
        }

        return (files, objects.ToImmutable(), [.. diagnostics]);
    }

    private Expectations Expect(DocNode node, string path)
    {
        if (!Mapping(node, path, ["namespaces", "plan", "links", "admission", "pulls", "swap", "diagnostics"]))
        {
            return new Expectations();
        }

        var namespaces = ImmutableArray.CreateBuilder<NamespaceExpectation>();
        if (node.Get("namespaces") is { } nsNode && Mapping(nsNode, path + ".namespaces", null))
        {
            foreach (var (key, value) in nsNode.Entries)
            {
                string ns = key.Scalar ?? string.Empty;
                string at = $"{path}.namespaces.{ns}";
                if (!Primitives.KubernetesNames.IsDns1123Label(ns))
                {
                    Error(key, at, $"'{ns}' is not a namespace name (lower-case letters, digits and '-', at most 63)");
                    continue;
                }

                if (Mapping(value, at, ResolutionFields))
                {
                    ImmutableArray<FieldExpectation> fields = Fields(value, at, scalarsOnly: true);
                    foreach (FieldExpectation f in fields.Where(f => f.Field == "source" && f.Value is not null && !Sources.Contains(f.Value)))
                    {
                        Error(value.Get("source")!, at + ".source", $"source is one of {string.Join(", ", Sources)}");
                    }

                    namespaces.Add(new NamespaceExpectation(ns, fields));
                }
            }
        }

        var admission = ImmutableArray.CreateBuilder<AdmissionExpectation>();
        if (node.Get("admission") is { } admissionNode)
        {
            if (admissionNode.Kind != DocNodeKind.Sequence)
            {
                Error(admissionNode, path + ".admission", "admission is a list of {name, object, operation, namespaceLabels, expect}");
            }
            else
            {
                for (int i = 0; i < admissionNode.Items.Count; i++)
                {
                    if (Admission(admissionNode.Items[i], $"{path}.admission[{i}]") is { } a)
                    {
                        admission.Add(a);
                    }
                }
            }
        }

        var pulls = ImmutableArray.CreateBuilder<PullExpectation>();
        if (node.Get("pulls") is { } pullsNode)
        {
            if (pullsNode.Kind != DocNodeKind.Sequence)
            {
                Error(pullsNode, path + ".pulls", "pulls is a list of {workload: 'Kind namespace/name', container, ...}");
            }
            else
            {
                for (int i = 0; i < pullsNode.Items.Count; i++)
                {
                    DocNode item = pullsNode.Items[i];
                    string at = $"{path}.pulls[{i}]";
                    if (!Mapping(item, at, ["workload", "container", "findings", .. PullFields]))
                    {
                        continue;
                    }

                    string? workload = Scalar(item.Get("workload"), at + ".workload", item);
                    string? container = Scalar(item.Get("container"), at + ".container", item);
                    if (workload is not null && !(workload.Split(' ') is [{ Length: > 0 }, var n] && n.Contains('/', StringComparison.Ordinal)))
                    {
                        Error(item.Get("workload")!, at + ".workload", "workload is 'Kind namespace/name', for example 'Deployment team-a/web'");
                        continue;
                    }

                    if (workload is null || container is null)
                    {
                        continue;
                    }

                    ImmutableArray<string>? findings = item.Get("findings") is { } f ? Strings(f, at + ".findings") : null;
                    if (item.Get("pullSecrets") is { } secretsNode && secretsNode.Kind != DocNodeKind.Sequence)
                    {
                        Error(secretsNode, at + ".pullSecrets", "pullSecrets is a list of names ([] for none)");
                    }

                    pulls.Add(new PullExpectation(workload, container, Fields(item, at, PullFields, scalarsOnly: true, lists: ["pullSecrets"]), findings, Location(item)));
                }
            }
        }

        SwapExpectation? swap = null;
        if (node.Get("swap") is { } swapNode && Mapping(swapNode, path + ".swap", ["map", "mapFile", "mirrorRegistries", "dialect", "images"]))
        {
            string? map = Scalar(swapNode.Get("map"), path + ".swap.map", null);
            string? mapFile = Scalar(swapNode.Get("mapFile"), path + ".swap.mapFile", null);
            string? mirrors = Scalar(swapNode.Get("mirrorRegistries"), path + ".swap.mirrorRegistries", null);
            if ((map is null ? 0 : 1) + (mapFile is null ? 0 : 1) + (mirrors is null ? 0 : 1) != 1)
            {
                Error(swapNode, path + ".swap", "swap names exactly one of 'map' (the map text), 'mapFile' or 'mirrorRegistries' (Palette's list)");
            }

            if (mapFile is not null)
            {
                AddFile(mapFile, swapNode.Get("mapFile")!);
            }

            SwapDialect dialect = SwapDialect.ImageSwap;
            if (Scalar(swapNode.Get("dialect"), path + ".swap.dialect", null) is { } d)
            {
                if (d == "reference")
                {
                    dialect = SwapDialect.Reference;
                }
                else if (d != "imageswap")
                {
                    Error(swapNode.Get("dialect")!, path + ".swap.dialect", "dialect is 'imageswap' (default) or 'reference'");
                }
            }

            var images = ImmutableArray<FieldExpectation>.Empty;
            if (swapNode.Get("images") is { } imagesNode && Mapping(imagesNode, path + ".swap.images", null))
            {
                images = Fields(imagesNode, path + ".swap.images");
            }
            else
            {
                Error(swapNode, path + ".swap.images", "swap.images maps each image to the image expected after the swap");
            }

            swap = new SwapExpectation(map, mapFile, mirrors, dialect, images);
        }

        var diagnostics = ImmutableArray<FieldExpectation>.Empty;
        if (node.Get("diagnostics") is { } diagnosticsNode)
        {
            if (diagnosticsNode.Kind != DocNodeKind.Sequence)
            {
                Error(diagnosticsNode, path + ".diagnostics", "diagnostics is a list of codes expected among the snapshot's and evaluation's diagnostics");
            }
            else
            {
                diagnostics = [.. diagnosticsNode.Items.Where(i => i.IsScalar).Select(i => new FieldExpectation("diagnostics", i.Scalar, Location(i)))];
            }
        }

        return new Expectations
        {
            Namespaces = namespaces.ToImmutable(),
            Plan = node.Get("plan") is { } plan ? Actions(plan, path + ".plan", ["op", "secret"], item =>
            {
                string? op = Scalar(item.Get("op"), path + ".plan.op", item);
                if (op is not null && !Operations.Contains(op))
                {
                    Error(item.Get("op")!, path + ".plan.op", $"op is one of {string.Join(", ", Operations)}");
                }

                return $"{op} {Scalar(item.Get("secret"), path + ".plan.secret", item)}";
            }) : null,
            Links = node.Get("links") is { } links ? Actions(links, path + ".links", ["serviceAccount", "secrets"],
                item => $"{Scalar(item.Get("serviceAccount"), "serviceAccount", item)} <- {string.Join(",", Strings(item.Get("secrets"), "secrets") ?? [])}") : null,
            Admission = admission.ToImmutable(),
            Pulls = pulls.ToImmutable(),
            Swap = swap,
            Diagnostics = diagnostics,
        };
    }

    private ImmutableArray<ActionExpectation> Actions(DocNode node, string path, string[] fields, Func<DocNode, string> text)
    {
        if (node.Kind != DocNodeKind.Sequence)
        {
            Error(node, path, $"{path.Split('.')[^1]} is a list (the whole set expected; [] for none) of {{{string.Join(", ", fields)}}}");
            return [];
        }

        var actions = ImmutableArray.CreateBuilder<ActionExpectation>();
        for (int i = 0; i < node.Items.Count; i++)
        {
            DocNode item = node.Items[i];
            if (Mapping(item, $"{path}[{i}]", fields))
            {
                actions.Add(new ActionExpectation(text(item), Location(item)));
            }
        }

        return actions.ToImmutable();
    }

    private AdmissionExpectation? Admission(DocNode item, string path)
    {
        if (!Mapping(item, path, ["name", "object", "operation", "namespaceLabels", "expect"]))
        {
            return null;
        }

        string name = Scalar(item.Get("name"), path + ".name", item) ?? path;
        AdmissionOperation operation = AdmissionOperation.Create;
        if (Scalar(item.Get("operation"), path + ".operation", null) is { } op)
        {
            if (op == "UPDATE")
            {
                operation = AdmissionOperation.Update;
            }
            else if (op != "CREATE")
            {
                Error(item.Get("operation")!, path + ".operation", "operation is CREATE (default) or UPDATE");
            }
        }

        var labels = new List<KeyValuePair<string, string>>();
        if (item.Get("namespaceLabels") is { } labelNode && Mapping(labelNode, path + ".namespaceLabels", null))
        {
            foreach (var (key, value) in labelNode.Entries)
            {
                labels.Add(new(key.Scalar ?? string.Empty, value.Scalar ?? string.Empty));
            }
        }

        SecretObject? secret = null;
        if (item.Get("object") is not { } objectNode)
        {
            Error(item, path + ".object", "an admission check needs 'object': the Secret manifest sent to the webhook");
        }
        else
        {
            var decoded = new List<(KubeObject Object, SourceLocation Location)>();
            int before = found.Count;
            new ObjectDecoder(source, found).Decode(objectNode, decoded);
            secret = decoded.Select(d => d.Object).OfType<SecretObject>().FirstOrDefault();
            if (secret is null && found.Count == before)
            {
                Error(objectNode, path + ".object", "the object is not a Secret (the defaulting webhook admits Secrets)");
            }
        }

        DocNode? expect = item.Get("expect");
        ImmutableArray<FieldExpectation> fields = [];
        ImmutableArray<string>? patch = null;
        if (expect is null)
        {
            Error(item, path + ".expect", "an admission check needs 'expect' (allowed, selected, statusCode, patch)");
        }
        else if (Mapping(expect, path + ".expect", ["allowed", "selected", "statusCode", "patch"]))
        {
            fields = Fields(expect, path + ".expect", ["allowed", "selected", "statusCode"], scalarsOnly: true);
            foreach (string flag in new[] { "allowed", "selected" })
            {
                if (expect.Get(flag) is { } f && f.Kind != DocNodeKind.Bool)
                {
                    Error(f, $"{path}.expect.{flag}", $"{flag} is true or false");
                }
            }

            if (expect.Get("statusCode") is { } code && (code.Kind != DocNodeKind.Number || !int.TryParse(code.Scalar, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _)))
            {
                Error(code, path + ".expect.statusCode", "statusCode is a whole number, such as 200");
            }
            patch = expect.Get("patch") is { } p ? Strings(p, path + ".expect.patch") : null;
        }

        return secret is null ? null : new AdmissionExpectation(name, secret, operation, StringMap.Create(labels), fields, patch, Location(item));
    }

    /// <summary>Every entry of a mapping (or only <paramref name="only"/>) as a field expectation; lists are joined with commas.</summary>
    private ImmutableArray<FieldExpectation> Fields(DocNode node, string path, string[]? only = null, bool scalarsOnly = false, string[]? lists = null)
    {
        var fields = ImmutableArray.CreateBuilder<FieldExpectation>();
        foreach (var (key, value) in node.Entries)
        {
            string field = key.Scalar ?? string.Empty;
            if (only is not null && !only.Contains(field))
            {
                continue;
            }

            string? text = value.Kind switch
            {
                DocNodeKind.Null => null,
                DocNodeKind.Sequence when scalarsOnly && !(lists ?? []).Contains(field) => Invalid(value, $"{path}.{field}"),
                DocNodeKind.Sequence => string.Join(",", Strings(value, $"{path}.{field}") ?? []),
                DocNodeKind.Mapping => Invalid(value, $"{path}.{field}"),
                _ => value.Scalar,
            };
            fields.Add(new FieldExpectation(field, text, Location(value)));
        }

        return fields.ToImmutable();

        string? Invalid(DocNode at, string p)
        {
            Error(at, p, $"{p} is a value (text, number, true/false, or null for 'absent'), not {at.Describe()}");
            return null;
        }
    }

    private ImmutableArray<string>? Strings(DocNode? node, string path)
    {
        if (node is null)
        {
            return null;
        }

        if (node.Kind != DocNodeKind.Sequence || node.Items.Any(i => !i.IsScalar || i.Kind == DocNodeKind.Null))
        {
            Error(node, path, $"{path} is a list of strings");
            return null;
        }

        return [.. node.Items.Select(i => i.Scalar!)];
    }

    private string? Scalar(DocNode? node, string path, DocNode? requiredIn)
    {
        if (node is null)
        {
            if (requiredIn is not null)
            {
                Error(requiredIn, path, $"{path} is required");
            }

            return null;
        }

        if (!node.IsScalar || node.Kind == DocNodeKind.Null)
        {
            Error(node, path, $"{path} is {node.Describe()}; it must be a string");
            return null;
        }

        return node.Scalar;
    }

    /// <summary>Whether <paramref name="node"/> is a mapping; reports unknown keys (when <paramref name="allowed"/> is given) with the known ones.</summary>
    private bool Mapping(DocNode node, string path, string[]? allowed)
    {
        if (node.Kind != DocNodeKind.Mapping)
        {
            Error(node, path, $"{(path.Length == 0 ? "the document" : path)} is {node.Describe()}; it must be a mapping");
            return false;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, _) in node.Entries)
        {
            string name = key.Scalar ?? string.Empty;
            if (!seen.Add(name))
            {
                Error(key, path, $"'{name}' is written twice in {(path.Length == 0 ? "the document" : path)}; keep one");
            }
            else if (allowed is not null && !allowed.Contains(name))
            {
                Error(key, path.Length == 0 ? name : $"{path}.{name}",
                    $"unknown field '{name}'{(path.Length == 0 ? "" : " in " + path)}; the fields here are: {string.Join(", ", allowed)}");
            }
        }

        return true;
    }

    private void AddFile(string file, DocNode at)
    {
        if (file.Length == 0 || file[0] == '/' || file[0] == '\\' || (file.Length > 1 && file[1] == ':'))
        {
            found.Add(new Diagnostic("invalid-test", DiagnosticSeverity.Error,
                $"'{file}' is not a relative path: files are named relative to the test document, so that a suite runs the same on every machine")
            {
                Location = Location(at),
            });
            return;
        }

        if (!_files.Contains(file))
        {
            _files.Add(file);
        }
    }

    private SourceLocation Location(DocNode node) => new(source, node.Line, node.Column);

    private void Error(DocNode at, string field, string message) =>
        found.Add(new Diagnostic("invalid-test", DiagnosticSeverity.Error, message) { Field = field, Location = Location(at) });
}
