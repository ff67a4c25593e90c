using System.Collections.Immutable;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Documents;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Policies;

/// <summary>
/// Binds a policy document's <see cref="DocNode"/> tree to the model, strictly: unknown fields (with the nearest known
/// name), wrong types, missing required fields and bad enum values are each reported with line, column and the fix, and
/// binding goes on so that every error is reported at once. Records where each path was found, for later checks.
/// </summary>
internal sealed class PolicyBinder(string source, List<Diagnostic> diagnostics)
{
    public Dictionary<string, SourceLocation> Locations { get; } = new(StringComparer.Ordinal);

    public int Errors { get; private set; }

    public RegistryPolicyDocument? BindDocument(DocNode root)
    {
        if (!Fields(root, "", "apiVersion", "kind", "metadata", "spec"))
        {
            return null;
        }

        string apiVersion = Str(root, "apiVersion", "", required: true) ?? string.Empty;
        if (apiVersion.Length > 0 && apiVersion != RegistryPolicyDocument.CurrentApiVersion)
        {
            Error(root.Get("apiVersion")!, "apiVersion", "unsupported-api-version",
                $"'{apiVersion}' is not a version this tool reads; use 'apiVersion: {RegistryPolicyDocument.CurrentApiVersion}'");
        }

        string kind = Str(root, "kind", "", required: true) ?? string.Empty;
        if (kind.Length > 0 && kind != RegistryPolicyDocument.DocumentKind)
        {
            Error(root.Get("kind")!, "kind", "wrong-kind", $"'{kind}' is not a policy; use 'kind: {RegistryPolicyDocument.DocumentKind}'");
        }

        DocNode? meta = Required(root, "metadata", "");
        PolicyMetadata metadata = new() { Name = string.Empty };
        if (meta is not null && Fields(meta, "metadata", "name", "description"))
        {
            metadata = new PolicyMetadata
            {
                Name = Str(meta, "name", "metadata", required: true) ?? string.Empty,
                Description = Str(meta, "description", "metadata"),
            };
        }

        DocNode? specNode = Required(root, "spec", "");
        RegistryPolicySpec spec = new();
        if (specNode is not null && Fields(specNode, "spec", "propagation", "resolution", "admission", "rebuild", "serviceAccountLinks", "pulls"))
        {
            spec = new RegistryPolicySpec
            {
                Propagation = List(specNode, "propagation", "spec", BindPropagation),
                Resolution = Object(specNode, "resolution", "spec", BindResolution),
                Admission = Object(specNode, "admission", "spec", BindAdmission),
                Rebuild = Object(specNode, "rebuild", "spec", BindRebuild),
                ServiceAccountLinks = List(specNode, "serviceAccountLinks", "spec", BindLink),
                Pulls = Object(specNode, "pulls", "spec", BindPulls),
            };
        }

        return new RegistryPolicyDocument { ApiVersion = apiVersion, Kind = kind, Metadata = metadata, Spec = spec };
    }

    private PropagationRule? BindPropagation(DocNode node, string path)
    {
        if (!Fields(node, path, "name", "base", "targets", "copy", "shield", "finalizer", "onBaseDeleted", "onBaseUnlabeled", "rename", "updateExisting", "manual"))
        {
            return null;
        }

        var defaults = new PropagationRule { Name = string.Empty, Base = new BaseSelector { Namespace = string.Empty } };
        return new PropagationRule
        {
            Name = Str(node, "name", path, required: true) ?? string.Empty,
            Base = Object(node, "base", path, BindBase, required: true) ?? defaults.Base,
            Targets = Object(node, "targets", path, BindTargets) ?? defaults.Targets,
            Copy = node.Get("copy") is null ? defaults.Copy : List(node, "copy", path, (n, p) => Enum(n, p, CopiedFields)),
            Shield = Object(node, "shield", path, BindSelector),
            Finalizer = Str(node, "finalizer", path),
            OnBaseDeleted = EnumField(node, "onBaseDeleted", path, CopyFates) ?? defaults.OnBaseDeleted,
            OnBaseUnlabeled = EnumField(node, "onBaseUnlabeled", path, CopyFates) ?? defaults.OnBaseUnlabeled,
            Rename = List(node, "rename", path, BindRename),
            UpdateExisting = Bool(node, "updateExisting", path) ?? true,
            Manual = Bool(node, "manual", path) ?? false,
        };
    }

    private RenameRule? BindRename(DocNode node, string path) =>
        !Fields(node, path, "from", "to") ? null : new RenameRule
        {
            From = Str(node, "from", path),
            To = Str(node, "to", path, required: true) ?? string.Empty,
        };

