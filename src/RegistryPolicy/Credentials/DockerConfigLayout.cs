namespace RegistryPolicy.Credentials;

/// <summary>How <see cref="DockerConfigJson.Encode(string?, string, string, string?, DockerConfigLayout)"/> lays out an entry.</summary>
public enum DockerConfigLayout
{
    /// <summary>
    /// Exactly what <c>kubectl create secret docker-registry</c> writes:
    /// <c>{"auths":{"SERVER":{"username":...,"password":...,"email":...,"auth":...}}}</c>, email omitted when empty.
    /// </summary>
    Kubectl = 0,

    /// <summary>One entry with only <c>auth</c>: <c>{"auths":{"SERVER":{"auth":...}}}</c>, as Kyma's defaulting webhook writes it.</summary>
    AuthOnly = 1,
}
