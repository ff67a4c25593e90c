using System.Collections.Immutable;
using System.Text;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Documents;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.WhatIf;

/// <summary>What a <see cref="SnapshotChange"/> does.</summary>
public enum ChangeOperation
{
    /// <summary>Add an object, or replace the one with the same kind, namespace and name.</summary>
    Put,

    /// <summary>Delete an object.</summary>
    Delete,

    /// <summary>Set a label.</summary>
    SetLabel,

    /// <summary>Remove a label.</summary>
    RemoveLabel,

    /// <summary>Set a Secret data key (the value given as text).</summary>
    SetData,

    /// <summary>Remove a Secret data key.</summary>
    RemoveData,
}

/// <summary>One hypothetical change to a snapshot. Immutable and thread-safe.</summary>
/// <param name="Operation">What it does.</param>
/// <param name="Target">The object changed.</param>
public sealed record SnapshotChange(ChangeOperation Operation, ObjectReference Target)
{
    /// <summary>The object put (for <see cref="ChangeOperation.Put"/>).</summary>
    public KubeObject? Manifest { get; init; }

    /// <summary>The label or data key.</summary>
    public string? Key { get; init; }

    /// <summary>The label value, or the data value as text.</summary>
    public string? Value { get; init; }

    /// <summary>Formats as <c>op target [key]</c>, never a data value.</summary>
    /// <returns>The change as text.</returns>
    public override string ToString() => $"{Operation} {Target}{(Key is null ? "" : " " + Key)}";
}

/// <summary>A change document as read: its changes and the problems found (with lines and columns). Immutable, value equality, thread-safe.</summary>
/// <param name="Changes">The changes that could be read, in order.</param>
/// <param name="Diagnostics">Every problem.</param>
public sealed record ChangeDocument(ValueArray<SnapshotChange> Changes, ValueArray<Diagnostic> Diagnostics)
{
    /// <summary>Whether any diagnostic is an error (the document should not be applied).</summary>
    public bool HasErrors => Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
}

/// <summary>A snapshot after changes, and the changes that undo them. Immutable and thread-safe.</summary>
/// <param name="Snapshot">The changed snapshot.</param>
/// <param name="Inverse">Applying these to <paramref name="Snapshot"/> gives back the original objects.</param>
/// <param name="Diagnostics">Changes that could not be applied (their target does not exist).</param>
public sealed record ChangeResult(ClusterSnapshot Snapshot, ImmutableArray<SnapshotChange> Inverse, ImmutableArray<Diagnostic> Diagnostics);

/// <summary>
/// A change document (YAML or JSON): hypothetical changes applied purely to a snapshot, for "what if" without editing files.
/// <code>
/// changes:
///   - {op: put, object: {kind: Secret, metadata: {name: x, namespace: team}, stringData: {registryAddress: r.io}}}
///   - {op: delete, target: {kind: Secret, namespace: team, name: old}}
///   - {op: setLabel, target: {kind: Secret, namespace: team, name: x}, key: serverless.kyma-project.io/managed-by, value: user}
///   - {op: removeLabel, target: {...}, key: ...}
///   - {op: setData, target: {kind: Secret, ...}, key: registryAddress, value: new.example.com}
///   - {op: removeData, target: {...}, key: ...}
/// </code>
/// </summary>
internal static class SnapshotChanges
{
    private static readonly Dictionary<string, ChangeOperation> Operations = new(StringComparer.Ordinal)
    {
        ["put"] = ChangeOperation.Put, ["add"] = ChangeOperation.Put, ["replace"] = ChangeOperation.Put, ["delete"] = ChangeOperation.Delete,
        ["setLabel"] = ChangeOperation.SetLabel, ["removeLabel"] = ChangeOperation.RemoveLabel,
        ["setData"] = ChangeOperation.SetData, ["removeData"] = ChangeOperation.RemoveData,
    };

    /// <summary>Parses a change document. Never throws; every problem is a diagnostic with line and column.</summary>
    /// <param name="text">The document.</param>
    /// <param name="source">The name used in diagnostics.</param>
    /// <param name="diagnostics">Problems found.</param>
    /// <returns>The changes that could be read, in order.</returns>
    public static ImmutableArray<SnapshotChange> Parse(string text, string source, out ImmutableArray<Diagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(text);
        var found = new List<Diagnostic>();
        var changes = ImmutableArray.CreateBuilder<SnapshotChange>();
        foreach (DocNode root in YamlDocumentReader.Read(new StringReader(text), source, DocumentLimits.Default, found))
        {
            if (root.Get("changes") is not { Kind: DocNodeKind.Sequence } list)
            {
                found.Add(new Diagnostic("bad-change", DiagnosticSeverity.Error, "a change document needs a 'changes' list") { Location = new SourceLocation(source, root.Line, root.Column) });
                continue;
            }

            changes.AddRange(ParseItems(list, source, found));
        }

        diagnostics = [.. found];
        return changes.ToImmutable();
    }