    private ServiceAccountLinkRule? BindLink(DocNode node, string path)
    {
        if (!Fields(node, path, "name", "serviceAccount", "secrets", "namespaces", "manual"))
        {
            return null;
        }

        var defaults = new ServiceAccountLinkRule { Name = string.Empty, Secrets = new LinkedSecrets() };
        return new ServiceAccountLinkRule
        {
            Name = Str(node, "name", path, required: true) ?? string.Empty,
            ServiceAccount = Str(node, "serviceAccount", path) ?? defaults.ServiceAccount,
            Secrets = Object(node, "secrets", path, BindLinkedSecrets, required: true) ?? defaults.Secrets,
            Namespaces = Object(node, "namespaces", path, BindTargets) ?? defaults.Namespaces,
            Manual = Bool(node, "manual", path) ?? false,
        };
    }

    private LinkedSecrets? BindLinkedSecrets(DocNode node, string path) =>
        !Fields(node, path, "names", "selector", "types") ? null : new LinkedSecrets
        {
            Names = StrList(node, "names", path),
            Selector = Object(node, "selector", path, BindSelector),
            Types = StrList(node, "types", path),
        };

    private PullRule? BindPulls(DocNode node, string path) =>
        !Fields(node, path, "defaultPullPolicy", "namespaces", "publicRegistries", "privateRepositories") ? null : new PullRule
        {
            DefaultPullPolicy = Str(node, "defaultPullPolicy", path),
            Namespaces = Object(node, "namespaces", path, BindTargets) ?? new NamespaceScope(),
            PublicRegistries = node.Get("publicRegistries") is null ? null : StrList(node, "publicRegistries", path),
            PrivateRepositories = node.Get("privateRepositories") is null ? null : StrList(node, "privateRepositories", path),
        };

    private BaseSelector? BindBase(DocNode node, string path) =>
        !Fields(node, path, "namespace", "selector", "names") ? null : new BaseSelector
        {
            Namespace = Str(node, "namespace", path, required: true) ?? string.Empty,
            Selector = Object(node, "selector", path, BindSelector),
            Names = StrList(node, "names", path),
        };

    private NamespaceScope? BindTargets(DocNode node, string path) =>
        !Fields(node, path, "namespaces", "excludeNamespaces", "skipTerminating", "namespaceSelector") ? null : new NamespaceScope
        {
            Namespaces = StrList(node, "namespaces", path),
            ExcludeNamespaces = StrList(node, "excludeNamespaces", path),
            SkipTerminating = Bool(node, "skipTerminating", path) ?? true,
            NamespaceSelector = Object(node, "namespaceSelector", path, BindSelector),
        };

    public LabelSelector? BindSelector(DocNode node, string path)
    {
        if (!Fields(node, path, "matchLabels", "matchExpressions"))
        {
            return null;
        }

        var labels = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        DocNode? matchLabels = node.Get("matchLabels");
        if (matchLabels is not null && Expect(matchLabels, DocNodeKind.Mapping, Join(path, "matchLabels")))
        {
            foreach (var (key, value) in matchLabels.Entries)
            {
                string at = $"{Join(path, "matchLabels")}[{key.Scalar}]";
                Remember(at, value);
                if (value.Kind != DocNodeKind.String)
                {
                    Error(value, at, "wrong-type", $"a label value must be a string, not {value.Describe()}; quote it (\"{value.Scalar}\")");
                    continue;
                }

                labels[key.Scalar ?? string.Empty] = value.Scalar!;
            }
        }

        return new LabelSelector
        {
            MatchLabels = StringMap.Create(labels),
            MatchExpressions = List(node, "matchExpressions", path, BindRequirement),
        };
    }

    private LabelSelectorRequirement? BindRequirement(DocNode node, string path) =>
        !Fields(node, path, "key", "operator", "values") ? null : new LabelSelectorRequirement
        {
            Key = Str(node, "key", path, required: true) ?? string.Empty,
            Operator = EnumField(node, "operator", path, Operators, required: true) ?? SelectorOperator.Exists,
            Values = StrList(node, "values", path),
        };

    private ResolutionRule? BindResolution(DocNode node, string path)
    {
        if (!Fields(node, path, "candidates", "notFoundReason", "keys"))
        {
            return null;
        }

        var defaults = new ResolutionRule { Candidates = [] };
        return new ResolutionRule
        {
            Candidates = Required(node, "candidates", path) is null ? [] : List(node, "candidates", path, BindCandidate),
            NotFoundReason = Str(node, "notFoundReason", path) ?? defaults.NotFoundReason,
            Keys = Object(node, "keys", path, BindKeys) ?? defaults.Keys,
        };
    }

