using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Primitives;
using RegistryPolicy.Documents;

namespace RegistryPolicy.Snapshots;

/// <summary>
/// Turns a <see cref="DocNode"/> into snapshot objects. What the API server would refuse to store (a name it does not
/// accept, a label value that is not a string, data that is not base64, a pull secret without its key: see
/// <see cref="ApiServerRules"/>) makes the object absent, with an error naming the field, because such an object never
/// exists in a cluster. Other bad fields (in parts the API server does not check here) are reported and skipped, and the
/// rest of the object is kept. Objects of other kinds are counted, not kept.
/// </summary>
internal sealed class ObjectDecoder(string source, List<Diagnostic> diagnostics)
{
    private static readonly HashSet<string> WorkloadKinds = new(StringComparer.Ordinal)
    {
        "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
    };

    private const string Absent = " The API server refuses such an object, so it was treated as absent.";

    /// <summary>Set when the object being decoded breaks a rule the API server enforces: it is then not kept.</summary>
    private bool _refused;

    public SortedDictionary<string, int> Ignored { get; } = new(StringComparer.Ordinal);

    /// <summary>The objects refused, in the order read.</summary>
    public List<RefusedObject> Refused { get; } = [];

    private Diagnostic? _firstRefusal;

    public void Decode(DocNode node, List<(KubeObject Object, SourceLocation Location)> output, bool nested = false)
    {
        if (node.Kind == DocNodeKind.Null)
        {
            return; // an empty YAML document
        }

        if (node.Kind != DocNodeKind.Mapping)
        {
            Error(node, null, null, "object-not-mapping", $"expected a Kubernetes object (a mapping) but found {node.Describe()}; it was skipped");
            return;
        }

        string? kind = node.Get("kind") is { Kind: DocNodeKind.String } k ? k.Scalar : null;
        DocNode? items = node.Get("items");
        if (!nested && items is { Kind: DocNodeKind.Sequence } && (kind is null || kind.EndsWith("List", StringComparison.Ordinal)))
        {
            foreach (DocNode item in items.Items)
            {
                Decode(item, output, nested: true);
            }

            return;
        }

        if (kind is null)
        {
            Error(node, null, "kind", "kind-missing", "the object has no 'kind' (or it is not a string); it was skipped. Add for example 'kind: Secret'");
            return;
        }

        string apiVersion = node.Get("apiVersion") is { Kind: DocNodeKind.String } a ? a.Scalar! : string.Empty;
        bool known = kind is "Secret" or "Namespace" or "ServiceAccount" or "ConfigMap" || WorkloadKinds.Contains(kind) ||
            (kind == "Function" && apiVersion.StartsWith("serverless.kyma-project.io/", StringComparison.Ordinal));
        if (!known)
        {
            string key = apiVersion.Length > 0 ? $"{kind} ({apiVersion})" : kind;
            Ignored[key] = Ignored.GetValueOrDefault(key) + 1;
            return;
        }

        _refused = false;
        _firstRefusal = null;
        ObjectMetadata? metadata = ReadMetadata(node, kind);
        if (metadata is null)
        {
            return;
        }

        var subject = new ObjectReference(kind, metadata.Namespace, metadata.Name);
        KubeObject? obj = kind switch
        {
            "Secret" => ReadSecret(node, metadata, subject),
            "Namespace" => new NamespaceObject(metadata, ReadString(node.Get("status")?.Get("phase"), subject, "status.phase")),
            "ServiceAccount" => new ServiceAccountObject(metadata, ReadNameList(node.Get("imagePullSecrets"), subject, "imagePullSecrets")),
            "ConfigMap" => new ConfigMapObject(metadata, ReadStringMap(node.Get("data"), subject, "data", refuse: true,
                static (key, _) => ApiServerRules.DataKeyProblem(key), "invalid-data-key")),
            "Function" => new FunctionObject(metadata, ReadString(node.Get("spec")?.Get("runtime"), subject, "spec.runtime")),
            _ => ReadWorkload(node, kind, metadata, subject),
        };
        if (_refused)
        {
            Refused.Add(new RefusedObject(subject, new SourceLocation(source, node.Line, node.Column), _firstRefusal!));
        }
        else if (obj is not null)
        {
            output.Add((obj, new SourceLocation(source, node.Line, node.Column)));
        }
    }

