using System.Collections.Immutable;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.References;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Credentials;

/// <summary>Options for <see cref="PullCoverage.Analyze"/>.</summary>
public sealed record PullCoverageOptions
{
    /// <summary>A pull policy applied where a container sets none (OpenFaaS's <c>functions.imagePullPolicy</c>); null for Kubernetes' default.</summary>
    public string? DefaultPullPolicy { get; init; }

    /// <summary>The namespaces where <see cref="DefaultPullPolicy"/> applies; null for all.</summary>
    public ImmutableHashSet<string>? DefaultPullPolicyNamespaces { get; init; }

    /// <summary>Registries whose images are public (anonymous pulls work), so a missing credential is not a finding.</summary>
    public ImmutableArray<string> PublicRegistries { get; init; } =
        ["docker.io", "quay.io", "ghcr.io", "registry.k8s.io", "k8s.gcr.io", "gcr.io", "mcr.microsoft.com", "public.ecr.aws", "registry.gitlab.com"];
}

/// <summary>Which credential one container's image is pulled with, and what is wrong.</summary>
/// <param name="Workload">The Pod or workload.</param>
/// <param name="Container">The container.</param>
/// <param name="PullPolicy">The effective <c>imagePullPolicy</c>.</param>
/// <param name="PullSecrets">The pull secrets the pod uses, in order (its own, or its ServiceAccount's when it names none).</param>
/// <param name="CredentialKey">The <c>.dockerconfigjson</c> key of the credential the kubelet tries first, or null.</param>
/// <param name="CredentialSecret">The Secret that credential comes from.</param>
/// <param name="Findings">Problems, each naming the workload, container and image.</param>
public sealed record ContainerPull(ObjectReference Workload, ContainerSpec Container, string PullPolicy, ImmutableArray<string> PullSecrets,
    string? CredentialKey, ObjectReference? CredentialSecret, ImmutableArray<Diagnostic> Findings)
{
    /// <summary>The chosen credential's password fingerprint, or <see langword="null"/>.</summary>
    public string? CredentialFingerprint { get; init; }
}