    private ResolutionCandidate? BindCandidate(DocNode node, string path)
    {
        if (!Fields(node, path, "name", "selector", "source", "sourceWhenShielded", "sourceWhenPropagated", "addresses"))
        {
            return null;
        }

        var defaults = new ResolutionCandidate { Source = ResolutionSource.None };
        return new ResolutionCandidate
        {
            Name = Str(node, "name", path),
            Selector = Object(node, "selector", path, BindSelector),
            Source = EnumField(node, "source", path, Sources, required: true) ?? ResolutionSource.None,
            SourceWhenShielded = EnumField(node, "sourceWhenShielded", path, Sources),
            SourceWhenPropagated = EnumField(node, "sourceWhenPropagated", path, Sources),
            Addresses = node.Get("addresses") is null ? defaults.Addresses : List(node, "addresses", path, BindAddress),
        };
    }

    private AddressRule? BindAddress(DocNode node, string path) =>
        !Fields(node, path, "when", "push", "pull") ? null : new AddressRule
        {
            When = Object(node, "when", path, BindCondition),
            Push = Str(node, "push", path, required: true) ?? string.Empty,
            Pull = Str(node, "pull", path, required: true) ?? string.Empty,
        };

    private KeyCondition? BindCondition(DocNode node, string path)
    {
        if (!Fields(node, path, "key", "equals", "exists"))
        {
            return null;
        }

        var condition = new KeyCondition
        {
            Key = Str(node, "key", path, required: true) ?? string.Empty,
            EqualsValue = Str(node, "equals", path),
            Exists = Bool(node, "exists", path),
        };
        if ((condition.EqualsValue is null) == (condition.Exists is null))
        {
            Error(node, path, "condition-ambiguous", "give exactly one of 'equals' (a string) and 'exists' (true or false)");
        }

        return condition;
    }

    private ResolutionKeys? BindKeys(DocNode node, string path)
    {
        if (!Fields(node, path, "registryAddress", "serverAddress", "username", "password", "dockerConfigJson"))
        {
            return null;
        }

        var d = new ResolutionKeys();
        return new ResolutionKeys
        {
            RegistryAddress = Str(node, "registryAddress", path) ?? d.RegistryAddress,
            ServerAddress = Str(node, "serverAddress", path) ?? d.ServerAddress,
            Username = Str(node, "username", path) ?? d.Username,
            Password = Str(node, "password", path) ?? d.Password,
            DockerConfigJson = Str(node, "dockerConfigJson", path) ?? d.DockerConfigJson,
        };
    }

    private AdmissionRule? BindAdmission(DocNode node, string path)
    {
        if (!Fields(node, path, "selector", "namespaceSelector", "operations", "requiredKeys", "missingKeyMessage", "writes"))
        {
            return null;
        }

        var defaults = new AdmissionRule { Selector = new LabelSelector(), Writes = new DockerConfigWrite() };
        return new AdmissionRule
        {
            Selector = Object(node, "selector", path, BindSelector, required: true) ?? defaults.Selector,
            NamespaceSelector = Object(node, "namespaceSelector", path, BindSelector),
            Operations = node.Get("operations") is null ? defaults.Operations : List(node, "operations", path, (n, p) => Enum(n, p, Operations)),
            RequiredKeys = StrList(node, "requiredKeys", path),
            MissingKeyMessage = Str(node, "missingKeyMessage", path) ?? defaults.MissingKeyMessage,
            Writes = Object(node, "writes", path, BindWrite, required: true) ?? defaults.Writes,
        };
    }

    private DockerConfigWrite? BindWrite(DocNode node, string path)
    {
        if (!Fields(node, path, "key", "serverKey", "usernameKey", "passwordKey", "layout"))
        {
            return null;
        }

        var d = new DockerConfigWrite();
        return new DockerConfigWrite
        {
            Key = Str(node, "key", path) ?? d.Key,
            ServerKey = Str(node, "serverKey", path) ?? d.ServerKey,
            UsernameKey = Str(node, "usernameKey", path) ?? d.UsernameKey,
            PasswordKey = Str(node, "passwordKey", path) ?? d.PasswordKey,
            Layout = EnumField(node, "layout", path, Layouts) ?? d.Layout,
        };
    }

    private RebuildRule? BindRebuild(DocNode node, string path) =>
        !Fields(node, path, "onChange") ? null : new RebuildRule { OnChange = List(node, "onChange", path, (n, p) => Enum(n, p, Fields_)) };