    private ObjectMetadata? ReadMetadata(DocNode node, string kind)
    {
        DocNode? meta = node.Get("metadata");
        if (meta is null || meta.Kind != DocNodeKind.Mapping)
        {
            Error(meta ?? node, new ObjectReference(kind, null, "?"), "metadata", "metadata-missing",
                meta is null ? "the object has no 'metadata'; it was skipped. Add metadata.name" : $"'metadata' must be a mapping, not {meta.Describe()}; the object was skipped");
            return null;
        }

        DocNode? nameNode = meta.Get("name");
        if (nameNode is not { Kind: DocNodeKind.String } || string.IsNullOrEmpty(nameNode.Scalar))
        {
            string? generate = meta.Get("generateName")?.Scalar;
            Error(nameNode ?? meta, new ObjectReference(kind, meta.Get("namespace")?.Scalar, generate ?? "?"), "metadata.name", "name-missing",
                generate is not null
                    ? "the object has only 'generateName'; a snapshot needs the name the API server gave it. Export it with kubectl get -o yaml"
                    : "the object has no 'metadata.name' (or it is not a string); it was skipped");
            return null;
        }

        string name = nameNode.Scalar!;
        string? ns = null;
        if (kind != "Namespace")
        {
            DocNode? nsNode = meta.Get("namespace");
            ns = nsNode is { Kind: DocNodeKind.String } && nsNode.Scalar!.Length > 0 ? nsNode.Scalar : "default";
            if (nsNode is not null && nsNode.Kind is not (DocNodeKind.String or DocNodeKind.Null))
            {
                Refuse(nsNode, new ObjectReference(kind, null, name), "metadata.namespace", "wrong-type",
                    $"'metadata.namespace' must be a string, not {nsNode.Describe()}.");
            }
            else if (ApiServerRules.NamespaceProblem(ns) is { } nsProblem)
            {
                Refuse(nsNode!, new ObjectReference(kind, ns, name), "metadata.namespace", "invalid-name", nsProblem + ".");
            }
        }

        var subject = new ObjectReference(kind, ns, name);
        if (ApiServerRules.NameProblem(kind, name) is { } problem)
        {
            Refuse(nameNode, subject, "metadata.name", "invalid-name", problem + ".");
        }

        var labels = ReadStringMap(meta.Get("labels"), subject, "metadata.labels", refuse: true, ApiServerRules.LabelProblem, "invalid-label");
        var annotations = ReadStringMap(meta.Get("annotations"), subject, "metadata.annotations", refuse: true,
            static (key, _) => ApiServerRules.AnnotationKeyProblem(key), "invalid-annotation");
        if (ApiServerRules.AnnotationSizeProblem(annotations) is { } sizeProblem)
        {
            Refuse(meta.Get("annotations")!, subject, "metadata.annotations", "invalid-annotation", sizeProblem + ".");
        }

        var finalizers = ReadStringList(meta.Get("finalizers"), subject, "metadata.finalizers", refuse: true, ApiServerRules.FinalizerProblem, "invalid-finalizer");

        return new ObjectMetadata(name, ns)
        {
            Labels = labels,
            Annotations = annotations,
            Finalizers = finalizers,
            DeletionTimestamp = ReadString(meta.Get("deletionTimestamp"), subject, "metadata.deletionTimestamp"),
        };
    }

