using System.Collections.Immutable;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Resolution;

/// <summary>
/// Computes what the propagation controller does: for each rule, each base, each target namespace, create or update the copy
/// unless shielded; for a deleted base, delete unshielded copies and release the finalizer. The base namespace is never a
/// target, so nothing of a namespace's own is ever written into it.
/// </summary>
internal sealed class Planner
{
    private readonly CompiledPolicy _policy;
    private readonly ClusterSnapshot _snapshot;
    private readonly ImmutableArray<NamespaceObject> _namespaces;
    private readonly List<PlanAction> _actions = [];
    private readonly List<Diagnostic> _warnings = [];
    private readonly Dictionary<(string, string), string> _claimed = [];
    private readonly Dictionary<(string, string), string> _copiedFrom = [];
    private readonly HashSet<string>? _scope;

    private Planner(CompiledPolicy policy, ClusterSnapshot snapshot, IEnumerable<string> extraNamespaces, HashSet<string>? scope)
    {
        _policy = policy;
        _snapshot = snapshot;
        _scope = scope;
        var extra = extraNamespaces.Where(n => snapshot.GetNamespace(n) is null).Distinct(StringComparer.Ordinal).Select(n => NamespaceObject.Named(n)).ToList();
        if (scope is not null)
        {
            // Only the namespaces in scope, looked up one by one: the snapshot's whole list is never built for them.
            _namespaces = [.. scope.Select(snapshot.GetNamespace).OfType<NamespaceObject>().Concat(extra.Where(n => scope.Contains(n.Name))).OrderBy(n => n.Name, StringComparer.Ordinal)];
            return;
        }

        // The snapshot's namespaces are sorted already; sort again only when namespaces are added.
        _namespaces = extra.Count == 0 ? snapshot.Namespaces : [.. snapshot.Namespaces.Concat(extra).OrderBy(n => n.Name, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The plan; with <paramref name="scope"/>, exactly the full plan's actions and ServiceAccount patches in those
    /// namespaces (a base's own finalizer actions belong to its namespace), computed without visiting the others.
    /// </summary>
    public static PropagationPlan Plan(CompiledPolicy policy, ClusterSnapshot snapshot, IEnumerable<string> extraNamespaces, HashSet<string>? scope = null)
    {
        var planner = new Planner(policy, snapshot, extraNamespaces, scope);
        foreach (CompiledPropagation rule in policy.Propagation)
        {
            planner.PlanRule(rule);
        }

        var plan = new PropagationPlan([.. planner._actions], [.. planner._warnings]);
        return policy.Links.IsEmpty ? plan : planner.PlanLinks(plan);
    }

    /// <summary>Links pull secrets to ServiceAccounts, against the Secrets as the propagation actions leave them.</summary>
    private PropagationPlan PlanLinks(PropagationPlan secrets)
    {
        ClusterSnapshot after = secrets.Actions.IsEmpty ? _snapshot : secrets.ApplyTo(_snapshot);
        var links = new List<ServiceAccountLink>();
        foreach (CompiledLink link in _policy.Links)
        {
            foreach (NamespaceObject ns in _namespaces)
            {
                if (!link.Scope.Contains(ns))
                {
                    continue;
                }

                // Names in the order given; without names, every Secret the selector and types accept, in name order.
                IEnumerable<string> names = link.Rule.Secrets.Names.IsEmpty
                    ? after.GetSecretsIn(ns.Name).Where(link.Accepts).Select(s => s.Name)
                    : link.Rule.Secrets.Names.Where(name => after.GetSecret(ns.Name, name) is { } named && link.Accepts(named));
                links.AddRange(names.Select(name => new ServiceAccountLink(ns.Name, link.Rule.ServiceAccount, name) { Rule = link.Rule.Name }));
            }
        }

        ImmutableArray<ServiceAccountPatch> patches = ServiceAccountLinks.Plan(after, links, out ImmutableArray<Diagnostic> missing);
        return secrets with
        {
            Warnings = secrets.Warnings.AddRange(missing),
            ServiceAccountPatches = [.. patches.OrderBy(p => p.ServiceAccount.Namespace, StringComparer.Ordinal).ThenBy(p => p.ServiceAccount.Name, StringComparer.Ordinal)],
        };
    }

    /// <summary>The namespaces a rule copies into.</summary>
    internal static bool IsTarget(CompiledPropagation rule, NamespaceObject ns) => rule.Targets.Contains(ns);

    internal static bool IsBase(CompiledPropagation rule, SecretObject secret) =>
        secret.Namespace == rule.Rule.Base.Namespace &&
        (rule.BaseNames is null || rule.BaseNames.Contains(secret.Name)) &&
        rule.BaseSelector.Matches(secret.Metadata.Labels);

    internal static bool IsShielded(CompiledPropagation rule, SecretObject secret) => rule.Shield?.Matches(secret.Metadata.Labels) == true;

    /// <summary>The copy of <paramref name="source"/> for <paramref name="ns"/>, keeping what the rule does not copy from <paramref name="existing"/>.</summary>
    internal static SecretObject CopyOf(CompiledPropagation rule, SecretObject source, string ns, SecretObject? existing)
    {
        var metadata = new ObjectMetadata(rule.TargetName(source.Name, ns), ns)
        {
            Labels = rule.Copies(CopiedField.Labels) ? source.Metadata.Labels : existing?.Metadata.Labels ?? StringMap.Empty,
            Annotations = rule.Copies(CopiedField.Annotations) ? source.Metadata.Annotations : existing?.Metadata.Annotations ?? StringMap.Empty,
            Finalizers = existing?.Metadata.Finalizers ?? default,
            DeletionTimestamp = existing?.Metadata.DeletionTimestamp,
        };
        string type = rule.Copies(CopiedField.Type) ? source.Type : existing?.Type ?? SecretObject.OpaqueType;
        SecretData data = rule.Copies(CopiedField.Data) ? source.Data : existing?.Data ?? SecretData.Empty;
        return new SecretObject(metadata, type, data);
    }

    /// <summary>Whether <paramref name="existing"/> already is what <see cref="CopyOf"/> would make of <paramref name="source"/> (without allocating).</summary>
    internal static bool IsCopyOf(CompiledPropagation rule, SecretObject source, SecretObject existing) =>
        existing.Name == (rule.Renames ? rule.TargetName(source.Name, existing.Namespace!) : source.Name) &&
        (!rule.Copies(CopiedField.Labels) || existing.Metadata.Labels.Equals(source.Metadata.Labels)) &&
        (!rule.Copies(CopiedField.Annotations) || existing.Metadata.Annotations.Equals(source.Metadata.Annotations)) &&
        (!rule.Copies(CopiedField.Type) || existing.Type == source.Type) &&
        (!rule.Copies(CopiedField.Data) || existing.Data.Equals(source.Data));

    private void PlanRule(CompiledPropagation rule)
    {
        string baseNs = rule.Rule.Base.Namespace;
        string? finalizer = rule.Rule.Finalizer;
        // A mask over the namespaces rather than a list: at 10,000 namespaces a list of them would land in the large-object heap.
        var mask = new bool[_namespaces.Length];
        for (int t = 0; t < mask.Length; t++)
        {
            mask[t] = IsTarget(rule, _namespaces[t]);
        }

        var targets = new TargetList(_namespaces, mask);
        bool baseInScope = _scope is null || _scope.Contains(baseNs);
        foreach (SecretObject secret in _snapshot.GetSecretsIn(baseNs))
        {
            bool isBase = IsBase(rule, secret);
            bool hasFinalizer = finalizer is not null && secret.Metadata.Finalizers.Contains(finalizer);
            if (!isBase)
            {
                if (hasFinalizer)
                {
                    FormerBase(rule, secret, targets);
                }

                continue;
            }

            if (secret.Metadata.IsDeleting)
            {
                if (hasFinalizer)
                {
                    if (rule.Rule.OnBaseDeleted == CopyFate.DeleteUnshieldedCopies)
                    {
                        DeleteCopies(rule, secret, targets, $"the base {secret.Reference} is being deleted");
                    }

                    if (baseInScope)
                    {
                        ReleaseFinalizer(rule, secret, "the base is being deleted: its copies are handled, so the controller removes its finalizer");
                    }
                }

                continue;
            }

            if (finalizer is not null && !hasFinalizer && baseInScope)
            {
                Add(rule, PlanOperation.Update, secret, secret with { Metadata = secret.Metadata with { Finalizers = new ValueArray<string>(secret.Metadata.Finalizers.Append(finalizer)) } },
                    $"add the finalizer {finalizer}, so that the controller sees the base's deletion");
            }

            foreach (NamespaceObject ns in targets)
            {
                string copyName = rule.TargetName(secret.Name, ns.Name);
                if (!Claim(rule, secret, ns.Name, copyName))
                {
                    continue;
                }

                SecretObject? existing = _snapshot.GetSecret(ns.Name, copyName);
                if (existing is not null && (IsShielded(rule, existing) || !rule.Rule.UpdateExisting))
                {
                    continue;
                }

                if (existing is not null && IsCopyOf(rule, secret, existing))
                {
                    continue;
                }

                SecretObject desired = CopyOf(rule, secret, ns.Name, existing);
                if (existing is null)
                {
                    Add(rule, PlanOperation.Create, desired, desired, $"copy of the base {secret.Reference}");
                }
                else
                {
                    if (existing.Type != desired.Type)
                    {
                        Warn("type-immutable", desired,
                            $"the copy must change type from '{existing.Type}' to '{desired.Type}', which the API server refuses; the controller's update fails " +
                            "(Kyma stops its namespace loop there, so later namespaces are not updated either). Delete the Secret so that it is recreated");
                    }

                    Add(rule, PlanOperation.Update, desired, desired,
                        $"differs from the base {secret.Reference} ({Differences(existing, desired)}) and is not shielded: propagation overwrites it");
                }
            }
        }
    }

    /// <summary>The namespaces a rule copies into, as a mask over the planner's namespaces.</summary>
    private readonly struct TargetList(ImmutableArray<NamespaceObject> namespaces, bool[] mask)
    {
        public IEnumerator<NamespaceObject> GetEnumerator()
        {
            for (int t = 0; t < mask.Length; t++)
            {
                if (mask[t])
                {
                    yield return namespaces[t];
                }
            }
        }
    }

    private void FormerBase(CompiledPropagation rule, SecretObject secret, TargetList targets)
    {
        if (rule.Rule.OnBaseUnlabeled == CopyFate.DeleteUnshieldedCopies)
        {
            DeleteCopies(rule, secret, targets, $"{secret.Reference} stopped being a base");
            if (_scope is null || _scope.Contains(secret.Namespace!))
            {
                ReleaseFinalizer(rule, secret, "it stopped being a base: its copies are deleted, so the controller removes its finalizer");
            }

            return;
        }

        Warn("finalizer-orphaned", secret,
            $"carries the finalizer {rule.Rule.Finalizer} but no longer matches the base selector of rule '{rule.Rule.Name}', so the controller ignores it: " +
            "its copies are no longer kept in sync and are still used, and 'kubectl delete' will leave it Terminating until the finalizer is removed by hand " +
            $"(kubectl patch secret -n {secret.Namespace} {secret.Name} --type=json -p '[{{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}}]')");
    }

    private void DeleteCopies(CompiledPropagation rule, SecretObject source, TargetList targets, string why)
    {
        foreach (NamespaceObject ns in targets)
        {
            SecretObject? existing = _snapshot.GetSecret(ns.Name, rule.TargetName(source.Name, ns.Name));
            if (existing is not null && !IsShielded(rule, existing))
            {
                Add(rule, PlanOperation.Delete, existing, null, $"{why}; copies that are not shielded are deleted, whatever their content");
            }
        }
    }

    private void ReleaseFinalizer(CompiledPropagation rule, SecretObject secret, string reason)
    {
        var finalizers = new ValueArray<string>(secret.Metadata.Finalizers.Where(f => f != rule.Rule.Finalizer));
        SecretObject released = secret with { Metadata = secret.Metadata with { Finalizers = finalizers } };
        bool gone = released.Metadata.IsDeleting && finalizers.Count == 0;
        Add(rule, PlanOperation.Update, secret, released, gone ? reason + "; with no finalizer left, the API server removes it" : reason);
    }

    /// <summary>Claims a copy's name for one base; a second base of the same rule that renames onto it is refused with a warning.</summary>
    private bool Claim(CompiledPropagation rule, SecretObject source, string ns, string copyName)
    {
        if (!rule.Renames)
        {
            return true;
        }

        if (_copiedFrom.TryGetValue((ns, copyName), out string? other) && other != source.Name)
        {
            _warnings.Add(new Diagnostic("copy-name-collision", DiagnosticSeverity.Warning,
                $"rule '{rule.Rule.Name}' renames both bases '{other}' and '{source.Name}' to '{copyName}' in namespace {ns}; only the copy of '{other}' is planned. " +
                "Add {name} to the rename template or give the rename rules a 'from'")
            {
                Subject = new ObjectReference("Secret", ns, copyName),
                Location = _snapshot.LocationOf(source.Reference),
            });
            return false;
        }

        _copiedFrom[(ns, copyName)] = source.Name;
        return true;
    }

    private static string Differences(SecretObject existing, SecretObject desired)
    {
        var parts = new List<string>();
        if (!existing.Data.Equals(desired.Data))
        {
            parts.Add("data");
        }

        if (existing.Type != desired.Type)
        {
            parts.Add("type");
        }

        if (!existing.Metadata.Labels.Equals(desired.Metadata.Labels))
        {
            parts.Add("labels");
        }

        if (!existing.Metadata.Annotations.Equals(desired.Metadata.Annotations))
        {
            parts.Add("annotations");
        }

        return string.Join(", ", parts);
    }

    private void Add(CompiledPropagation rule, PlanOperation operation, SecretObject target, SecretObject? desired, string reason)
    {
        var key = (target.Namespace!, target.Name);
        if (_claimed.TryGetValue(key, out string? other) && other != rule.Rule.Name)
        {
            Warn("rule-conflict", target, $"both rule '{other}' and rule '{rule.Rule.Name}' write this Secret; the first rule's action is kept. Give the bases different names");
            return;
        }

        _claimed[key] = rule.Rule.Name;
        _actions.Add(new PlanAction(operation, new SecretReference(target.Namespace!, target.Name), rule.Rule.Name, reason) { Desired = desired });
    }

    private void Warn(string code, SecretObject subject, string message) =>
        _warnings.Add(new Diagnostic(code, DiagnosticSeverity.Warning, message)
        {
            Subject = subject.Reference,
            Location = _snapshot.LocationOf(subject.Reference),
        });
}
