using System.Text;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Tests.Resolution;

/// <summary>
/// Kyma 2.x, written straight from the reference (rules 5-8, 14-17, 21-24, 27) with plain loops over plain lists: no
/// indexes, no policy document, nothing shared with the engine. The properties check that the engine, running the
/// kyma-serverless preset, agrees with it on every generated snapshot.
/// </summary>
internal static class NaiveKymaEvaluator
{
    private const string Base = "kyma-system";
    private static readonly string[] Excluded = ["istio-system", "kube-node-lease", "kube-public", "kube-system", "kyma-installer", "kyma-system", "natss"];

    public sealed record Outcome(string Namespace, ResolutionSource Source, string? Secret, string? Push, string? Pull);

    public static List<Outcome> Evaluate(IReadOnlyList<KubeObject> objects, bool converged)
    {
        // Later duplicates replace earlier ones, as the snapshot does.
        var secrets = new List<SecretObject>();
        var namespaces = new List<NamespaceObject>();
        foreach (KubeObject o in objects)
        {
            if (o is SecretObject s)
            {
                secrets.RemoveAll(x => x.Namespace == s.Namespace && x.Name == s.Name);
                secrets.Add(s);
            }
            else if (o is NamespaceObject n)
            {
                namespaces.RemoveAll(x => x.Name == n.Name);
                namespaces.Add(n);
            }
        }

        var names = new List<string>();
        foreach (NamespaceObject n in namespaces)
        {
            names.Add(n.Name);
        }

        foreach (SecretObject s in secrets)
        {
            if (!names.Contains(s.Namespace!))
            {
                names.Add(s.Namespace!);
            }
        }

        names.Sort(StringComparer.Ordinal);
        List<SecretObject> state = converged ? Converge(secrets, namespaces, names) : secrets;
        var result = new List<Outcome>();
        foreach (string ns in names)
        {
            result.Add(Resolve(ns, state, namespaces, secrets, converged));
        }

        return result;
    }

    private static bool IsBase(SecretObject s) => s.Namespace == Base && s.Metadata.Labels.GetValueOrDefault("serverless.kyma-project.io/config") == "credentials";

    private static bool Shielded(SecretObject s) => s.Metadata.Labels.GetValueOrDefault("serverless.kyma-project.io/managed-by") == "user";

    private static bool IsTarget(string ns, List<NamespaceObject> namespaces)
    {
        if (ns == Base || Excluded.Contains(ns))
        {
            return false;
        }

        foreach (NamespaceObject n in namespaces)
        {
            if (n.Name == ns && (n.Phase == "Terminating" || n.Metadata.IsDeleting))
            {
                return false;
            }
        }

        return true;
    }

    private static SecretObject? Find(List<SecretObject> secrets, string ns, string name)
    {
        foreach (SecretObject s in secrets)
        {
            if (s.Namespace == ns && s.Name == name)
            {
                return s;
            }
        }

        return null;
    }

    private static List<SecretObject> Converge(List<SecretObject> secrets, List<NamespaceObject> namespaces, List<string> names)
    {
        var state = new List<SecretObject>(secrets);
        foreach (SecretObject b in secrets)
        {
            if (!IsBase(b))
            {
                continue;
            }

            bool hasFinalizer = b.Metadata.Finalizers.Contains("serverless.kyma-project.io/finalizer-registry-config");
            foreach (string ns in names)
            {
                if (!IsTarget(ns, namespaces))
                {
                    continue;
                }

                SecretObject? existing = Find(state, ns, b.Name);
                if (existing is not null && Shielded(existing))
                {
                    continue;
                }

                if (b.Metadata.IsDeleting)
                {
                    if (hasFinalizer && existing is not null)
                    {
                        state.Remove(existing);
                    }

                    continue;
                }

                var copy = new SecretObject(
                    new ObjectMetadata(b.Name, ns)
                    {
                        Labels = b.Metadata.Labels,
                        Annotations = b.Metadata.Annotations,
                        Finalizers = existing?.Metadata.Finalizers ?? default,
                        DeletionTimestamp = existing?.Metadata.DeletionTimestamp,
                    },
                    b.Type,
                    b.Data);
                if (existing is not null)
                {
                    state.Remove(existing);
                }

                state.Add(copy);
            }

            if (b.Metadata.IsDeleting && hasFinalizer && b.Metadata.Finalizers.Count == 1)
            {
                state.Remove(b);
            }
        }

        return state;
    }

    private static Outcome Resolve(string ns, List<SecretObject> state, List<NamespaceObject> namespaces, List<SecretObject> original, bool converged)
    {
        SecretObject? o = Find(state, ns, "serverless-registry-config");
        if (o is not null)
        {
            ResolutionSource source = ResolutionSource.Namespace;
            if (Shielded(o))
            {
                source = ResolutionSource.UserManaged;
            }
            else if (ns == Base && IsBase(o))
            {
                source = ResolutionSource.ClusterWide;
            }
            else
            {
                SecretObject? b = Find(state, Base, "serverless-registry-config");
                if (b is not null && IsBase(b) && !b.Metadata.IsDeleting && IsTarget(ns, namespaces) &&
                    (converged || (b.Type == o.Type && b.Data.Equals(o.Data) && b.Metadata.Labels.Equals(o.Metadata.Labels) && b.Metadata.Annotations.Equals(o.Metadata.Annotations))))
                {
                    source = ResolutionSource.ClusterWide;
                }
            }

            string address = Get(o, "registryAddress");
            return new Outcome(ns, source, o.Name, address, address);
        }

        SecretObject? d = Find(state, ns, "serverless-registry-config-default");
        if (d is not null)
        {
            bool internalRegistry = d.Data.TryGetString("isInternal", out string flag) && flag == "true";
            return internalRegistry
                ? new Outcome(ns, ResolutionSource.Default, d.Name, Get(d, "pushRegAddr"), Get(d, "pullRegAddr"))
                : new Outcome(ns, ResolutionSource.Default, d.Name, Get(d, "registryAddress"), Get(d, "registryAddress"));
        }

        _ = original;
        return new Outcome(ns, ResolutionSource.None, null, null, null);
    }

    private static string Get(SecretObject s, string key) => s.Data.TryGetString(key, out string value) ? value : string.Empty;

    public static List<Outcome> Project(Evaluation evaluation)
    {
        var list = new List<Outcome>();
        foreach (NamespaceResolution r in evaluation.Namespaces)
        {
            list.Add(new Outcome(r.Namespace, r.Source, r.Secret?.Name, r.PushAddress, r.PullAddress));
        }

        return list;
    }

    public static string Describe(IEnumerable<KubeObject> objects)
    {
        var text = new StringBuilder();
        foreach (KubeObject o in objects)
        {
            text.Append(o).Append(' ').Append(o.Metadata.Labels);
            if (o is SecretObject s)
            {
                text.Append(' ').Append(s.Type).Append(" keys=").Append(string.Join(',', s.Data.RevealEntries().Select(e => $"{e.Key}:{Encoding.UTF8.GetString(e.Value.Span)}")));
            }

            if (o is NamespaceObject n)
            {
                text.Append(' ').Append(n.Phase);
            }

            text.Append(" fin=").Append(o.Metadata.Finalizers).Append(o.Metadata.IsDeleting ? " deleting" : "").Append('\n');
        }

        return text.ToString();
    }
}
