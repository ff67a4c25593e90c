using System.Collections.Immutable;
using System.Text.Json.Nodes;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Documents;
using RegistryPolicy.Primitives;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Swap;

/// <summary>One Pod or workload manifest after the image swap. Immutable and thread-safe.</summary>
/// <param name="Workload">The object.</param>
/// <param name="ManifestJson">The whole manifest as read, with the patch applied (compact JSON; every field kept, not only those a snapshot reads).</param>
/// <param name="Swap">The containers' rewrites and the patch that was applied.</param>
public sealed record SwappedManifest(ObjectReference Workload, string ManifestJson, WorkloadSwap Swap)
{
    /// <summary>The manifest as a new tree.</summary>
    /// <returns>A tree; changing it changes nothing here.</returns>
    public JsonNode ToJsonNode() => JsonNode.Parse(ManifestJson)!;

    /// <summary>The manifest as YAML, for <c>kubectl apply -f -</c>.</summary>
    /// <returns>The YAML text.</returns>
    public string ToYaml() => ManifestText.ToYaml(ToJsonNode());
}

/// <summary>The manifests of a file after the image swap. Immutable and thread-safe.</summary>
/// <param name="Manifests">The Pods and workloads, in file order, rewritten.</param>
/// <param name="LeftOut">How many objects were not Pods or workloads (left out: image swap does not change them, and a Secret would carry credentials).</param>
/// <param name="Diagnostics">Problems found reading the file, with locations.</param>
public sealed record ManifestSwapResult(ImmutableArray<SwappedManifest> Manifests, int LeftOut, ImmutableArray<Diagnostic> Diagnostics)
{
    /// <summary>Whether any diagnostic is an error.</summary>
    public bool HasErrors => Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
}

/// <summary>Rewrites whole manifests: each object is read as a tree, so the patch applies to every field the user wrote.</summary>
internal static class ManifestSwapper
{
    public static ManifestSwapResult Rewrite(ImageSwapper swapper, Stream stream, string source, WorkloadSwapOptions? options)
    {
        var diagnostics = new List<Diagnostic>();
        var decoder = new ObjectDecoder(source, diagnostics);
        var manifests = ImmutableArray.CreateBuilder<SwappedManifest>();
        int leftOut = 0;
        var decoded = new List<(KubeObject, SourceLocation)>(1);
        foreach (DocNode document in SnapshotReader.Documents(stream, source, DocumentLimits.Default, diagnostics))
        {
            IEnumerable<DocNode> objects = document.Get("items") is { Kind: DocNodeKind.Sequence } items ? items.Items : [document];
            foreach (DocNode node in objects)
            {
                if (node.Kind == DocNodeKind.Null)
                {
                    continue;
                }

                decoded.Clear();
                decoder.Decode(node, decoded, nested: true);
                if (decoded.Count != 1 || decoded[0].Item1 is not WorkloadObject workload)
                {
                    leftOut++;
                    continue;
                }

                WorkloadSwap swap = WorkloadSwapper.Swap(swapper, workload, options);
                JsonNode? manifest = DocNodeJson.ToJsonNode(node);
                if (!JsonPatch.TryApply(manifest, swap.Patch, out JsonNode? patched, out string? error))
                {
                    // Not reachable: the patch is built from the same tree. Keep the object unchanged rather than lose it.
                    diagnostics.Add(new Diagnostic("patch-failed", DiagnosticSeverity.Error, $"the image-swap patch does not apply: {error}")
                    {
                        Subject = workload.Reference,
                        Location = new SourceLocation(source, node.Line, node.Column),
                    });
                    patched = manifest;
                }

                manifests.Add(new SwappedManifest(workload.Reference, ManifestText.ToJson(patched, indented: false), swap));
            }
        }

        return new ManifestSwapResult(manifests.ToImmutable(), leftOut, [.. diagnostics]);
    }
}
