using System.Collections.Immutable;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Resolution;

/// <summary>
/// Resolves one namespace: the first candidate found wins. Runs without text by default; the trace (and the reason) are
/// produced by running the same decision again with tracing on, when someone reads them.
/// </summary>
internal sealed class Resolver(CompiledPolicy policy, SecretView view, EvaluationView mode, ILookup<string, PlanAction> actionsByNamespace,
    ILookup<string?, ServiceAccountPatch>? patchesByNamespace = null, ResolverCaches? caches = null)
{
    private readonly ResolutionRule? _rule = policy.Document.Spec.Resolution;

    private readonly TextCache _text = (caches ??= new ResolverCaches()).Text;
    private readonly Dictionary<(int Kind, int Rule, SecretReference? Base, ResolutionSource Source), string> _why = caches.Why;

    /// <summary>The namespace's resolution, with its reason (shared text, so that resolving many namespaces allocates little).</summary>
    public NamespaceResolution Resolve(NamespaceObject ns) => Resolve(ns, null);

    /// <summary>The namespace's resolution and every step of the decision.</summary>
    public NamespaceExplanation Explain(NamespaceObject ns)
    {
        var trace = ImmutableArray.CreateBuilder<TraceStep>();
        NamespaceResolution resolution = Resolve(ns, trace);
        return new NamespaceExplanation(resolution, new ValueArray<TraceStep>(trace.ToImmutable()));
    }

    private NamespaceResolution Resolve(NamespaceObject ns, ImmutableArray<TraceStep>.Builder? trace)
    {
        if (trace is not null)
        {
            foreach (PlanAction action in actionsByNamespace[ns.Name])
            {
                trace.Add(new TraceStep($"propagation '{action.Rule}'", TraceOutcome.Note,
                    (mode == EvaluationView.Converged ? "applied in this view: " : "pending, not applied in this view: ") + action));
            }

            foreach (ServiceAccountPatch patch in patchesByNamespace?[ns.Name] ?? [])
            {
                trace.Add(new TraceStep($"ServiceAccount link '{patch.Rule}'", TraceOutcome.Note,
                    (mode == EvaluationView.Converged ? "applied in this view: " : "pending, not applied in this view: ") + patch));
            }
        }

        if (_rule is null)
        {
            return new NamespaceResolution { Namespace = ns.Name, Source = ResolutionSource.None, Reason = "the policy has no resolution rule" };
        }

        for (int i = 0; i < policy.Candidates.Length; i++)
        {
            CompiledCandidate candidate = policy.Candidates[i];
            SecretObject? secret = Find(ns.Name, candidate, trace is not null, out string? miss);
            if (secret is null)
            {
                trace?.Add(new TraceStep($"candidate {i + 1}: {candidate.Describe()}", TraceOutcome.Skipped, miss!));
                continue;
            }

            (ResolutionSource source, string why) = Classify(candidate.Candidate, secret);
            if (trace is not null)
            {
                trace.Add(new TraceStep($"candidate {i + 1}: {candidate.Describe()}", TraceOutcome.Applied, $"found {secret.Reference}; {why}"));
                for (int j = i + 1; j < policy.Candidates.Length; j++)
                {
                    trace.Add(new TraceStep($"candidate {j + 1}: {policy.Candidates[j].Describe()}", TraceOutcome.Skipped, "not looked at: an earlier candidate applied"));
                }
            }

            return Read(ns, i, candidate.Candidate, secret, source, why, trace);
        }

        return new NamespaceResolution
        {
            Namespace = ns.Name,
            Source = ResolutionSource.None,
            Reason = _rule.NotFoundReason,
        };
    }

    private SecretObject? Find(string ns, CompiledCandidate candidate, bool explain, out string? miss)
    {
        if (candidate.Candidate.Name is { } name)
        {
            SecretObject? secret = view.Get(ns, name);
            if (secret is null)
            {
                miss = explain ? $"{ns}/{name} does not exist{(mode == EvaluationView.Converged ? " (after propagation)" : "")}" : null;
                return null;
            }

            if (candidate.Selector is { } selector && !selector.Matches(secret.Metadata.Labels))
            {
                miss = explain ? $"{ns}/{name} exists but its labels do not match {selector.Text}" : null;
                return null;
            }

            miss = null;
            return secret;
        }

        return FindBySelector(ns, candidate, explain, out miss);
    }

    /// <summary>The first Secret (by name) whose labels match; separate so that the named path allocates no closure.</summary>
    private SecretObject? FindBySelector(string ns, CompiledCandidate candidate, bool explain, out string? miss)
    {
        SecretObject? match = null;
        foreach (SecretObject secret in view.In(ns))
        {
            if (candidate.Selector!.Matches(secret.Metadata.Labels))
            {
                match = secret;
                break;
            }
        }

        miss = match is null && explain ? $"no Secret in {ns} has labels {candidate.Selector!.Text}" : null;
        return match;
    }

    private (ResolutionSource Source, string Why) Classify(ResolutionCandidate candidate, SecretObject secret)
    {
        for (int r = 0; r < policy.Propagation.Length; r++)
        {
            CompiledPropagation rule = policy.Propagation[r];
            if (candidate.SourceWhenShielded is { } shieldedSource && Planner.IsShielded(rule, secret))
            {
                return (shieldedSource, Why(WhyKind.Shielded, r, null, shieldedSource));
            }
        }

        if (candidate.SourceWhenPropagated is { } propagatedSource)
        {
            for (int r = 0; r < policy.Propagation.Length; r++)
            {
                CompiledPropagation rule = policy.Propagation[r];
                if (secret.Namespace == rule.Rule.Base.Namespace && Planner.IsBase(rule, secret))
                {
                    return (propagatedSource, Why(WhyKind.Base, r, null, propagatedSource));
                }

                if (BaseOf(rule, secret) is { } baseSecret)
                {
                    return (propagatedSource, Why(WhyKind.Copy, r, new SecretReference(baseSecret.Namespace!, baseSecret.Name), propagatedSource));
                }
            }
        }

        return (candidate.Source, Why(WhyKind.Plain, 0, null, candidate.Source));
    }

    /// <summary>The reason text of one kind of decision, built once per evaluation and shared by every namespace it applies to.</summary>
    private string Why(WhyKind kind, int rule, SecretReference? baseSecret, ResolutionSource source)
    {
        if (!_why.TryGetValue(((int)kind, rule, baseSecret, source), out string? why))
        {
            why = WhyText(kind, policy.Propagation.IsEmpty ? null : policy.Propagation[rule], baseSecret, source);
            _why[((int)kind, rule, baseSecret, source)] = why;
        }

        return why;
    }

    private static string WhyText(WhyKind kind, CompiledPropagation? rule, SecretReference? baseSecret, ResolutionSource source) => kind switch
    {
        WhyKind.Shielded => $"it is shielded from propagation ({rule!.Shield!.Text}), so it counts as {Name(source)}",
        WhyKind.Base => $"it is itself a base of rule '{rule!.Rule.Name}', so it counts as {Name(source)}",
        WhyKind.Copy => $"it is a copy of the base {new ObjectReference("Secret", baseSecret!.Value.Namespace, baseSecret.Value.Name)} (rule '{rule!.Rule.Name}'), so it counts as {Name(source)}",
        _ => $"it counts as {Name(source)}",
    };

    private enum WhyKind
    {
        Shielded,
        Base,
        Copy,
        Plain,
    }

    /// <summary>The live base of which <paramref name="secret"/> is an exact copy under <paramref name="rule"/>, if any.</summary>
    private SecretObject? BaseOf(CompiledPropagation rule, SecretObject secret)
    {
        static bool Live(CompiledPropagation rule, SecretObject b) => Planner.IsBase(rule, b) && !b.Metadata.IsDeleting;
        if (!rule.Renames)
        {
            return view.Get(rule.Rule.Base.Namespace, secret.Name) is { } b && Live(rule, b) && Planner.IsCopyOf(rule, b, secret) ? b : null;
        }

        foreach (SecretObject b in view.In(rule.Rule.Base.Namespace))
        {
            if (Live(rule, b) && Planner.IsCopyOf(rule, b, secret))
            {
                return b;
            }
        }

        return null;
    }

    private static string Name(ResolutionSource source) => PolicyNames.Of(source);

    /// <summary>What a candidate reads from one Secret content: copies of one Secret in many namespaces share it.</summary>
    internal readonly record struct Fields(string? Push, string? Pull, string? Registry, string? Server, string? Username, string? Fingerprint);

    private readonly Dictionary<(int Candidate, SecretData Data), Fields> _fields = caches.Fields;

    private NamespaceResolution Read(NamespaceObject nsObject, int index, ResolutionCandidate candidate, SecretObject secret, ResolutionSource source, string why,
        ImmutableArray<TraceStep>.Builder? trace)
    {
        if (trace is null)
        {
            if (!_fields.TryGetValue((index, secret.Data), out Fields fields))
            {
                fields = ReadFields(candidate, secret, trace: null);
                if (_fields.Count < 65_536)
                {
                    _fields[(index, secret.Data)] = fields;
                }
            }

            return Result(nsObject, secret, source, why, fields);
        }

        return Result(nsObject, secret, source, why, ReadFields(candidate, secret, trace));
    }

    private static NamespaceResolution Result(NamespaceObject nsObject, SecretObject secret, ResolutionSource source, string why, Fields fields) => new()
    {
        Namespace = nsObject.Name,
        Source = source,
        Secret = new SecretReference(secret.Namespace!, secret.Name),
        PushAddress = fields.Push ?? string.Empty,
        PullAddress = fields.Pull ?? string.Empty,
        RegistryAddress = fields.Registry,
        ServerAddress = fields.Server,
        Username = fields.Username,
        CredentialFingerprint = fields.Fingerprint,
        Reason = why,
    };

    private Fields ReadFields(ResolutionCandidate candidate, SecretObject secret, ImmutableArray<TraceStep>.Builder? trace)
    {
        ResolutionKeys keys = _rule!.Keys;
        SecretData data = secret.Data;
        string? push = null, pull = null;
        for (int k = 0; k < candidate.Addresses.Length; k++)
        {
            AddressRule rule = candidate.Addresses[k];
            if (rule.When is { } when && !Holds(when, data))
            {
                trace?.Add(new TraceStep($"address rule {k + 1}", TraceOutcome.Skipped, Describe(when, data, holds: false)));
                continue;
            }

            push = Value(data, rule.Push, "push", trace, _text);
            pull = Value(data, rule.Pull, "pull", trace, _text);
            trace?.Add(new TraceStep($"address rule {k + 1}", TraceOutcome.Applied,
                $"{(rule.When is null ? "no condition" : Describe(rule.When, data, holds: true))}: push address from '{rule.Push}', pull address from '{rule.Pull}'"));
            break;
        }

        string? username = _text.Get(data, keys.Username);
        string? fingerprint = null;
        bool hasPassword = data.TryGetBytes(keys.Password, out ReadOnlyMemory<byte> password);
        string? server = _text.Get(data, keys.ServerAddress);
        if (!hasPassword && data.TryGetBytes(keys.DockerConfigJson, out ReadOnlyMemory<byte> json))
        {
            var config = DockerConfigJson.Read(json.Span, DockerConfigFormat.DockerConfigJson, secret.Reference, keys.DockerConfigJson).Config;
            DockerConfigEntry? entry = config.Entries.FirstOrDefault(e => e.Server == server) ?? (config.Entries.Count > 0 ? config.Entries[0] : null);
            if (entry is not null)
            {
                fingerprint = entry.Credential.Fingerprint;
                username ??= entry.Credential.Username;
                trace?.Add(new TraceStep("credential", TraceOutcome.Note, $"no '{keys.Password}' key: the credential is the {keys.DockerConfigJson} entry for '{entry.Server}'"));
            }
        }

        if (hasPassword)
        {
            fingerprint = data.FingerprintOf(keys.Password); // once per distinct content (copies share these fields), remembered with the content
        }

        return new Fields(push, pull, _text.Get(data, keys.RegistryAddress), server, username, fingerprint);
    }

    private static string? Value(SecretData data, string key, string what, ImmutableArray<TraceStep>.Builder? trace, TextCache text)
    {
        if (text.Get(data, key) is { } value)
        {
            return value;
        }

        trace?.Add(new TraceStep($"{what} address", TraceOutcome.Note, $"the key '{key}' is missing, so the {what} address is empty (nothing validates this; Kyma then builds the image name '/<namespace>-<function>:<tag>')"));
        return string.Empty;
    }

    internal static bool Holds(KeyCondition when, SecretData data)
    {
        if (when.EqualsValue is { } expected)
        {
            return data.TryGetBytes(when.Key, out ReadOnlyMemory<byte> value) && Equal(value.Span, expected);
        }

        return data.ContainsKey(when.Key) == (when.Exists ?? true);
    }

    /// <summary>Byte-wise, as Go compares <c>string(data[key]) == "true"</c>.</summary>
    private static bool Equal(ReadOnlySpan<byte> utf8, string text)
    {
        int max = System.Text.Encoding.UTF8.GetMaxByteCount(text.Length);
        Span<byte> expected = max <= 256 ? stackalloc byte[max] : new byte[max];
        int length = System.Text.Encoding.UTF8.GetBytes(text, expected);
        return utf8.SequenceEqual(expected[..length]);
    }

    private static string Describe(KeyCondition when, SecretData data, bool holds)
    {
        bool present = data.ContainsKey(when.Key);
        if (when.EqualsValue is not null)
        {
            return holds ? $"'{when.Key}' is exactly \"{when.EqualsValue}\"" : $"'{when.Key}' is {(present ? "not exactly" : "absent, not")} \"{when.EqualsValue}\"";
        }

        return $"'{when.Key}' is {(present ? "present" : "absent")}";
    }
}
