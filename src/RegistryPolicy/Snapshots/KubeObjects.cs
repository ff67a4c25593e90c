using RegistryPolicy.Diagnostics;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Snapshots;

/// <summary>The metadata every object in a snapshot has. Immutable, with value equality, thread-safe.</summary>
/// <param name="Name">The object's name.</param>
/// <param name="Namespace">Its namespace, or <see langword="null"/> for cluster-scoped objects (Namespaces).</param>
public sealed record ObjectMetadata(string Name, string? Namespace)
{
    /// <summary>The labels.</summary>
    public StringMap Labels { get; init; } = StringMap.Empty;

    /// <summary>The annotations. May hold a copy of the whole object (<c>last-applied-configuration</c>): never print them for Secrets.</summary>
    public StringMap Annotations { get; init; } = StringMap.Empty;

    /// <summary>The finalizers.</summary>
    public ValueArray<string> Finalizers { get; init; }

    /// <summary><c>metadata.deletionTimestamp</c> as written, or <see langword="null"/> when the object is not being deleted.</summary>
    public string? DeletionTimestamp { get; init; }

    /// <summary>Whether the object is being deleted (it has a deletion timestamp and waits for its finalizers).</summary>
    public bool IsDeleting => DeletionTimestamp is not null;
}

/// <summary>One Kubernetes object in a <see cref="ClusterSnapshot"/>: only the fields registry policy needs. Immutable and thread-safe.</summary>
/// <param name="Metadata">Name, namespace, labels, annotations, finalizers.</param>
public abstract record KubeObject(ObjectMetadata Metadata)
{
    /// <summary>The object's kind, for example <c>Secret</c>.</summary>
    public abstract string Kind { get; }

    /// <summary>The object's name.</summary>
    public string Name => Metadata.Name;

    /// <summary>The object's namespace (null for Namespaces).</summary>
    public string? Namespace => Metadata.Namespace;

    /// <summary>A reference naming kind, namespace and name.</summary>
    public ObjectReference Reference => new(Kind, Metadata.Namespace, Metadata.Name);

    /// <summary>
    /// The object as a Kubernetes manifest (<c>apiVersion</c>, <c>kind</c>, <c>metadata</c> and the fields a snapshot keeps),
    /// for <c>kubectl apply</c> or a review. A Secret's data and annotations are included only with
    /// <see cref="ManifestOptions.RevealSecrets"/>.
    /// </summary>
    /// <param name="options">What to include; credentials hidden when null.</param>
    /// <returns>A new tree; changing it changes nothing here.</returns>
    public System.Text.Json.Nodes.JsonObject ToManifest(ManifestOptions? options = null) => Manifests.Of(this, options ?? ManifestOptions.Default);

    /// <summary>Formats as <c>Kind namespace/name</c>, for every kind of object.</summary>
    /// <returns>The reference as text; never any content (a Secret's data and annotations hold credentials).</returns>
    public sealed override string ToString() => Reference.ToString();
}

/// <summary>A Secret. <see cref="KubeObject.ToString()"/> never shows data or annotations. Immutable and thread-safe.</summary>
/// <param name="Metadata">The metadata.</param>
/// <param name="Type">The Secret's type (<c>Opaque</c> when the manifest gives none).</param>
/// <param name="Data">The decoded data, with <c>stringData</c> merged in as the API server does.</param>
public sealed record SecretObject(ObjectMetadata Metadata, string Type, SecretData Data) : KubeObject(Metadata)
{
    /// <summary>The type Kubernetes gives a Secret created without one.</summary>
    public const string OpaqueType = "Opaque";

    /// <inheritdoc/>
    public override string Kind => "Secret";
}

/// <summary>A Namespace. Immutable and thread-safe.</summary>
/// <param name="Metadata">The metadata.</param>
/// <param name="Phase"><c>status.phase</c> (<c>Active</c>, <c>Terminating</c>), or <see langword="null"/> when not given.</param>
public sealed record NamespaceObject(ObjectMetadata Metadata, string? Phase) : KubeObject(Metadata)
{
    /// <inheritdoc/>
    public override string Kind => "Namespace";

    /// <summary>Whether the namespace is being deleted (<c>status.phase: Terminating</c> or a deletion timestamp).</summary>
    public bool IsTerminating => Phase == "Terminating" || Metadata.IsDeleting;

