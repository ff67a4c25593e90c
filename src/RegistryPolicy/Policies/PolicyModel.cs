using System.Collections.Immutable;
using System.Text.Json.Serialization;
using RegistryPolicy.Credentials;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Policies;

/// <summary>
/// A registry policy document (<c>apiVersion: registrypolicy.dev/v1alpha1</c>, <c>kind: RegistryPolicy</c>): everything a
/// registry controller of the Kyma Serverless kind does, stated as data. Load one with <see cref="PolicyLoader"/>, which
/// validates it and compiles it into a <see cref="CompiledPolicy"/>.
/// Immutable and thread-safe.
/// </summary>
public sealed record RegistryPolicyDocument
{
    /// <summary>The only API version this library reads.</summary>
    public const string CurrentApiVersion = "registrypolicy.dev/v1alpha1";

    /// <summary>The document kind.</summary>
    public const string DocumentKind = "RegistryPolicy";

    /// <summary>Always <see cref="CurrentApiVersion"/>.</summary>
    public required string ApiVersion { get; init; }

    /// <summary>Always <see cref="DocumentKind"/>.</summary>
    public required string Kind { get; init; }

    /// <summary>The policy's name and description.</summary>
    public required PolicyMetadata Metadata { get; init; }

    /// <summary>What the policy does.</summary>
    public required RegistryPolicySpec Spec { get; init; }
}

/// <summary>A policy's name and description. Immutable and thread-safe.</summary>
public sealed record PolicyMetadata
{
    /// <summary>The policy's name (a DNS label, for example <c>kyma-serverless</c>).</summary>
    public required string Name { get; init; }

    /// <summary>What the policy models, for people.</summary>
    public string? Description { get; init; }
}

/// <summary>The parts of a policy. Each is optional. Immutable and thread-safe.</summary>
public sealed record RegistryPolicySpec
{
    /// <summary>Which Secrets are copied from a base namespace into others, and how.</summary>
    public ValueArray<PropagationRule> Propagation { get; init; } = [];

    /// <summary>How each namespace's registry is chosen.</summary>
    public ResolutionRule? Resolution { get; init; }

    /// <summary>What a defaulting admission webhook does to registry Secrets.</summary>
    public AdmissionRule? Admission { get; init; }

    /// <summary>Which change of a namespace's result makes its Functions rebuild.</summary>
    public RebuildRule? Rebuild { get; init; }

    /// <summary>
    /// Pull secrets linked to a ServiceAccount of each namespace in scope (OpenFaaS option 1, IBM Cloud's "store the image
    /// pull secret in the service account"): planned as <c>kubectl patch</c>-equivalent RFC 6902 patches.
    /// </summary>
    public ValueArray<ServiceAccountLinkRule> ServiceAccountLinks { get; init; } = [];

    /// <summary>How images are pulled where this policy applies: a default <c>imagePullPolicy</c>, and which registries are public.</summary>
    public PullRule? Pulls { get; init; }
}

/// <summary>A Kubernetes label selector. Immutable and thread-safe.</summary>
public sealed record LabelSelector
{
    /// <summary>Labels that must be present with these exact values.</summary>
    public StringMap MatchLabels { get; init; } = StringMap.Empty;

    /// <summary>Further requirements, all of which must hold.</summary>
    public ValueArray<LabelSelectorRequirement> MatchExpressions { get; init; } = [];

    /// <summary>Whether labels satisfy the selector, as the API server decides it (an empty selector matches everything).</summary>
    /// <param name="labels">The object's labels.</param>
    /// <returns>True when every label and every requirement holds.</returns>
    public bool Matches(StringMap labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return SelectorMatcher.Compile(this).Matches(labels);
    }
}

/// <summary>One requirement of a <see cref="LabelSelector"/>. Immutable and thread-safe.</summary>
public sealed record LabelSelectorRequirement
{
    /// <summary>The label key.</summary>
    public required string Key { get; init; }

    /// <summary>The operator.</summary>
    public required SelectorOperator Operator { get; init; }

    /// <summary>The values, for <c>In</c> and <c>NotIn</c>.</summary>
    public ValueArray<string> Values { get; init; } = [];
}

/// <summary>A label selector operator, as in Kubernetes.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SelectorOperator>))]
public enum SelectorOperator
{
    /// <summary>The label is present with one of the values.</summary>
    In,