    private SecretObject ReadSecret(DocNode node, ObjectMetadata metadata, ObjectReference subject)
    {
        string type = ReadString(node.Get("type"), subject, "type") is { Length: > 0 } t ? t : SecretObject.OpaqueType;
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        DocNode? dataNode = node.Get("data");
        if (dataNode is { Kind: DocNodeKind.Mapping })
        {
            foreach (var (keyNode, value) in dataNode.Entries)
            {
                string key = keyNode.Scalar ?? string.Empty;
                string field = $"data[{key}]";
                if (!DataKeyAccepted(keyNode, key, subject, field))
                {
                    continue;
                }

                if (value.Kind == DocNodeKind.Null)
                {
                    data[key] = [];
                    continue;
                }

                if (value.Kind != DocNodeKind.String)
                {
                    Refuse(value, subject, field, "wrong-type", $"a data value must be a base64 string, not {value.Describe()}.");
                    continue;
                }

                if (!GoBase64.TryDecode(value.Scalar!, padded: true, out byte[] bytes))
                {
                    Refuse(value, subject, field, "data-not-base64",
                        "the value is not valid base64 (standard alphabet, padded). Put plain text under 'stringData' instead, or encode it with 'base64 -w0'.");
                    continue;
                }

                data[key] = bytes;
            }
        }
        else if (dataNode is not null && dataNode.Kind != DocNodeKind.Null)
        {
            Refuse(dataNode, subject, "data", "wrong-type", $"'data' must be a mapping, not {dataNode.Describe()}.");
        }

        DocNode? stringData = node.Get("stringData");
        if (stringData is { Kind: DocNodeKind.Mapping })
        {
            foreach (var (keyNode, value) in stringData.Entries)
            {
                string key = keyNode.Scalar ?? string.Empty;
                string field = $"stringData[{key}]";
                if (!DataKeyAccepted(keyNode, key, subject, field))
                {
                    continue;
                }

                if (value.Kind is not (DocNodeKind.String or DocNodeKind.Null))
                {
                    // Never quote the value: it is a credential. YAML typed it (a number, a boolean), so JSON has no string here.
                    Refuse(value, subject, field, "wrong-type",
                        $"a stringData value must be a string, not {value.Describe()} (YAML reads an unquoted number, 'yes', 'on' or '~' that way). Quote the value.");
                    continue;
                }

                // stringData wins over data, as in the API server; null (any spelling) decodes to an empty string, as in Go.
                data[key] = value.Kind == DocNodeKind.Null ? [] : System.Text.Encoding.UTF8.GetBytes(value.Scalar!);
            }
        }
        else if (stringData is not null && stringData.Kind != DocNodeKind.Null)
        {
            Refuse(stringData, subject, "stringData", "wrong-type", $"'stringData' must be a mapping, not {stringData.Describe()}.");
        }

        SecretData content = SecretData.Owning(data);
        if (!_refused && ApiServerRules.SecretProblemAt(type, content, metadata.Annotations) is { } problem)
        {
            Refuse(dataNode ?? stringData ?? node, subject, problem.Field, "secret-refused", problem.Message + ".");
        }

        return new SecretObject(metadata, type, content);
    }

    private bool DataKeyAccepted(DocNode keyNode, string key, ObjectReference subject, string field)
    {
        if (!keyNode.IsScalar)
        {
            Refuse(keyNode, subject, field, "wrong-type", $"a data key must be a string, not {keyNode.Describe()}.");
            return false;
        }

        if (ApiServerRules.DataKeyProblem(key) is { } problem)
        {
            Refuse(keyNode, subject, field, "invalid-data-key", problem + ".");
            return false;
        }

        return true;
    }