    /// <summary>
    /// Whether the snapshot holds this Namespace object. False when the snapshot held no Namespace of this name and it was
    /// inferred from the objects that live in it (its labels are then unknown, and empty).
    /// </summary>
    public bool IsDeclared { get; init; } = true;

    /// <summary>Creates a Namespace with only a name.</summary>
    /// <param name="name">The name.</param>
    /// <param name="labels">Its labels, if any.</param>
    /// <returns>The Namespace.</returns>
    public static NamespaceObject Named(string name, StringMap? labels = null) =>
        new(new ObjectMetadata(name, null) { Labels = labels ?? StringMap.Empty }, "Active");
}

/// <summary>A ServiceAccount. Immutable and thread-safe.</summary>
/// <param name="Metadata">The metadata.</param>
/// <param name="ImagePullSecrets">The names in <c>imagePullSecrets</c>, in order.</param>
public sealed record ServiceAccountObject(ObjectMetadata Metadata, ValueArray<string> ImagePullSecrets) : KubeObject(Metadata)
{
    /// <inheritdoc/>
    public override string Kind => "ServiceAccount";
}

/// <summary>A ConfigMap. Immutable and thread-safe.</summary>
/// <param name="Metadata">The metadata.</param>
/// <param name="Data">Its <c>data</c>.</param>
public sealed record ConfigMapObject(ObjectMetadata Metadata, StringMap Data) : KubeObject(Metadata)
{
    /// <inheritdoc/>
    public override string Kind => "ConfigMap";
}

/// <summary>A Kyma Serverless <c>Function</c> (<c>serverless.kyma-project.io</c>). Immutable and thread-safe.</summary>
/// <param name="Metadata">The metadata.</param>
/// <param name="Runtime"><c>spec.runtime</c>, if given.</param>
public sealed record FunctionObject(ObjectMetadata Metadata, string? Runtime) : KubeObject(Metadata)
{
    /// <inheritdoc/>
    public override string Kind => "Function";
}

/// <summary>Which list of a Pod spec a container is in.</summary>
public enum ContainerRole
{
    /// <summary><c>containers</c>.</summary>
    Container,

    /// <summary><c>initContainers</c>.</summary>
    InitContainer,

    /// <summary><c>ephemeralContainers</c>.</summary>
    EphemeralContainer,
}

/// <summary>One container of a Pod spec. Immutable and thread-safe.</summary>
/// <param name="Role">Which list it is in.</param>
/// <param name="Index">Its index in that list.</param>
/// <param name="Name">Its name.</param>
/// <param name="Image">Its image, as written.</param>
/// <param name="ImagePullPolicy">Its <c>imagePullPolicy</c>, or <see langword="null"/> when not set.</param>
public sealed record ContainerSpec(ContainerRole Role, int Index, string Name, string Image, string? ImagePullPolicy);

/// <summary>The parts of a Pod spec that decide which images are pulled with which credentials. Immutable and thread-safe.</summary>
/// <param name="SpecPath">The JSON pointer to the Pod spec inside the object (<c>/spec</c>, <c>/spec/template/spec</c>, ...).</param>
/// <param name="ServiceAccountName"><c>serviceAccountName</c>, or <see langword="null"/> (Kubernetes then uses <c>default</c>).</param>
/// <param name="ImagePullSecrets">The names in <c>imagePullSecrets</c>.</param>
/// <param name="Containers">Every container, init container and ephemeral container.</param>
public sealed record PodTemplate(string SpecPath, string? ServiceAccountName, ValueArray<string> ImagePullSecrets, ValueArray<ContainerSpec> Containers);

/// <summary>A Pod or a workload controller (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob). Immutable and thread-safe.</summary>
/// <param name="WorkloadKind">The kind.</param>
/// <param name="Metadata">The metadata.</param>
/// <param name="Template">Its Pod spec.</param>
public sealed record WorkloadObject(string WorkloadKind, ObjectMetadata Metadata, PodTemplate Template) : KubeObject(Metadata)
{
    /// <inheritdoc/>
    public override string Kind => WorkloadKind;

    /// <summary>
    /// The object that controls this one (<c>metadata.ownerReferences</c> with <c>controller: true</c>: a Pod's ReplicaSet, a
    /// ReplicaSet's Deployment, a Job's CronJob), in the same namespace; or <see langword="null"/>.
    /// </summary>
    public ObjectReference? Controller { get; init; }
}
