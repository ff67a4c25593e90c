using RegistryPolicy.Diagnostics;

namespace RegistryPolicy.Credentials;

/// <summary>
/// A Secret as a pull secret: its name, type and decoded <c>data</c>. <see cref="ReadDockerConfig"/> reads it as the kubelet
/// does (type and key must agree).
/// Immutable and thread-safe.
/// </summary>
public sealed class PullSecret : IEquatable<PullSecret>
{
    /// <summary>The type of a <c>.dockerconfigjson</c> Secret.</summary>
    public const string DockerConfigJsonType = "kubernetes.io/dockerconfigjson";

    /// <summary>The type of a legacy <c>.dockercfg</c> Secret.</summary>
    public const string DockerCfgType = "kubernetes.io/dockercfg";

    /// <summary>The data key of a <see cref="DockerConfigJsonType"/> Secret.</summary>
    public const string DockerConfigJsonKey = ".dockerconfigjson";

    /// <summary>The data key of a <see cref="DockerCfgType"/> Secret.</summary>
    public const string DockerCfgKey = ".dockercfg";

    /// <summary>Creates a pull secret from a Secret's identity, type and decoded data.</summary>
    /// <param name="namespace">The namespace, or <see langword="null"/> when unknown.</param>
    /// <param name="name">The name.</param>
    /// <param name="type">The Secret's <c>type</c>.</param>
    /// <param name="data">The decoded values of <c>data</c> (and <c>stringData</c>), by key.</param>
    public PullSecret(string? @namespace, string name, string type, IReadOnlyDictionary<string, byte[]> data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(data);
        Namespace = @namespace;
        Name = name;
        Type = type;
        Data = data;
    }

    /// <summary>Creates a pull secret of type <see cref="DockerConfigJsonType"/> holding <paramref name="dockerConfigJson"/>.</summary>
    /// <param name="namespace">The namespace, or <see langword="null"/>.</param>
    /// <param name="name">The name.</param>
    /// <param name="dockerConfigJson">The <c>.dockerconfigjson</c> bytes.</param>
    /// <returns>The pull secret.</returns>
    public static PullSecret FromDockerConfigJson(string? @namespace, string name, byte[] dockerConfigJson) =>
        new(@namespace, name, DockerConfigJsonType, new Dictionary<string, byte[]>(StringComparer.Ordinal) { [DockerConfigJsonKey] = dockerConfigJson });

    /// <summary>The namespace, or <see langword="null"/>.</summary>
    public string? Namespace { get; }

    /// <summary>The name.</summary>
    public string Name { get; }

    /// <summary>The Secret type.</summary>
    public string Type { get; }

    /// <summary>The decoded data, by key. Secret: never printed.</summary>
    public IReadOnlyDictionary<string, byte[]> Data { get; }

    /// <summary>The object reference used in diagnostics.</summary>
    public ObjectReference Reference => new("Secret", Namespace, Name);

    /// <summary>
    /// Reads the credentials as the kubelet does: a <c>kubernetes.io/dockerconfigjson</c> Secret with a non-empty
    /// <c>.dockerconfigjson</c>, or a <c>kubernetes.io/dockercfg</c> Secret with a non-empty <c>.dockercfg</c>. Any other
    /// combination yields no credentials (silently, for the kubelet; with a warning here).
    /// </summary>
    /// <returns>The entries and diagnostics.</returns>
    public DockerConfigReadResult ReadDockerConfig()
    {
        (string key, DockerConfigFormat format)? expected = Type switch
        {
            DockerConfigJsonType => (DockerConfigJsonKey, DockerConfigFormat.DockerConfigJson),
            DockerCfgType => (DockerCfgKey, DockerConfigFormat.DockerCfg),
            _ => null,
        };

        if (expected is null)
        {
            return Ignored("unsupported-secret-type",
                $"type '{Type}' is not a pull-secret type; the kubelet ignores it. Use type {DockerConfigJsonType} with key {DockerConfigJsonKey}.");
        }

        (string dataKey, DockerConfigFormat dataFormat) = expected.Value;
        if (!Data.TryGetValue(dataKey, out byte[]? content))
        {
            string others = Data.Count == 0 ? "no data" : $"only {string.Join(", ", Data.Keys.Order(StringComparer.Ordinal))}";
            return Ignored("missing-data-key",
                $"a {Type} Secret needs the key {dataKey} but has {others}; the kubelet ignores it. " +
                "('kubectl create secret --from-file' before 1.31 used the file's name as the key: pass --from-file=" + dataKey + "=PATH.)");
        }

        if (content.Length == 0)
        {
            return Ignored("empty-data", $"{dataKey} is empty; the kubelet ignores this Secret.");
        }

        return DockerConfigJson.Read(content, dataFormat, Reference, dataKey);
    }

    private DockerConfigReadResult Ignored(string code, string message) =>
        new(DockerConfig.Empty, [new Diagnostic(code, DiagnosticSeverity.Warning, message) { Subject = Reference }]);

    /// <summary>Shows the Secret's identity and type; never its data.</summary>
    /// <returns>For example <c>Secret ns/name (kubernetes.io/dockerconfigjson)</c>.</returns>
    public override string ToString() => $"{Reference} ({Type})";

    /// <inheritdoc/>
    public bool Equals(PullSecret? other) =>
        other is not null && Namespace == other.Namespace && Name == other.Name && Type == other.Type
        && Data.Count == other.Data.Count
        && Data.All(kv => other.Data.TryGetValue(kv.Key, out byte[]? v) && v.AsSpan().SequenceEqual(kv.Value));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as PullSecret);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Namespace, Name, Type);
}