    private WorkloadObject? ReadWorkload(DocNode node, string kind, ObjectMetadata metadata, ObjectReference subject)
    {
        (string path, DocNode? spec) = kind switch
        {
            "Pod" => ("/spec", node.Get("spec")),
            "CronJob" => ("/spec/jobTemplate/spec/template/spec", node.Get("spec")?.Get("jobTemplate")?.Get("spec")?.Get("template")?.Get("spec")),
            _ => ("/spec/template/spec", node.Get("spec")?.Get("template")?.Get("spec")),
        };
        string field = path.TrimStart('/').Replace('/', '.');
        if (spec is not { Kind: DocNodeKind.Mapping })
        {
            Error(spec ?? node, subject, field, "podspec-missing", $"the {kind} has no Pod spec at '{field}'; it was skipped");
            return null;
        }

        var containers = new List<ContainerSpec>();
        ReadContainers(spec.Get("initContainers"), ContainerRole.InitContainer, "initContainers");
        ReadContainers(spec.Get("containers"), ContainerRole.Container, "containers");
        ReadContainers(spec.Get("ephemeralContainers"), ContainerRole.EphemeralContainer, "ephemeralContainers");
        return new WorkloadObject(kind, metadata, new PodTemplate(
            path,
            ReadString(spec.Get("serviceAccountName"), subject, field + ".serviceAccountName"),
            ReadNameList(spec.Get("imagePullSecrets"), subject, field + ".imagePullSecrets"),
            new ValueArray<ContainerSpec>(containers)))
        {
            Controller = ReadController(node.Get("metadata")?.Get("ownerReferences"), metadata.Namespace),
        };

        // Only the controlling owner matters (for folding a Pod into its workload); anything malformed is simply no owner.
        static ObjectReference? ReadController(DocNode? owners, string? ns)
        {
            if (owners is not { Kind: DocNodeKind.Sequence })
            {
                return null;
            }

            foreach (DocNode owner in owners.Items)
            {
                if (owner.Get("controller") is { Kind: DocNodeKind.Bool, Scalar: var flag } && string.Equals(flag, "true", StringComparison.OrdinalIgnoreCase) &&
                    owner.Get("kind") is { Kind: DocNodeKind.String, Scalar: { Length: > 0 } ownerKind } &&
                    owner.Get("name") is { Kind: DocNodeKind.String, Scalar: { Length: > 0 } ownerName })
                {
                    return new ObjectReference(ownerKind, ns, ownerName);
                }
            }

            return null;
        }

        void ReadContainers(DocNode? list, ContainerRole role, string name)
        {
            if (list is null || list.Kind == DocNodeKind.Null)
            {
                return;
            }

            if (list.Kind != DocNodeKind.Sequence)
            {
                Error(list, subject, $"{field}.{name}", "wrong-type", $"'{name}' must be a list, not {list.Describe()}; it was skipped");
                return;
            }

            for (int i = 0; i < list.Items.Count; i++)
            {
                DocNode c = list.Items[i];
                string at = $"{field}.{name}[{i}]";
                if (c.Kind != DocNodeKind.Mapping)
                {
                    Error(c, subject, at, "wrong-type", $"a container must be a mapping, not {c.Describe()}; it was skipped");
                    continue;
                }

                string? image = ReadString(c.Get("image"), subject, at + ".image");
                if (image is null)
                {
                    Error(c, subject, at + ".image", "image-missing", "the container has no image; it was skipped");
                    continue;
                }

                containers.Add(new ContainerSpec(role, i, ReadString(c.Get("name"), subject, at + ".name") ?? string.Empty, image,
                    ReadString(c.Get("imagePullPolicy"), subject, at + ".imagePullPolicy")));
            }
        }
    }

    private string? ReadString(DocNode? node, ObjectReference subject, string field)
    {
        if (node is null || node.Kind == DocNodeKind.Null)
        {
            return null;
        }

        if (node.Kind != DocNodeKind.String)
        {
            Error(node, subject, field, "wrong-type", $"'{field}' must be a string, not {node.Describe()}; it was ignored");
            return null;
        }

        return node.Scalar;
    }