    /// <summary>Reads the items of a 'changes' list (also used inline by test documents); problems go to <paramref name="found"/>.</summary>
    internal static ImmutableArray<SnapshotChange> ParseItems(DocNode list, string source, List<Diagnostic> found)
    {
        var changes = ImmutableArray.CreateBuilder<SnapshotChange>();
        void Error(DocNode at, string message) =>
            found.Add(new Diagnostic("bad-change", DiagnosticSeverity.Error, message) { Location = new SourceLocation(source, at.Line, at.Column) });

        foreach (DocNode item in list.Items)
        {
            string? op = item.Get("op")?.Scalar;
            if (op is null || !Operations.TryGetValue(op, out ChangeOperation operation))
            {
                Error(item, $"'op' must be one of {string.Join(", ", Operations.Keys)}");
                continue;
            }

            if (operation == ChangeOperation.Put)
            {
                var objects = new List<(KubeObject, SourceLocation)>();
                if (item.Get("object") is not { } objectNode)
                {
                    Error(item, "'put' needs an 'object' (a Kubernetes manifest)");
                    continue;
                }

                new ObjectDecoder(source, found).Decode(objectNode, objects);
                foreach (var (obj, _) in objects)
                {
                    changes.Add(new SnapshotChange(ChangeOperation.Put, obj.Reference) { Manifest = obj });
                }

                continue;
            }

            DocNode? target = item.Get("target");
            string? kind = target?.Get("kind")?.Scalar, name = target?.Get("name")?.Scalar;
            if (target is null || kind is null || name is null)
            {
                Error(item, "the change needs 'target: {kind, namespace, name}'");
                continue;
            }

            string? key = item.Get("key")?.Scalar;
            if (operation != ChangeOperation.Delete && key is null)
            {
                Error(item, $"'{op}' needs a 'key'");
                continue;
            }

            string? value = item.Get("value")?.Scalar;
            if (operation is ChangeOperation.SetLabel or ChangeOperation.SetData && value is null)
            {
                Error(item, $"'{op}' needs a 'value'");
                continue;
            }

            string? ns = kind == "Namespace" ? null : target.Get("namespace")?.Scalar ?? "default";
            changes.Add(new SnapshotChange(operation, new ObjectReference(kind, ns, name)) { Key = key, Value = value });
        }

        return changes.ToImmutable();
    }

    /// <summary>Applies changes in order, purely. A change whose target does not exist is skipped with a diagnostic.</summary>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="changes">The changes.</param>
    /// <returns>The changed snapshot, the inverse changes and diagnostics.</returns>
    public static ChangeResult Apply(ClusterSnapshot snapshot, IEnumerable<SnapshotChange> changes)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(changes);
        var objects = new Dictionary<ObjectReference, KubeObject>();
        var order = new List<ObjectReference>();
        foreach (KubeObject o in snapshot.Objects)
        {
            objects[o.Reference] = o;
            order.Add(o.Reference);
        }

        var inverse = new List<SnapshotChange>();
        var diagnostics = ImmutableArray.CreateBuilder<Diagnostic>();
        foreach (SnapshotChange change in changes)
        {
            objects.TryGetValue(change.Target, out KubeObject? current);
            if (change.Operation != ChangeOperation.Put && current is null)
            {
                diagnostics.Add(new Diagnostic("change-target-missing", DiagnosticSeverity.Warning, $"'{change.Operation}' skipped: the snapshot has no such object") { Subject = change.Target });
                continue;
            }

            KubeObject? next = change.Operation switch
            {
                ChangeOperation.Put => change.Manifest,
                ChangeOperation.Delete => null,
                ChangeOperation.SetLabel => current! with { Metadata = current.Metadata with { Labels = current.Metadata.Labels.With(change.Key!, change.Value!) } },
                ChangeOperation.RemoveLabel => current! with { Metadata = current.Metadata with { Labels = current.Metadata.Labels.Without(change.Key!) } },
                ChangeOperation.SetData when current is SecretObject s => s with { Data = s.Data.With(change.Key!, Encoding.UTF8.GetBytes(change.Value!)) },
                ChangeOperation.RemoveData when current is SecretObject s => s with { Data = s.Data.Without(change.Key!) },
                _ => current,
            };
            if (change.Operation is ChangeOperation.SetData or ChangeOperation.RemoveData && current is not SecretObject)
            {
                diagnostics.Add(new Diagnostic("change-not-secret", DiagnosticSeverity.Warning, "data can only be changed on a Secret; skipped") { Subject = change.Target });
                continue;
            }

            // The inverse restores the object as it was (or removes what did not exist).
            inverse.Add(current is null
                ? new SnapshotChange(ChangeOperation.Delete, change.Target)
                : new SnapshotChange(ChangeOperation.Put, change.Target) { Manifest = current });
            if (next is null)
            {
                objects.Remove(change.Target);
            }
            else
            {
                if (!objects.ContainsKey(change.Target))
                {
                    order.Add(change.Target);
                }

                objects[change.Target] = next;
            }
        }

        inverse.Reverse();
        ClusterSnapshot after = ClusterSnapshot.Create(order.Where(objects.ContainsKey).Select(r => objects[r]));
        return new ChangeResult(after, [.. inverse], diagnostics.ToImmutable());
    }
}
