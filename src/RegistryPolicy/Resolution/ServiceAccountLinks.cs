using System.Collections.Immutable;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Primitives;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Resolution;

/// <summary>One pull secret to link to a ServiceAccount (OpenFaaS option 1, IBM's "store the image pull secret in the service account").</summary>
/// <param name="Namespace">The namespace.</param>
/// <param name="ServiceAccount">The ServiceAccount's name (usually <c>default</c>).</param>
/// <param name="Secret">The pull secret's name.</param>
internal readonly record struct ServiceAccountLink(string Namespace, string ServiceAccount, string Secret)
{
    /// <summary>The policy rule that wants the link, if any (it is named in the patch's reason).</summary>
    public string? Rule { get; init; }
}

/// <summary>The patch for one ServiceAccount. Immutable and thread-safe.</summary>
/// <param name="ServiceAccount">The ServiceAccount.</param>
/// <param name="Patch">RFC 6902 operations, as <c>kubectl patch --type=json</c> takes them.</param>
public sealed record ServiceAccountPatch(ObjectReference ServiceAccount, ImmutableArray<JsonPatchOperation> Patch)
{
    /// <summary>The pull secrets the patch links, in order.</summary>
    public ImmutableArray<string> Secrets { get; init; } = [];

    /// <summary>The policy rules that want the links (comma-separated), or <see langword="null"/>.</summary>
    public string? Rule { get; init; }

    /// <summary>Why, for people.</summary>
    public string Reason => $"link the pull secret{(Secrets.Length == 1 ? "" : "s")} {string.Join(", ", Secrets)} to the ServiceAccount" +
        (Rule is null ? string.Empty : $" (rule '{Rule}')") + (Patch.Length > 0 && Patch[0].Path == "/imagePullSecrets"
            ? "; it has no imagePullSecrets yet, so the whole array is added (appending with /- would fail)"
            : "; it already has imagePullSecrets, so the names are appended");

    /// <summary>The equivalent <c>kubectl patch</c> command line.</summary>
    /// <returns>One line, for example <c>kubectl patch -n ns serviceaccount/default --type=json -p '[...]'</c>.</returns>
    /// <remarks>Every word is shell-quoted where it needs to be, so the line runs exactly this one command.</remarks>
    public string ToKubectlCommand() =>
        Primitives.ShellWords.Join("kubectl", "patch", "-n", ServiceAccount.Namespace ?? "default", "serviceaccount/" + ServiceAccount.Name, "--type=json", "-p", ToJson());

    /// <summary>The patch as an RFC 6902 JSON document (it holds only Secret names).</summary>
    /// <returns>A JSON array of operations.</returns>
    public string ToJson() =>
        JsonPatch.ToJson(Patch);

    /// <summary>Formats as one line.</summary>
    /// <returns>The patch as text.</returns>
    public override string ToString() => $"patch {ServiceAccount.Namespace}/{ServiceAccount.Name}: {Reason}";
}

/// <summary>
/// Plans the <c>kubectl patch</c>-equivalent operations that link pull secrets to ServiceAccounts: <c>add</c> of the whole
/// <c>imagePullSecrets</c> array when the ServiceAccount has none yet, <c>add</c> at <c>/imagePullSecrets/-</c> when it
/// has some, nothing when the secret is already listed. (Appending with <c>/-</c> to a missing array is the failure users
/// hit: the API server answers "doc is missing path".) Applying the patches and planning again gives nothing.
/// </summary>
internal static class ServiceAccountLinks
{
    /// <summary>Plans the patches.</summary>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="links">The links wanted.</param>
    /// <param name="diagnostics">ServiceAccounts that do not exist (they cannot be patched).</param>
    /// <returns>One patch per ServiceAccount that needs one, in order.</returns>
    public static ImmutableArray<ServiceAccountPatch> Plan(ClusterSnapshot snapshot, IEnumerable<ServiceAccountLink> links, out ImmutableArray<Diagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(links);
        var found = ImmutableArray.CreateBuilder<Diagnostic>();
        var patches = new List<(ObjectReference Account, List<JsonPatchOperation> Ops, List<string> Secrets, SortedSet<string> Rules)>();
        foreach (var group in links.Distinct().GroupBy(l => (l.Namespace, l.ServiceAccount)))
        {
            var reference = new ObjectReference("ServiceAccount", group.Key.Namespace, group.Key.ServiceAccount);
            ServiceAccountObject? account = snapshot.GetServiceAccount(group.Key.Namespace, group.Key.ServiceAccount);
            if (account is null)
            {
                found.Add(new Diagnostic("service-account-missing", DiagnosticSeverity.Warning,
                    "the ServiceAccount is not in the snapshot, so it cannot be patched; it is created with the namespace ('default') or by its owner") { Subject = reference });
                continue;
            }

            var listed = new List<string>(account.ImagePullSecrets);
            var ops = new List<JsonPatchOperation>();
            var added = new List<string>();
            var rules = new SortedSet<string>(StringComparer.Ordinal);
            foreach (ServiceAccountLink link in group)
            {
                if (listed.Contains(link.Secret))
                {
                    continue;
                }

                ops.Add(listed.Count == 0
                    ? new JsonPatchOperation("add", "/imagePullSecrets", $"[{{\"name\":{JsonPatch.JsonString(link.Secret)}}}]")
                    : new JsonPatchOperation("add", "/imagePullSecrets/-", $"{{\"name\":{JsonPatch.JsonString(link.Secret)}}}"));
                listed.Add(link.Secret);
                added.Add(link.Secret);
                if (link.Rule is { } rule)
                {
                    rules.Add(rule);
                }
            }

            if (ops.Count > 0)
            {
                patches.Add((reference, ops, added, rules));
            }
        }

        diagnostics = found.ToImmutable();
        return [.. patches.Select(p => new ServiceAccountPatch(p.Account, [.. p.Ops])
        {
            Secrets = [.. p.Secrets],
            Rule = p.Rules.Count == 0 ? null : string.Join(", ", p.Rules),
        })];
    }

    /// <summary>Applies planned patches to a snapshot (purely).</summary>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="patches">The patches.</param>
    /// <returns>The snapshot with the ServiceAccounts patched.</returns>
    public static ClusterSnapshot Apply(ClusterSnapshot snapshot, IEnumerable<ServiceAccountPatch> patches)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(patches);
        var updated = new List<KubeObject>();
        foreach (ServiceAccountPatch patch in patches)
        {
            ServiceAccountObject account = snapshot.GetServiceAccount(patch.ServiceAccount.Namespace!, patch.ServiceAccount.Name)
                ?? throw new ArgumentException($"{patch.ServiceAccount} is not in the snapshot.", nameof(patches));
            var names = new List<string>(account.ImagePullSecrets);
            foreach (JsonPatchOperation op in patch.Patch)
            {
                using var json = System.Text.Json.JsonDocument.Parse(op.ValueJson);
                if (op.Path == "/imagePullSecrets")
                {
                    names = [.. json.RootElement.EnumerateArray().Select(e => e.GetProperty("name").GetString()!)];
                }
                else
                {
                    names.Add(json.RootElement.GetProperty("name").GetString()!);
                }
            }

            updated.Add(account with { ImagePullSecrets = new ValueArray<string>(names) });
        }

        return snapshot.With(updated);
    }

}