    private StringMap ReadStringMap(DocNode? node, ObjectReference subject, string field, bool refuse = false,
        Func<string, string, string?>? rule = null, string? ruleCode = null)
    {
        if (node is null || node.Kind == DocNodeKind.Null)
        {
            return StringMap.Empty;
        }

        if (node.Kind != DocNodeKind.Mapping)
        {
            Report(refuse, node, subject, field, "wrong-type", $"'{field}' must be a mapping of strings, not {node.Describe()}.");
            return StringMap.Empty;
        }

        var map = new Dictionary<string, string>(node.Entries.Count, StringComparer.Ordinal);
        foreach (var (key, value) in node.Entries)
        {
            string name = key.Scalar ?? string.Empty;
            string? text = value.Kind == DocNodeKind.String ? value.Scalar!
                : value.Kind == DocNodeKind.Null ? string.Empty
                : null;
            if (text is null)
            {
                // The value is not quoted: it may be anything (an annotation can hold a token), so it is never quoted back.
                Report(refuse, value, subject, $"{field}[{name}]", "wrong-type",
                    $"the value must be a string, not {value.Describe()} (YAML reads an unquoted number, 'true', 'yes' or 'on' that way). Quote it.");
                continue;
            }

            if (rule?.Invoke(name, text) is { } problem)
            {
                Report(refuse, key, subject, $"{field}[{name}]", ruleCode!, problem + ".");
                continue;
            }

            map[name] = text;
        }

        return StringMap.FromDictionary(map);
    }

    private ValueArray<string> ReadStringList(DocNode? node, ObjectReference subject, string field, bool refuse = false,
        Func<string, string?>? rule = null, string? ruleCode = null)
    {
        if (node is null || node.Kind == DocNodeKind.Null)
        {
            return default;
        }

        if (node.Kind != DocNodeKind.Sequence)
        {
            Report(refuse, node, subject, field, "wrong-type", $"'{field}' must be a list of strings, not {node.Describe()}.");
            return default;
        }

        var list = new List<string>(node.Items.Count);
        for (int i = 0; i < node.Items.Count; i++)
        {
            DocNode item = node.Items[i];
            if (item.Kind != DocNodeKind.String)
            {
                Report(refuse, item, subject, $"{field}[{i}]", "wrong-type", $"a list item must be a string, not {item.Describe()}.");
            }
            else if (rule?.Invoke(item.Scalar!) is { } problem)
            {
                Report(refuse, item, subject, $"{field}[{i}]", ruleCode!, problem + ".");
            }
            else
            {
                list.Add(item.Scalar!);
            }
        }

        return new ValueArray<string>(list);
    }

    private ValueArray<string> ReadNameList(DocNode? node, ObjectReference subject, string field)
    {
        if (node is null || node.Kind == DocNodeKind.Null)
        {
            return default;
        }

        if (node.Kind != DocNodeKind.Sequence)
        {
            Error(node, subject, field, "wrong-type", $"'{field}' must be a list of {{name: ...}}, not {node.Describe()}; it was ignored");
            return default;
        }

        var list = new List<string>(node.Items.Count);
        for (int i = 0; i < node.Items.Count; i++)
        {
            DocNode item = node.Items[i];
            if (item.Kind == DocNodeKind.Mapping && item.Get("name") is { Kind: DocNodeKind.String } name)
            {
                list.Add(name.Scalar!);
            }
            else
            {
                Error(item, subject, $"{field}[{i}]", "wrong-type", "each entry must be a mapping with a string 'name'; it was ignored");
            }
        }

        return new ValueArray<string>(list);
    }

    /// <summary>An error that makes the object absent (the API server would refuse it).</summary>
    private void Refuse(DocNode at, ObjectReference? subject, string? field, string code, string message)
    {
        _refused = true;
        Error(at, subject, field, code, message + Absent);
        _firstRefusal ??= diagnostics[^1];
    }

    /// <summary>A refusal, or (in fields the API server does not check here) an error that drops only the field.</summary>
    private void Report(bool refuse, DocNode at, ObjectReference? subject, string? field, string code, string message)
    {
        if (refuse)
        {
            Refuse(at, subject, field, code, message);
        }
        else
        {
            Error(at, subject, field, code, message + " It was ignored.");
        }
    }

    private void Error(DocNode at, ObjectReference? subject, string? field, string code, string message) =>
        diagnostics.Add(new Diagnostic(code, DiagnosticSeverity.Error, message)
        {
            Subject = subject,
            Field = field,
            Location = new SourceLocation(source, at.Line, at.Column),
        });
}