    /// <summary>The label is absent, or present with none of the values.</summary>
    NotIn,

    /// <summary>The label is present.</summary>
    Exists,

    /// <summary>The label is absent.</summary>
    DoesNotExist,
}

/// <summary>
/// A propagation rule: base Secrets in one namespace are copied into target namespaces, kept equal to the base, and
/// deleted with it, except where a target's existing Secret is shielded.
/// Immutable and thread-safe.
/// </summary>
public sealed record PropagationRule
{
    /// <summary>The rule's name, unique in the policy.</summary>
    public required string Name { get; init; }

    /// <summary>Which Secrets are bases.</summary>
    public required BaseSelector Base { get; init; }

    /// <summary>Which namespaces receive copies.</summary>
    public NamespaceScope Targets { get; init; } = new();

    /// <summary>
    /// How copies are named: the first rule whose <see cref="RenameRule.From"/> is the base's name (or is not set) gives the
    /// copy's name; with no rule that applies, a copy has its base's name.
    /// </summary>
    public ValueArray<RenameRule> Rename { get; init; } = [];

    /// <summary>What is copied besides the name (Kyma copies all four).</summary>
    public ValueArray<CopiedField> Copy { get; init; } = [CopiedField.Labels, CopiedField.Annotations, CopiedField.Data, CopiedField.Type];

    /// <summary>
    /// Whether an existing Secret with the copy's name is brought in line with the base (Kyma: yes). False models a one-time
    /// <c>kubectl create</c>: missing copies are created, existing Secrets are left as they are (IBM Cloud's documented copy).
    /// </summary>
    public bool UpdateExisting { get; init; } = true;

    /// <summary>
    /// Whether nothing in the cluster carries this rule out: it models steps people run from the documentation (IBM Cloud's
    /// copy of <c>all-icr-io</c>, OpenFaaS's ServiceAccount patch). Its actions are still planned, marked manual, and
    /// <c>registry-policy doctor</c> does not assume them done. Default false (a controller does it, as Kyma's).
    /// </summary>
    public bool Manual { get; init; }

    /// <summary>Existing target Secrets matching this selector are never updated or deleted (Kyma: <c>managed-by: user</c>).</summary>
    public LabelSelector? Shield { get; init; }

    /// <summary>A finalizer the controller puts on each base, so that it sees the base's deletion; null for none.</summary>
    public string? Finalizer { get; init; }

    /// <summary>What happens to copies when a base is deleted.</summary>
    public CopyFate OnBaseDeleted { get; init; } = CopyFate.DeleteUnshieldedCopies;

    /// <summary>What happens to copies when a base stops matching the selector (its label is removed).</summary>
    public CopyFate OnBaseUnlabeled { get; init; } = CopyFate.OrphanCopies;
}

/// <summary>Which Secrets are bases of a propagation rule. Immutable and thread-safe.</summary>
public sealed record BaseSelector
{
    /// <summary>The base namespace. Never a target.</summary>
    public required string Namespace { get; init; }

    /// <summary>The labels a base carries.</summary>
    public LabelSelector? Selector { get; init; }

    /// <summary>If not empty, only Secrets with these names are bases.</summary>
    public ValueArray<string> Names { get; init; } = [];
}

/// <summary>
/// A set of namespaces: the listed ones (all, when none are listed), minus exclusions, minus terminating ones, and only those a
/// selector matches when one is given.
/// Immutable and thread-safe.
/// </summary>
public sealed record NamespaceScope
{
    /// <summary>If not empty, only these namespaces are in scope.</summary>
    public ValueArray<string> Namespaces { get; init; } = [];

    /// <summary>Namespaces never in scope (for propagation, the base namespace is always excluded as well).</summary>
    public ValueArray<string> ExcludeNamespaces { get; init; } = [];

    /// <summary>Whether namespaces being deleted are skipped (Kyma: yes).</summary>
    public bool SkipTerminating { get; init; } = true;

    /// <summary>If set, only namespaces whose labels match are in scope.</summary>
    public LabelSelector? NamespaceSelector { get; init; }
}