/// <summary>
/// For every Pod and workload of a snapshot, and every container: the effective pull secrets, the credential the kubelet
/// would pick for the image (keyring order), the effective pull policy, and findings. Kubernetes' rules: the ServiceAccount
/// (<c>default</c> when none is named) contributes its <c>imagePullSecrets</c> only to a pod that names none; a Secret that
/// does not exist, or is not of a pull-secret type, is skipped by the kubelet (with a warning event).
/// </summary>
public static class PullCoverage
{
    /// <summary>Analyses every container of every workload, in snapshot order.</summary>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="options">The options.</param>
    /// <returns>One entry per container.</returns>
    public static ImmutableArray<ContainerPull> Analyze(ClusterSnapshot snapshot, PullCoverageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        options ??= new PullCoverageOptions();
        var results = ImmutableArray.CreateBuilder<ContainerPull>();
        // Workloads of one namespace usually share their pull secrets: decode each set once.
        var keyrings = new Dictionary<string, (CredentialKeyring Keyring, List<(string Code, string Message)> Problems)>(StringComparer.Ordinal);
        foreach (WorkloadObject workload in snapshot.Workloads)
        {
            string ns = workload.Namespace!;
            var findings = new List<Diagnostic>();
            Diagnostic Finding(string code, DiagnosticSeverity severity, string message) =>
                new(code, severity, message) { Subject = workload.Reference, Location = snapshot.LocationOf(workload.Reference) };

            ImmutableArray<string> names = workload.Template.ImagePullSecrets.Items;
            string accountName = workload.Template.ServiceAccountName ?? "default";
            ServiceAccountObject? account = snapshot.GetServiceAccount(ns, accountName);
            if (account is null && workload.Template.ServiceAccountName is not null && snapshot.ServiceAccounts.Any(a => a.Namespace == ns))
            {
                findings.Add(Finding("service-account-missing", DiagnosticSeverity.Warning,
                    $"the ServiceAccount '{accountName}' is not in the snapshot; the API server refuses pods that name a missing ServiceAccount"));
            }

            if (names.IsEmpty && account is not null)
            {
                names = account.ImagePullSecrets.Items;
            }

            string cacheKey = ns + "\0" + string.Join('\0', names);
            if (!keyrings.TryGetValue(cacheKey, out var cached))
            {
                var problems = new List<(string, string)>();
                var secrets = new List<PullSecret>();
                foreach (string name in names)
                {
                    SecretObject? secret = snapshot.GetSecret(ns, name);
                    if (secret is null)
                    {
                        string elsewhere = string.Join(", ", snapshot.GetSecretsNamed(name).Select(s => s.Namespace));
                        problems.Add(("pull-secret-missing",
                            $"{name} (not found)" + (elsewhere.Length > 0 ? $": it exists only in {elsewhere}; pull secrets must be in the pod's namespace, so copy it" : "")));
                        continue;
                    }

                    if (secret.Type is not (PullSecret.DockerConfigJsonType or PullSecret.DockerCfgType))
                    {
                        problems.Add(("pull-secret-wrong-type", $"{name} has type '{secret.Type}', which the kubelet ignores for pulls; use {PullSecret.DockerConfigJsonType}"));
                        continue;
                    }

                    secrets.Add(new PullSecret(ns, name, secret.Type, secret.Data.RevealEntries().ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal)));
                }

                cached = (CredentialKeyring.Create(secrets), problems);
                keyrings[cacheKey] = cached;
            }

            findings.AddRange(cached.Problems.Select(p => Finding(p.Code, DiagnosticSeverity.Warning, p.Message)));
            bool defaultApplies = options.DefaultPullPolicyNamespaces is not { } scope || scope.Contains(ns);
            CredentialKeyring keyring = cached.Keyring;
            foreach (ContainerSpec container in workload.Template.Containers)
            {
                var own = new List<Diagnostic>(findings);
                KeyringLookup lookup = keyring.Lookup(container.Image);
                KeyringMatch? chosen = lookup.Found ? lookup.Matches[0] : null;
                string policy = container.ImagePullPolicy ?? (defaultApplies ? options.DefaultPullPolicy : null) ?? DefaultPolicy(container.Image);
                if (lookup.Error is not null)
                {
                    own.Add(Finding("image-invalid", DiagnosticSeverity.Error, $"container '{container.Name}': the image '{container.Image}' is not a valid reference: {lookup.Error}"));
                }
                else if (chosen is null && ImageReference.TryParseNormalized(container.Image, out ImageReference image, out _) &&
                         !options.PublicRegistries.Contains(image.Domain ?? string.Empty))
                {
                    own.Add(Finding("no-credential", DiagnosticSeverity.Error,
                        $"container '{container.Name}': no pull secret has a credential for '{image.Domain}' (image {container.Image}); the pull is anonymous and a private registry refuses it"));
                }

                results.Add(new ContainerPull(workload.Reference, container, policy, names, chosen?.IndexKey, chosen?.Secret, [.. own])
                {
                    CredentialFingerprint = chosen?.Credential.Fingerprint,
                });
            }
        }

        return results.ToImmutable();
    }

    /// <summary>Kubernetes' default <c>imagePullPolicy</c>: <c>Always</c> for <c>:latest</c> or no tag (without a digest), else <c>IfNotPresent</c>.</summary>
    /// <param name="image">The image.</param>
    /// <returns>The policy.</returns>
    public static string DefaultPolicy(string image)
    {
        if (!ImageReference.TryParse(image, out ImageReference reference, out _))
        {
            return "IfNotPresent";
        }

        return reference.Digest is null && (reference.Tag is null or "latest") ? "Always" : "IfNotPresent";
    }
}
