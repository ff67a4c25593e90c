using System.Collections.Immutable;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.References;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Pulls;

/// <summary>Options for <see cref="PullEngine.Analyze(ClusterSnapshot, PullCoverageOptions)"/>. Immutable and thread-safe.</summary>
public sealed record PullCoverageOptions
{
    /// <summary>A pull policy applied where a container sets none (OpenFaaS's <c>functions.imagePullPolicy</c>); null for Kubernetes' default.</summary>
    public string? DefaultPullPolicy { get; init; }

    /// <summary>The namespaces where <see cref="DefaultPullPolicy"/> applies; null for all.</summary>
    public ImmutableHashSet<string>? DefaultPullPolicyNamespaces { get; init; }

    /// <summary>Registries whose images are public (anonymous pulls work), so a missing credential is not a finding.</summary>
    public ImmutableArray<string> PublicRegistries { get; init; } =
        ["docker.io", "quay.io", "ghcr.io", "registry.k8s.io", "k8s.gcr.io", "gcr.io", "mcr.microsoft.com", "public.ecr.aws", "registry.gitlab.com"];

    /// <summary>
    /// Registries or repository prefixes (<c>docker.io/alexellis2</c>, matched on path segments) whose images need a credential
    /// even on a public registry: a pull of them without one is a finding.
    /// </summary>
    public ImmutableArray<string> PrivateRepositories { get; init; } = [];
}

/// <summary>Which credential one container's image is pulled with, and what is wrong. Immutable and thread-safe.</summary>
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

    /// <summary>
    /// The <c>.dockerconfigjson</c> key of the chosen credential exactly as written in the pull secret (for example
    /// <c>https://index.docker.io/v1/</c>, where <see cref="CredentialKey"/> is <c>index.docker.io</c>), any URL userinfo hidden; or null.
    /// </summary>
    public string? CredentialServer { get; init; }
}