/// <summary>How a propagated copy is named (IBM Cloud's legacy copies: <c>default-icr-io</c> becomes <c>&lt;namespace&gt;-icr-io</c>). Immutable and thread-safe.</summary>
public sealed record RenameRule
{
    /// <summary>The base name this rule renames; null for every base.</summary>
    public string? From { get; init; }

    /// <summary>
    /// The copy's name: text with the placeholders <c>{name}</c> (the base's name) and <c>{namespace}</c> (the target
    /// namespace), for example <c>{namespace}-icr-io</c>.
    /// </summary>
    public required string To { get; init; }

    /// <summary>The copy's name for a base name and target namespace.</summary>
    /// <param name="baseName">The base's name.</param>
    /// <param name="targetNamespace">The target namespace.</param>
    /// <returns>The name.</returns>
    public string Apply(string baseName, string targetNamespace) =>
        To.Replace("{name}", baseName, StringComparison.Ordinal).Replace("{namespace}", targetNamespace, StringComparison.Ordinal);
}

/// <summary>Links pull secrets to a ServiceAccount in every namespace in scope where those Secrets exist (after propagation). Immutable and thread-safe.</summary>
public sealed record ServiceAccountLinkRule
{
    /// <summary>The rule's name, unique among the links.</summary>
    public required string Name { get; init; }

    /// <summary>The ServiceAccount (pods that name none use <c>default</c>).</summary>
    public string ServiceAccount { get; init; } = "default";

    /// <summary>Which Secrets of each namespace are linked.</summary>
    public required LinkedSecrets Secrets { get; init; }

    /// <summary>The namespaces whose ServiceAccount is patched.</summary>
    public NamespaceScope Namespaces { get; init; } = new();

    /// <summary>
    /// Whether nothing in the cluster carries this rule out: it models steps people run from the documentation (IBM Cloud's
    /// copy of <c>all-icr-io</c>, OpenFaaS's ServiceAccount patch). Its actions are still planned, marked manual, and
    /// <c>registry-policy doctor</c> does not assume them done. Default false (a controller does it, as Kyma's).
    /// </summary>
    public bool Manual { get; init; }
}

/// <summary>
/// Which Secrets of a namespace a <see cref="ServiceAccountLinkRule"/> links: those with one of the <see cref="Names"/> (in
/// that order), else those the <see cref="Selector"/> and <see cref="Types"/> match (in name order). At least one of the three is set.
/// Immutable and thread-safe.
/// </summary>
public sealed record LinkedSecrets
{
    /// <summary>Secret names.</summary>
    public ValueArray<string> Names { get; init; } = [];

    /// <summary>Labels the Secrets carry.</summary>
    public LabelSelector? Selector { get; init; }

    /// <summary>Secret types, for example <c>kubernetes.io/dockerconfigjson</c>; empty for any.</summary>
    public ValueArray<string> Types { get; init; } = [];
}

/// <summary>How images are pulled where a policy applies. Immutable and thread-safe.</summary>
public sealed record PullRule
{
    /// <summary>
    /// The <c>imagePullPolicy</c> a container gets when it sets none (OpenFaaS's <c>functions.imagePullPolicy</c>, <c>Always</c>
    /// by default there); null for Kubernetes' default.
    /// </summary>
    public string? DefaultPullPolicy { get; init; }

    /// <summary>The namespaces where <see cref="DefaultPullPolicy"/> applies (OpenFaaS: <c>openfaas-fn</c>).</summary>
    public NamespaceScope Namespaces { get; init; } = new();

    /// <summary>Registries whose images pull anonymously; null for the built-in list (Docker Hub, quay.io, ghcr.io, ...).</summary>
    public ValueArray<string>? PublicRegistries { get; init; }

    /// <summary>
    /// Registries or repository prefixes (<c>docker.io/alexellis2</c>) that need a credential even on a public registry
    /// (OpenFaaS's private Docker Hub repositories): a pull of them without one is a finding. Null for none.
    /// </summary>
    public ValueArray<string>? PrivateRepositories { get; init; }
}

/// <summary>A part of a base Secret that propagation copies.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CopiedField>))]
public enum CopiedField
{
    /// <summary><c>metadata.labels</c>.</summary>
    Labels,

    /// <summary><c>metadata.annotations</c>.</summary>
    Annotations,

    /// <summary><c>data</c> (and <c>stringData</c>).</summary>
    Data,

