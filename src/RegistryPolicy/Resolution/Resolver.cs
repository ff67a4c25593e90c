using System.Collections.Immutable;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Resolution;

/// <summary>The Secrets as the evaluated view sees them: the snapshot, with the plan applied for the converged view.</summary>
internal sealed class SecretView
{
    private readonly ClusterSnapshot _snapshot;
    private readonly Dictionary<(string, string), SecretObject?> _overlay = [];
    private readonly Dictionary<string, List<SecretObject?>> _overlayByNamespace = new(StringComparer.Ordinal);

    public SecretView(ClusterSnapshot snapshot, PropagationPlan? applied)
    {
        _snapshot = snapshot;
        foreach (PlanAction action in applied?.Actions ?? [])
        {
            SecretObject? after = action.Desired is { } d && !(d.Metadata.IsDeleting && d.Metadata.Finalizers.Count == 0) ? d : null;
            _overlay[(action.Secret.Namespace, action.Secret.Name)] = after;
        }
    }

    public SecretObject? Get(string ns, string name) =>
        _overlay.TryGetValue((ns, name), out SecretObject? o) ? o : _snapshot.GetSecret(ns, name);

    public IEnumerable<SecretObject> In(string ns)
    {
        var names = new SortedSet<string>(_snapshot.GetSecretsIn(ns).Select(s => s.Name), StringComparer.Ordinal);
        foreach (var ((n, name), _) in _overlay)
        {
            if (n == ns)
            {
                names.Add(name);
            }
        }

        foreach (string name in names)
        {
            if (Get(ns, name) is { } secret)
            {
                yield return secret;
            }
        }
    }
}

/// <summary>Resolves one namespace: the first candidate found wins; the trace records every step.</summary>
internal sealed class Resolver(CompiledPolicy policy, SecretView view, EvaluationView mode, ILookup<string, PlanAction> actionsByNamespace)
{
    private readonly ResolutionRule? _rule = policy.Document.Spec.Resolution;

    public NamespaceResolution Resolve(NamespaceObject ns)
    {
        var trace = ImmutableArray.CreateBuilder<TraceStep>();
        foreach (PlanAction action in actionsByNamespace[ns.Name])
        {
            trace.Add(new TraceStep($"propagation '{action.Rule}'", TraceOutcome.Note,
                (mode == EvaluationView.Converged ? "applied in this view: " : "pending, not applied in this view: ") + action));
        }

        if (_rule is null)
        {
            return new NamespaceResolution { Namespace = ns.Name, Source = ResolutionSource.None, Reason = "the policy has no resolution rule", Trace = trace.ToImmutable() };
        }

        for (int i = 0; i < policy.Candidates.Length; i++)
        {
            CompiledCandidate candidate = policy.Candidates[i];
            string step = $"candidate {i + 1}: {candidate.Describe()}";
            SecretObject? secret = Find(ns.Name, candidate, out string? miss);
            if (secret is null)
            {
                trace.Add(new TraceStep(step, TraceOutcome.Skipped, miss!));
                continue;
            }

            (ResolutionSource source, string why) = Classify(candidate.Candidate, secret);
            trace.Add(new TraceStep(step, TraceOutcome.Applied, $"found {secret.Reference}; {why}"));
            for (int j = i + 1; j < policy.Candidates.Length; j++)
            {
                trace.Add(new TraceStep($"candidate {j + 1}: {policy.Candidates[j].Describe()}", TraceOutcome.Skipped, "not looked at: an earlier candidate applied"));
            }

            return Read(ns.Name, candidate.Candidate, secret, source, why, trace);
        }

        return new NamespaceResolution
        {
            Namespace = ns.Name,
            Source = ResolutionSource.None,
            Reason = _rule.NotFoundReason,
            Trace = trace.ToImmutable(),
        };
    }

    private SecretObject? Find(string ns, CompiledCandidate candidate, out string? miss)
    {
        if (candidate.Candidate.Name is { } name)
        {
            SecretObject? secret = view.Get(ns, name);
            if (secret is null)
            {
                miss = $"{ns}/{name} does not exist{(mode == EvaluationView.Converged ? " (after propagation)" : "")}";
                return null;
            }

            if (candidate.Selector is { } selector && !selector.Matches(secret.Metadata.Labels))
            {
                miss = $"{ns}/{name} exists but its labels do not match {selector.Text}";
                return null;
            }

            miss = null;
            return secret;
        }

        SecretObject? match = view.In(ns).FirstOrDefault(s => candidate.Selector!.Matches(s.Metadata.Labels));
        miss = match is null ? $"no Secret in {ns} has labels {candidate.Selector!.Text}" : null;
        return match;
    }