/// <summary>
/// For every Pod and workload of a snapshot, and every container: the effective pull secrets, the credential the kubelet
/// would pick for the image (keyring order), the effective pull policy, and findings. Kubernetes' rules: the ServiceAccount
/// (<c>default</c> when none is named) contributes its <c>imagePullSecrets</c> only to a pod that names none; a Secret that
/// does not exist, or is not of a pull-secret type, is skipped by the kubelet (with a warning event).
/// </summary>
internal static class PullCoverage
{
    /// <summary>Analyses every container of every workload, in snapshot order.</summary>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="options">The options.</param>
    /// <returns>One entry per container.</returns>
    public static ImmutableArray<ContainerPull> Analyze(ClusterSnapshot snapshot, PullCoverageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        options ??= new PullCoverageOptions();
        // Workloads of one namespace usually share their pull secrets (decided once per namespace and list of names), and
        // copies of one pull secret in many namespaces have the same content: decode each content once, and build one keyring
        // per list of contents, shared by every namespace with that list (the credential's Secret is then renamespaced).
        var perNamespace = new Dictionary<(string Namespace, ImmutableArray<string> Names), (CachedKeyring Keyring, List<(string Code, DiagnosticSeverity Severity, string Message)> Problems, bool Unreadable)>(NamesComparer.Instance);
        // Replicated workloads produce the same finding text: build each text once.
        var messages = new Dictionary<(string Container, string Image, string Linkable), string>();
        var keyrings = new Dictionary<string, CachedKeyring>(StringComparer.Ordinal);
        var decoded = new Dictionary<(string Type, SecretData Data), (DockerConfig Config, int Id, bool Unreadable)>();
        // Images repeat across replicas and workloads: parse each distinct image once.
        var images = new Dictionary<string, ImageFacts>(StringComparer.Ordinal);
        var publicRegistries = new HashSet<string>(options.PublicRegistries, StringComparer.Ordinal);
        var unlinked = new UnlinkedCredentials();
        int containers = 0;
        foreach (WorkloadObject workload in snapshot.Workloads)
        {
            containers += workload.Template.Containers.Count;
        }

        var results = ImmutableArray.CreateBuilder<ContainerPull>(containers);
        foreach (WorkloadObject workload in snapshot.Workloads)
        {
            string ns = workload.Namespace!;
            List<Diagnostic>? findings = null;
            var finding = new FindingFactory(snapshot, workload);

            ImmutableArray<string> names = workload.Template.ImagePullSecrets.Items;
            string accountName = workload.Template.ServiceAccountName ?? "default";
            ServiceAccountObject? account = snapshot.GetServiceAccount(ns, accountName);
            if (account is null && workload.Template.ServiceAccountName is not null && snapshot.ServiceAccounts.Any(a => a.Namespace == ns))
            {
                (findings ??= []).Add(finding.Make("service-account-missing", DiagnosticSeverity.Warning,
                    $"the ServiceAccount '{accountName}' is not in the snapshot; the API server refuses pods that name a missing ServiceAccount"));
            }

            if (names.IsEmpty && account is not null)
            {
                names = account.ImagePullSecrets.Items;
            }

            if (!perNamespace.TryGetValue((ns, names), out var cached))
            {
                var problems = new List<(string, DiagnosticSeverity, string)>();
                var configs = new List<(DockerConfig, ObjectReference?)>();
                bool unreadable = false;
                var contentKey = new System.Text.StringBuilder().AppendJoin('\0', names).Append('|');
                foreach (string name in names)
                {
                    SecretObject? secret = snapshot.GetSecret(ns, name);
                    if (secret is null)
                    {
                        string elsewhere = string.Join(", ", snapshot.GetSecretsNamed(name).Select(s => s.Namespace));
                        problems.Add(("pull-secret-missing", DiagnosticSeverity.Warning,
                            $"{name} (not found)" + (elsewhere.Length > 0 ? $": it exists only in {elsewhere}; pull secrets must be in the pod's namespace, so copy it" : "")));
                        contentKey.Append("-,");
                        continue;
                    }

                    if (secret.Type is not (PullSecret.DockerConfigJsonType or PullSecret.DockerCfgType))
                    {
                        problems.Add(("pull-secret-wrong-type", DiagnosticSeverity.Warning, $"{name} has type '{secret.Type}', which the kubelet ignores for pulls; use {PullSecret.DockerConfigJsonType}"));
                        contentKey.Append("-,");
                        continue;
                    }

                    if (!decoded.TryGetValue((secret.Type, secret.Data), out var content))
                    {
                        var pullSecret = new PullSecret(ns, name, secret.Type, secret.Data.RevealEntries().ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal));
                        DockerConfigReadResult read = pullSecret.ReadDockerConfig();
                        content = (read.Config, decoded.Count, read.HasErrors);
                        decoded[(secret.Type, secret.Data)] = content;
                    }

                    if (content.Unreadable)
                    {
                        // The kubelet's MakeDockerKeyring returns the decoding error: every pull of the pod fails, whatever the other secrets hold.
                        problems.Add(("pull-secret-unreadable", DiagnosticSeverity.Error,
                            $"{name} cannot be decoded as a pull secret (see 'registry-policy creds decode'); the kubelet fails every image pull of this pod, with any pull secret"));
                        unreadable = true;
                    }

                    configs.Add((content.Config, secret.Reference));
                    contentKey.Append(content.Id).Append(',');
                }

                string contents = contentKey.ToString();
                if (!keyrings.TryGetValue(contents, out CachedKeyring? keyring))
                {
                    keyring = new CachedKeyring(CredentialKeyring.Create(configs));
                    keyrings[contents] = keyring;
                }

                cached = (keyring, problems, unreadable);
                perNamespace[(ns, names)] = cached;
            }

            foreach (var (code, severity, message) in cached.Problems)
            {
                (findings ??= []).Add(finding.Make(code, severity, message));
            }

            ImmutableArray<Diagnostic> shared = findings is null ? [] : [.. findings];
            bool defaultApplies = options.DefaultPullPolicyNamespaces is not { } scope || scope.Contains(ns);
            foreach (ContainerSpec container in workload.Template.Containers)
            {
                if (!images.TryGetValue(container.Image, out ImageFacts facts))
                {
                    facts = ImageFacts.Of(container.Image);
                    images[container.Image] = facts;
                }

                KeyringMatch? chosen = cached.Unreadable ? null : cached.Keyring.Choose(container.Image, facts);
                string policy = container.ImagePullPolicy ?? (defaultApplies ? options.DefaultPullPolicy : null) ?? facts.DefaultPolicy;
                ImmutableArray<Diagnostic> own = shared;
                if (facts.Error is not null)
                {
                    own = own.Add(finding.Make("image-invalid", DiagnosticSeverity.Error, $"container '{container.Name}': the image '{container.Image}' is not a valid reference: {facts.Error}"));
                }
                else if (chosen is null && !cached.Unreadable)
                {
                    bool isPrivate = !publicRegistries.Contains(facts.Reference.Domain ?? string.Empty) || IsDeclaredPrivate(facts.Reference, options.PrivateRepositories);
                    // A credential for the image that is in the namespace but not used by the pod: "copied but not linked".
                    var candidate = unlinked.Find(snapshot, workload, names, account, container.Image, facts.Reference);
                    if (isPrivate)
                    {
                        string linkable = candidate?.Secret.Name ?? string.Empty;
                        if (!messages.TryGetValue((container.Name, container.Image, linkable), out string? message))
                        {
                            // The fix: link the credential the namespace already has (the next finding), else create one.
                            message = $"container '{container.Name}': none of the pod's pull secrets has a credential for '{facts.Reference.Domain}' (image {container.Image}); the pull is anonymous and a private registry refuses it. " +
                                (candidate is null
                                    ? $"Fix: create a pull secret for '{facts.Reference.Domain}' in the pod's namespace ('kubectl create secret docker-registry NAME --docker-server={facts.Reference.Domain} ...', or 'registry-policy encode') and list it in the pod's or its ServiceAccount's imagePullSecrets"
                                    : $"Fix: link '{linkable}', which has one (see credential-not-linked)");
                            messages[(container.Name, container.Image, linkable)] = message;
                        }

                        own = own.Add(finding.Make("no-credential", DiagnosticSeverity.Error, message));
                    }

                    if (candidate is { } found)
                    {
                        own = own.Add(finding.Make("credential-not-linked", isPrivate ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
                            UnlinkedCredentials.Message(workload, account, accountName, container.Name, facts.Reference.Domain ?? string.Empty, found, isPrivate)));
                    }
                }

                // The keyring may have been built for another namespace with the same pull secrets: the Secret is this namespace's.
                ObjectReference? credentialSecret = chosen?.Secret is { } source ? source with { Namespace = ns } : null;
                results.Add(new ContainerPull(workload.Reference, container, policy, names, chosen?.IndexKey, credentialSecret, own)
                {
                    CredentialFingerprint = chosen?.Credential.Fingerprint,
                    CredentialServer = chosen?.DisplayServer,
                });
            }
        }

