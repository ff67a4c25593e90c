using System.Collections.Immutable;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Resolution;

/// <summary>The Secrets as the evaluated view sees them: the snapshot, with the plan applied for the converged view.</summary>
internal sealed class SecretView
{
    private readonly ClusterSnapshot _snapshot;
    private readonly Dictionary<(string, string), SecretObject?> _overlay = [];
    private readonly Dictionary<string, List<string>> _overlayByNamespace = new(StringComparer.Ordinal);

    public SecretView(ClusterSnapshot snapshot, PropagationPlan? applied)
    {
        _snapshot = snapshot;
        foreach (PlanAction action in applied?.Actions ?? [])
        {
            SecretObject? after = action.Desired is { } d && !(d.Metadata.IsDeleting && d.Metadata.Finalizers.Count == 0) ? d : null;
            if (_overlay.TryAdd((action.Secret.Namespace, action.Secret.Name), after))
            {
                if (!_overlayByNamespace.TryGetValue(action.Secret.Namespace, out List<string>? names))
                {
                    _overlayByNamespace[action.Secret.Namespace] = names = [];
                }

                names.Add(action.Secret.Name);
            }
            else
            {
                _overlay[(action.Secret.Namespace, action.Secret.Name)] = after;
            }
        }
    }

    public SecretObject? Get(string ns, string name) =>
        _overlay.TryGetValue((ns, name), out SecretObject? o) ? o : _snapshot.GetSecret(ns, name);

    /// <summary>The Secrets of a namespace in this view, by name. Copies nothing for a namespace the plan does not change.</summary>
    public ReadOnlySpan<SecretObject> In(string ns)
    {
        ReadOnlySpan<SecretObject> inSnapshot = _snapshot.SecretsIn(ns);
        if (!_overlayByNamespace.TryGetValue(ns, out List<string>? changed))
        {
            return inSnapshot;
        }

        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (SecretObject secret in inSnapshot)
        {
            names.Add(secret.Name);
        }

        names.UnionWith(changed);
        var secrets = new List<SecretObject>(names.Count);
        foreach (string name in names)
        {
            if (Get(ns, name) is { } secret)
            {
                secrets.Add(secret);
            }
        }

        return secrets.ToArray();
    }
}