    // ---- enum tables (no reflection) ----
    internal static readonly Dictionary<string, CopiedField> CopiedFields = new(StringComparer.Ordinal)
    {
        ["Labels"] = CopiedField.Labels, ["Annotations"] = CopiedField.Annotations, ["Data"] = CopiedField.Data, ["Type"] = CopiedField.Type,
    };

    internal static readonly Dictionary<string, CopyFate> CopyFates = new(StringComparer.Ordinal)
    {
        ["OrphanCopies"] = CopyFate.OrphanCopies, ["DeleteUnshieldedCopies"] = CopyFate.DeleteUnshieldedCopies,
    };

    internal static readonly Dictionary<string, SelectorOperator> Operators = new(StringComparer.Ordinal)
    {
        ["In"] = SelectorOperator.In, ["NotIn"] = SelectorOperator.NotIn, ["Exists"] = SelectorOperator.Exists, ["DoesNotExist"] = SelectorOperator.DoesNotExist,
    };

    internal static readonly Dictionary<string, ResolutionSource> Sources = new(PolicyNames.Sources, StringComparer.Ordinal);

    internal static readonly Dictionary<string, AdmissionOperation> Operations = new(StringComparer.Ordinal)
    {
        ["CREATE"] = AdmissionOperation.Create, ["UPDATE"] = AdmissionOperation.Update,
    };

    internal static readonly Dictionary<string, DockerConfigLayout> Layouts = new(StringComparer.Ordinal)
    {
        ["Kubectl"] = DockerConfigLayout.Kubectl, ["AuthOnly"] = DockerConfigLayout.AuthOnly,
    };

    internal static readonly Dictionary<string, ResolutionField> Fields_ = new(StringComparer.Ordinal)
    {
        ["source"] = ResolutionField.Source, ["secret"] = ResolutionField.Secret, ["pushAddress"] = ResolutionField.PushAddress,
        ["pullAddress"] = ResolutionField.PullAddress, ["registryAddress"] = ResolutionField.RegistryAddress,
        ["serverAddress"] = ResolutionField.ServerAddress, ["username"] = ResolutionField.Username,
        ["credentialFingerprint"] = ResolutionField.CredentialFingerprint,
    };

    // ---- primitives ----
    private static string Join(string path, string field) => path.Length == 0 ? field : $"{path}.{field}";

    private void Remember(string path, DocNode node) => Locations.TryAdd(path, new SourceLocation(source, node.Line, node.Column));

    /// <summary>Checks that <paramref name="node"/> is a mapping with only known fields; reports each unknown one with the nearest known name.</summary>
    private bool Fields(DocNode node, string path, params string[] allowed)
    {
        Remember(path, node);
        if (!Expect(node, DocNodeKind.Mapping, path))
        {
            return false;
        }

        foreach (var (key, value) in node.Entries)
        {
            string name = key.Scalar ?? string.Empty;
            if (Array.IndexOf(allowed, name) >= 0)
            {
                Remember(Join(path, name), value);
                continue;
            }

            string? near = allowed.Select(a => (a, d: Distance(a, name))).Where(x => x.d <= Math.Max(2, name.Length / 3)).OrderBy(x => x.d).Select(x => x.a).FirstOrDefault();
            Error(key, Join(path, name), "unknown-field",
                near is not null
                    ? $"unknown field '{name}'; did you mean '{near}'?"
                    : $"unknown field '{name}'; the fields here are: {string.Join(", ", allowed)}");
        }

        return true;
    }

    private bool Expect(DocNode node, DocNodeKind kind, string path)
    {
        if (node.Kind == kind)
        {
            return true;
        }

        string wanted = kind switch { DocNodeKind.Mapping => "a mapping", DocNodeKind.Sequence => "a list", DocNodeKind.Bool => "true or false", _ => "a string" };
        Error(node, path, "wrong-type", $"expected {wanted} but found {node.Describe()}{Quoted(node, path)}");
        return false;
    }

    private DocNode? Required(DocNode parent, string field, string path)
    {
        DocNode? node = parent.Get(field);
        if (node is null)
        {
            Error(parent, Join(path, field), "field-required", $"the field '{field}' is required here");
        }

        return node;
    }

    private string? Str(DocNode parent, string field, string path, bool required = false)
    {
        DocNode? node = required ? Required(parent, field, path) : parent.Get(field);
        if (node is null)
        {
            return null;
        }

        return ScalarString(node, Join(path, field));
    }