    /// <summary><c>type</c> (immutable in Kubernetes: a change is refused).</summary>
    Type,
}

/// <summary>What happens to the copies of a base that is deleted or stops being a base.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CopyFate>))]
public enum CopyFate
{
    /// <summary>Copies stay as they are and are no longer kept in sync.</summary>
    OrphanCopies,

    /// <summary>Copies are deleted, except shielded ones.</summary>
    DeleteUnshieldedCopies,
}

/// <summary>How a namespace's registry is chosen: the first candidate Secret found in the namespace wins. Immutable and thread-safe.</summary>
public sealed record ResolutionRule
{
    /// <summary>The candidates, in order of precedence.</summary>
    public required ValueArray<ResolutionCandidate> Candidates { get; init; }

    /// <summary>The reason given when no candidate is found (Kyma's reconcile error).</summary>
    public string NotFoundReason { get; init; } = "no registry configuration found";

    /// <summary>Which data keys hold the result's fields.</summary>
    public ResolutionKeys Keys { get; init; } = new();
}

/// <summary>One candidate of a <see cref="ResolutionRule"/>: a Secret in the namespace, chosen by name and/or labels. Immutable and thread-safe.</summary>
public sealed record ResolutionCandidate
{
    /// <summary>The Secret's name; null to choose by <see cref="Selector"/> only.</summary>
    public string? Name { get; init; }

    /// <summary>Labels the Secret must carry; null to choose by name only (Kyma checks no labels).</summary>
    public LabelSelector? Selector { get; init; }

    /// <summary>How the result is labelled when this candidate wins.</summary>
    public required ResolutionSource Source { get; init; }

    /// <summary>The label instead when the chosen Secret is shielded from propagation.</summary>
    public ResolutionSource? SourceWhenShielded { get; init; }

    /// <summary>The label instead when the chosen Secret is a propagated copy of a base (or the base itself).</summary>
    public ResolutionSource? SourceWhenPropagated { get; init; }

    /// <summary>How push and pull addresses are read; the first rule whose condition holds applies.</summary>
    public ValueArray<AddressRule> Addresses { get; init; } = [new AddressRule { Push = "registryAddress", Pull = "registryAddress" }];
}

/// <summary>Where a namespace's registry configuration comes from.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ResolutionSource>))]
public enum ResolutionSource
{
    /// <summary>Nothing applies: the namespace has no registry (Kyma: its Functions cannot build).</summary>
    [JsonStringEnumMemberName("none")]
    None,

    /// <summary>The default configuration.</summary>
    [JsonStringEnumMemberName("default")]
    Default,

    /// <summary>A Secret of the namespace's own.</summary>
    [JsonStringEnumMemberName("namespace")]
    Namespace,

    /// <summary>A cluster-wide Secret, copied into the namespace by propagation.</summary>
    [JsonStringEnumMemberName("cluster-wide")]
    ClusterWide,

    /// <summary>A namespace Secret shielded from propagation by its owner.</summary>
    [JsonStringEnumMemberName("user-managed")]
    UserManaged,
}

/// <summary>Which keys of the chosen Secret give push and pull address, when <see cref="When"/> holds. Immutable and thread-safe.</summary>
public sealed record AddressRule
{
    /// <summary>The condition; null always holds.</summary>
    public KeyCondition? When { get; init; }

    /// <summary>The data key holding the push address.</summary>
    public required string Push { get; init; }

    /// <summary>The data key holding the pull address.</summary>
    public required string Pull { get; init; }
}

/// <summary>A condition on one data key of the chosen Secret. Exactly one of <see cref="EqualsValue"/> and <see cref="Exists"/> is set. Immutable and thread-safe.</summary>
public sealed record KeyCondition
{
    /// <summary>The data key.</summary>
    public required string Key { get; init; }

    /// <summary>Holds when the key's value is exactly this text (Kyma: <c>isInternal</c> equals <c>"true"</c>).</summary>
    [JsonPropertyName("equals")]
    public string? EqualsValue { get; init; }

    /// <summary>Holds when the key is present (true) or absent (false).</summary>
    public bool? Exists { get; init; }
}

/// <summary>The data keys that give the result's fields. Immutable and thread-safe.</summary>
public sealed record ResolutionKeys
{
    /// <summary>The image-name prefix (may hold a path).</summary>
    public string RegistryAddress { get; init; } = "registryAddress";