    private (ResolutionSource Source, string Why) Classify(ResolutionCandidate candidate, SecretObject secret)
    {
        foreach (CompiledPropagation rule in policy.Propagation)
        {
            if (candidate.SourceWhenShielded is { } shieldedSource && Planner.IsShielded(rule, secret))
            {
                return (shieldedSource, $"it is shielded from propagation ({rule.Shield!.Text}), so it counts as {Name(shieldedSource)}");
            }
        }

        if (candidate.SourceWhenPropagated is { } propagatedSource)
        {
            foreach (CompiledPropagation rule in policy.Propagation)
            {
                if (secret.Namespace == rule.Rule.Base.Namespace && Planner.IsBase(rule, secret))
                {
                    return (propagatedSource, $"it is itself a base of rule '{rule.Rule.Name}', so it counts as {Name(propagatedSource)}");
                }

                if (view.Get(rule.Rule.Base.Namespace, secret.Name) is { } baseSecret && Planner.IsBase(rule, baseSecret) && !baseSecret.Metadata.IsDeleting &&
                    Planner.CopyOf(rule, baseSecret, secret.Namespace!, secret).Equals(secret))
                {
                    return (propagatedSource, $"it is a copy of the base {baseSecret.Reference} (rule '{rule.Rule.Name}'), so it counts as {Name(propagatedSource)}");
                }
            }
        }

        return (candidate.Source, $"it counts as {Name(candidate.Source)}");
    }

    private static string Name(ResolutionSource source) => source switch
    {
        ResolutionSource.UserManaged => "user-managed",
        ResolutionSource.ClusterWide => "cluster-wide",
        ResolutionSource.Namespace => "namespace",
        ResolutionSource.Default => "default",
        _ => "none",
    };

    private NamespaceResolution Read(string ns, ResolutionCandidate candidate, SecretObject secret, ResolutionSource source, string why,
        ImmutableArray<TraceStep>.Builder trace)
    {
        ResolutionKeys keys = _rule!.Keys;
        SecretData data = secret.Data;
        string? push = null, pull = null;
        for (int k = 0; k < candidate.Addresses.Length; k++)
        {
            AddressRule rule = candidate.Addresses[k];
            if (rule.When is { } when && !Holds(when, data, out string test))
            {
                trace.Add(new TraceStep($"address rule {k + 1}", TraceOutcome.Skipped, test));
                continue;
            }

            string condition = rule.When is null ? "no condition" : Describe(rule.When, data);
            push = Value(data, rule.Push, "push", trace);
            pull = Value(data, rule.Pull, "pull", trace);
            trace.Add(new TraceStep($"address rule {k + 1}", TraceOutcome.Applied, $"{condition}: push address from '{rule.Push}', pull address from '{rule.Pull}'"));
            break;
        }

        string? username = data.TryGetString(keys.Username, out string u) ? u : null;
        string? fingerprint = data.TryGetString(keys.Password, out string password) ? RegistryCredential.FingerprintOf(password) : null;
        string? server = data.TryGetString(keys.ServerAddress, out string s) ? s : null;
        if (fingerprint is null && data.TryGetBytes(keys.DockerConfigJson, out ReadOnlyMemory<byte> json))
        {
            var config = DockerConfigJson.Decode(json.Span, DockerConfigFormat.DockerConfigJson, secret.Reference, keys.DockerConfigJson).Config;
            DockerConfigEntry? entry = config.Entries.FirstOrDefault(e => e.Server == server) ?? (config.Entries.Count > 0 ? config.Entries[0] : null);
            if (entry is not null)
            {
                fingerprint = entry.Credential.Fingerprint;
                username ??= entry.Credential.Username;
                trace.Add(new TraceStep("credential", TraceOutcome.Note, $"no '{keys.Password}' key: the credential is the {keys.DockerConfigJson} entry for '{entry.Server}'"));
            }
        }

        return new NamespaceResolution
        {
            Namespace = ns,
            Source = source,
            Secret = new SecretReference(secret.Namespace!, secret.Name),
            PushAddress = push ?? string.Empty,
            PullAddress = pull ?? string.Empty,
            RegistryAddress = data.TryGetString(keys.RegistryAddress, out string r) ? r : null,
            ServerAddress = server,
            Username = username,
            CredentialFingerprint = fingerprint,
            Reason = $"{secret.Reference}: {why}",
            Trace = trace.ToImmutable(),
        };
    }

    private static string? Value(SecretData data, string key, string what, ImmutableArray<TraceStep>.Builder trace)
    {
        if (data.TryGetString(key, out string value))
        {
            return value;
        }

        trace.Add(new TraceStep($"{what} address", TraceOutcome.Note, $"the key '{key}' is missing, so the {what} address is empty (nothing validates this; Kyma then builds the image name '/<namespace>-<function>:<tag>')"));
        return string.Empty;
    }

    internal static bool Holds(KeyCondition when, SecretData data, out string description)
    {
        bool present = data.TryGetString(when.Key, out string value);
        bool holds = when.EqualsValue is { } expected ? present && value == expected : present == (when.Exists ?? true);
        description = holds ? Describe(when, data) : when.EqualsValue is not null
            ? $"'{when.Key}' is {(present ? "not exactly" : "absent, not")} \"{when.EqualsValue}\""
            : $"'{when.Key}' is {(present ? "present" : "absent")}";
        return holds;
    }

    private static string Describe(KeyCondition when, SecretData data) =>
        when.EqualsValue is not null ? $"'{when.Key}' is exactly \"{when.EqualsValue}\"" : $"'{when.Key}' is {(data.ContainsKey(when.Key) ? "present" : "absent")}";
}