    private string? ScalarString(DocNode node, string path)
    {
        if (node.Kind == DocNodeKind.String)
        {
            return node.Scalar;
        }

        if (node.IsScalar && node.Kind != DocNodeKind.Null)
        {
            Error(node, path, "wrong-type", $"expected a string but found {node.Describe()}; quote it{(Quoted(node, path) is { Length: > 0 } q ? q.Replace("('", "(\"", StringComparison.Ordinal).Replace("')", "\")", StringComparison.Ordinal) : "")}");
            return null;
        }

        Expect(node, DocNodeKind.String, path);
        return null;
    }

    private bool? Bool(DocNode parent, string field, string path)
    {
        DocNode? node = parent.Get(field);
        if (node is null)
        {
            return null;
        }

        if (node.Kind == DocNodeKind.Bool && node.Scalar is "true" or "false")
        {
            return node.Scalar == "true";
        }

        Error(node, Join(path, field), "wrong-type", $"expected true or false but found {node.Describe()}{Quoted(node, Join(path, field))}");
        return null;
    }

    private ImmutableArray<string> StrList(DocNode parent, string field, string path) =>
        List(parent, field, path, ScalarString);

    private T? Enum<T>(DocNode node, string path, Dictionary<string, T> values)
        where T : struct
    {
        string? text = ScalarString(node, path);
        if (text is null)
        {
            return null;
        }

        if (values.TryGetValue(text, out T value))
        {
            return value;
        }

        string? near = values.Keys.FirstOrDefault(k => string.Equals(k, text, StringComparison.OrdinalIgnoreCase));
        Error(node, path, "bad-value", near is not null
            ? $"'{text}' is not allowed; write '{near}' (values are case-sensitive)"
            : $"'{text}' is not allowed; use one of: {string.Join(", ", values.Keys)}");
        return null;
    }

    private T? EnumField<T>(DocNode parent, string field, string path, Dictionary<string, T> values, bool required = false)
        where T : struct
    {
        DocNode? node = required ? Required(parent, field, path) : parent.Get(field);
        return node is null ? null : Enum(node, Join(path, field), values);
    }

    private T? Object<T>(DocNode parent, string field, string path, Func<DocNode, string, T?> bind, bool required = false)
        where T : class
    {
        DocNode? node = required ? Required(parent, field, path) : parent.Get(field);
        return node is null || node.Kind == DocNodeKind.Null && !required ? null : bind(node, Join(path, field));
    }

    private ImmutableArray<T> List<T>(DocNode parent, string field, string path, Func<DocNode, string, T?> bind)
        where T : class => ListCore(parent, field, path, (n, p) => bind(n, p) is { } v ? (true, v) : (false, default!));

    private ImmutableArray<T> List<T>(DocNode parent, string field, string path, Func<DocNode, string, T?> bind, int _ = 0)
        where T : struct => ListCore(parent, field, path, (n, p) => bind(n, p) is { } v ? (true, v) : (false, default));

    private ImmutableArray<T> ListCore<T>(DocNode parent, string field, string path, Func<DocNode, string, (bool Ok, T Value)> bind)
    {
        DocNode? node = parent.Get(field);
        string at = Join(path, field);
        if (node is null || node.Kind == DocNodeKind.Null || !Expect(node, DocNodeKind.Sequence, at))
        {
            return [];
        }

        var items = ImmutableArray.CreateBuilder<T>(node.Items.Count);
        for (int i = 0; i < node.Items.Count; i++)
        {
            string itemPath = $"{at}[{i}]";
            Remember(itemPath, node.Items[i]);
            var (ok, value) = bind(node.Items[i], itemPath);
            if (ok)
            {
                items.Add(value);
            }
        }

        return items.ToImmutable();
    }

    private void Error(DocNode at, string path, string code, string message)
    {
        Errors++;
        diagnostics.Add(new Diagnostic(code, DiagnosticSeverity.Error, message)
        {
            Field = path.Length == 0 ? null : path,
            Location = new SourceLocation(source, at.Line, at.Column),
        });
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (int j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
            }
        }

        return d[a.Length, b.Length];
    }

    /// <summary>
    /// A short scalar, quoted, to show what was written (" ('yes')"); nothing for the whole document (a file that is not a
    /// policy at all, a token say, must not be echoed) or for a long value.
    /// </summary>
    private static string Quoted(DocNode node, string path) =>
        path.Length > 0 && node.IsScalar && node.Scalar is { Length: > 0 and <= 32 } s && !s.Any(char.IsControl) ? $" ('{s}')" : "";
}