        return results.Count == results.Capacity ? results.MoveToImmutable() : results.ToImmutable();
    }

    /// <summary>Whether a normalised reference is under one of the declared private registries or repository prefixes.</summary>
    private static bool IsDeclaredPrivate(ImageReference reference, ImmutableArray<string> prefixes)
    {
        if (prefixes.IsEmpty)
        {
            return false;
        }

        string name = reference.Name;
        foreach (string prefix in prefixes)
        {
            string p = prefix.TrimEnd('/');
            if (name.Equals(p, StringComparison.Ordinal) || (name.StartsWith(p, StringComparison.Ordinal) && name.Length > p.Length && name[p.Length] == '/'))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Pull secrets of a namespace that a pod does not use, and whether one has a credential for an image. Each Secret's
    /// keyring is built once, and each (namespace, pull-secret names, image) answered once, so the cost stays linear in the
    /// workloads for a given set of Secrets.
    /// </summary>
    private sealed class UnlinkedCredentials
    {
        /// <summary>How many pull secrets of one namespace are tried for an unlinked credential.</summary>
        public const int MaxCandidates = 64;

        private ILookup<string, SecretObject>? _pullSecrets;
        private readonly Dictionary<ObjectReference, CredentialKeyring?> _keyrings = [];
        private readonly Dictionary<(string Namespace, string Names, string Image), (SecretObject Secret, string Server)?> _answers = [];

        public (SecretObject Secret, string Server)? Find(ClusterSnapshot snapshot, WorkloadObject workload, ImmutableArray<string> names,
            ServiceAccountObject? account, string image, ImageReference reference)
        {
            _pullSecrets ??= snapshot.Secrets.Where(s => s.Type is PullSecret.DockerConfigJsonType or PullSecret.DockerCfgType).ToLookup(s => s.Namespace!, StringComparer.Ordinal);
            string ns = workload.Namespace!;
            var key = (ns, string.Join('\0', names), image);
            if (_answers.TryGetValue(key, out var answer))
            {
                return answer;
            }

            answer = null;
            // At most the first MaxCandidates pull secrets of a namespace (by name) are tried: each image is then answered in
            // bounded time, so a namespace of thousands of Secrets and images stays linear. Real namespaces hold a handful.
            foreach (SecretObject secret in _pullSecrets[ns].Take(MaxCandidates))
            {
                if (names.Contains(secret.Name))
                {
                    continue;
                }

                if (!_keyrings.TryGetValue(secret.Reference, out CredentialKeyring? keyring))
                {
                    var pullSecret = new PullSecret(ns, secret.Name, secret.Type, secret.Data.RevealEntries().ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal));
                    DockerConfigReadResult read = pullSecret.ReadDockerConfig();
                    keyring = read.HasErrors ? null : CredentialKeyring.Create(new List<(DockerConfig, ObjectReference?)> { (read.Config, secret.Reference) });
                    _keyrings[secret.Reference] = keyring;
                }

                if (keyring?.Lookup(reference) is { Found: true } lookup)
                {
                    answer = (secret, lookup.Matches[0].DisplayServer);
                    break;
                }
            }

            _answers[key] = answer;
            return answer;
        }

        public static string Message(WorkloadObject workload, ServiceAccountObject? account, string accountName, string container, string domain,
            (SecretObject Secret, string Server) candidate, bool isPrivate)
        {
            string ns = workload.Namespace!;
            string what = $"container '{container}': the pull secret '{candidate.Secret.Name}' in this namespace has a credential for '{domain}' (key '{candidate.Server}') " +
                $"but the pod does not use it (copied but not linked){(isPrivate ? "" : "; the pull is anonymous, so rate limits apply")}";
            if (!workload.Template.ImagePullSecrets.IsEmpty)
            {
                return what + $"; the pod names its own imagePullSecrets, so add '{candidate.Secret.Name}' to them in the {workload.Kind}'s pod template";
            }

            // Append when the ServiceAccount has a list, else create it: 'add /imagePullSecrets/-' fails on a missing list, and
            // only then is the list created. So fixes run one after another never undo each other (adding the whole array
            // to a list that an earlier fix created would replace it).
            string value = $"{{\"name\":{System.Text.Json.Nodes.JsonValue.Create(candidate.Secret.Name).ToJsonString()}}}";
            string[] patch = ["kubectl", "patch", "-n", ns, "serviceaccount/" + accountName, "--type=json", "-p"];
            string append = Primitives.ShellWords.Join([.. patch, $"[{{\"op\":\"add\",\"path\":\"/imagePullSecrets/-\",\"value\":{value}}}]"]);
            string create = Primitives.ShellWords.Join([.. patch, $"[{{\"op\":\"add\",\"path\":\"/imagePullSecrets\",\"value\":[{value}]}}]"]);
            return what + "; link it to the ServiceAccount: " + (account is { ImagePullSecrets.Count: > 0 } ? append : $"{append} || {create}");
        }
    }

    /// <summary>Makes a workload's findings, looking its location up once (a struct: no allocation per workload).</summary>
    private struct FindingFactory(ClusterSnapshot snapshot, WorkloadObject workload)
    {
        private SourceLocation? _location;
        private bool _located;

        public Diagnostic Make(string code, DiagnosticSeverity severity, string message)
        {
            if (!_located)
            {
                _location = snapshot.LocationOf(workload.Reference);
                _located = true;
            }

            return new(code, severity, message) { Subject = workload.Reference, Location = _location };
        }
    }

    /// <summary>Compares (namespace, pull-secret names) keys by content, without building a string per workload.</summary>
    private sealed class NamesComparer : IEqualityComparer<(string Namespace, ImmutableArray<string> Names)>
    {
        public static readonly NamesComparer Instance = new();

        public bool Equals((string Namespace, ImmutableArray<string> Names) x, (string Namespace, ImmutableArray<string> Names) y) =>
            string.Equals(x.Namespace, y.Namespace, StringComparison.Ordinal) &&
            (x.Names == y.Names || x.Names.AsSpan().SequenceEqual(y.Names.AsSpan()));

        public int GetHashCode((string Namespace, ImmutableArray<string> Names) key)
        {
            var hash = new HashCode();
            hash.Add(key.Namespace, StringComparer.Ordinal);
            foreach (string name in key.Names)
            {
                hash.Add(name, StringComparer.Ordinal);
            }

            return hash.ToHashCode();
        }
    }

    /// <summary>What one image string gives, parsed once per analysis.</summary>
    private readonly record struct ImageFacts(ImageReference Reference, string? Error, string DefaultPolicy)
    {
        public static ImageFacts Of(string image) =>
            ImageReference.TryParseNormalized(image, out ImageReference reference, out ReferenceError error)
                ? new ImageFacts(reference, null, PullCoverage.DefaultPolicy(image))
                : new ImageFacts(default, error.ToString(), PullCoverage.DefaultPolicy(image));
    }

    /// <summary>A keyring for one list of pull-secret names and contents, with the credential it chose for each image so far.</summary>
    private sealed class CachedKeyring(CredentialKeyring keyring)
    {
        private readonly Dictionary<string, KeyringMatch?> _chosen = new(StringComparer.Ordinal);

        public KeyringMatch? Choose(string image, ImageFacts facts)
        {
            if (facts.Error is not null)
            {
                return null;
            }

            if (!_chosen.TryGetValue(image, out KeyringMatch? chosen))
            {
                KeyringLookup lookup = keyring.Lookup(facts.Reference);
                chosen = lookup.Found ? lookup.Matches[0] : null;
                _chosen[image] = chosen;
            }

            return chosen;
        }
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