    /// <summary>The key in <c>.dockerconfigjson</c> <c>auths</c>.</summary>
    public string ServerAddress { get; init; } = "serverAddress";

    /// <summary>The username.</summary>
    public string Username { get; init; } = "username";

    /// <summary>The password (read only for its fingerprint).</summary>
    public string Password { get; init; } = "password";

    /// <summary>The pull-secret key, read when the Secret has no password key.</summary>
    public string DockerConfigJson { get; init; } = PullSecret.DockerConfigJsonKey;
}

/// <summary>What a defaulting webhook does to the registry Secrets it selects. Immutable and thread-safe.</summary>
public sealed record AdmissionRule
{
    /// <summary>The Secrets the webhook receives (its <c>objectSelector</c>).</summary>
    public required LabelSelector Selector { get; init; }

    /// <summary>The namespaces whose Secrets it receives (its <c>namespaceSelector</c>); null for all.</summary>
    public LabelSelector? NamespaceSelector { get; init; }

    /// <summary>The operations it receives.</summary>
    public ValueArray<AdmissionOperation> Operations { get; init; } = [AdmissionOperation.Create, AdmissionOperation.Update];

    /// <summary>Data keys that must be present (values may be empty); checked in order, the first missing one refuses.</summary>
    public ValueArray<string> RequiredKeys { get; init; } = [];

    /// <summary>The refusal message; <c>{key}</c> is replaced by the missing key.</summary>
    public string MissingKeyMessage { get; init; } = "{key} field not found";

    /// <summary>The pull-secret JSON the webhook writes.</summary>
    public required DockerConfigWrite Writes { get; init; }
}

/// <summary>An admission operation.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AdmissionOperation>))]
public enum AdmissionOperation
{
    /// <summary>A create.</summary>
    [JsonStringEnumMemberName("CREATE")]
    Create,

    /// <summary>An update.</summary>
    [JsonStringEnumMemberName("UPDATE")]
    Update,
}

/// <summary>How the webhook writes <c>.dockerconfigjson</c>. Immutable and thread-safe.</summary>
public sealed record DockerConfigWrite
{
    /// <summary>The data key written.</summary>
    public string Key { get; init; } = PullSecret.DockerConfigJsonKey;

    /// <summary>The data key holding the registry key of the single <c>auths</c> entry.</summary>
    public string ServerKey { get; init; } = "serverAddress";

    /// <summary>The data key holding the username.</summary>
    public string UsernameKey { get; init; } = "username";

    /// <summary>The data key holding the password.</summary>
    public string PasswordKey { get; init; } = "password";

    /// <summary>The entry's layout (Kyma: <c>AuthOnly</c>).</summary>
    public DockerConfigLayout Layout { get; init; } = DockerConfigLayout.AuthOnly;
}

/// <summary>Which changes of a namespace's result make its Functions rebuild. Immutable and thread-safe.</summary>
public sealed record RebuildRule
{
    /// <summary>The fields whose change triggers a rebuild (Kyma: <c>pushAddress</c> only).</summary>
    public ValueArray<ResolutionField> OnChange { get; init; } = [];
}

/// <summary>A field of a namespace's resolution result.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ResolutionField>))]
public enum ResolutionField
{
    /// <summary>The source.</summary>
    [JsonStringEnumMemberName("source")]
    Source,

    /// <summary>The Secret used.</summary>
    [JsonStringEnumMemberName("secret")]
    Secret,

    /// <summary>The push address.</summary>
    [JsonStringEnumMemberName("pushAddress")]
    PushAddress,

    /// <summary>The pull address.</summary>
    [JsonStringEnumMemberName("pullAddress")]
    PullAddress,

    /// <summary>The registry address.</summary>
    [JsonStringEnumMemberName("registryAddress")]
    RegistryAddress,

    /// <summary>The server address.</summary>
    [JsonStringEnumMemberName("serverAddress")]
    ServerAddress,

    /// <summary>The username.</summary>
    [JsonStringEnumMemberName("username")]
    Username,

    /// <summary>The credential's fingerprint.</summary>
    [JsonStringEnumMemberName("credentialFingerprint")]
    CredentialFingerprint,
}
