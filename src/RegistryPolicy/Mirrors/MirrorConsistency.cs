using System.Collections.Immutable;
using RegistryPolicy.References;
using RegistryPolicy.Swap;

namespace RegistryPolicy.Mirrors;

/// <summary>One image where the admission-time rewrite and the node-level mirror disagree. Immutable and thread-safe.</summary>
/// <param name="Image">The image as written in the workload.</param>
/// <param name="AdmissionRepository">The repository the rewritten image names (host and path), or the rewrite itself when it is not a valid reference.</param>
/// <param name="NodeRepository">The repository the node fetches through its mirror for the original image.</param>
/// <param name="Reason">Why they differ, for people.</param>
public sealed record ConsistencyFinding(string Image, string AdmissionRepository, string NodeRepository, string Reason);

/// <summary>
/// Does the admission-time rewrite send each image to the same repository that the node-level mirror would fetch? The
/// typical disagreement is Docker Hub official images: the webhook writes <c>mirror/nginx</c>, while containerd normalises
/// the name and asks the mirror for <c>mirror/library/nginx</c>.
/// </summary>
internal static class MirrorConsistency
{
    /// <summary>Checks each image; returns every disagreement.</summary>
    /// <param name="swapper">The admission-time rewrite.</param>
    /// <param name="mirrors">The node-level mirrors.</param>
    /// <param name="images">The images to check.</param>
    /// <returns>The images where the two disagree, in input order.</returns>
    public static ImmutableArray<ConsistencyFinding> Check(ImageSwapper swapper, MirrorSet mirrors, IEnumerable<string> images)
    {
        ArgumentNullException.ThrowIfNull(swapper);
        ArgumentNullException.ThrowIfNull(mirrors);
        ArgumentNullException.ThrowIfNull(images);
        var findings = ImmutableArray.CreateBuilder<ConsistencyFinding>();
        foreach (string image in images)
        {
            string? node = mirrors.NodeRepository(image);
            SwapResult swap = swapper.Rewrite(image);
            if (swap.ResultIsInvalid)
            {
                findings.Add(new ConsistencyFinding(image, swap.Result, node ?? "(none)",
                    "the rewritten image is not a valid reference, so the kubelet fails the pod with InvalidImageName"));
                continue;
            }

            if (node is null)
            {
                continue; // no node mirror for this registry: the node pulls what the pod names
            }

            if (!ImageReference.TryParseNormalized(swap.Result, out ImageReference rewritten, out _))
            {
                continue; // the image was invalid to begin with, and left alone
            }

            string admission = rewritten.Domain + "/" + rewritten.Path;
            if (!swap.Swapped)
            {
                // The node still mirrors the original registry: the pod's image is fetched from the mirror, as intended.
                continue;
            }

            if (admission != node)
            {
                string reason = node.Replace("/library/", "/", StringComparison.Ordinal) == admission
                    ? "the webhook drops 'library/' for a Docker Hub official image, while the node's mirror is asked for '.../library/...'"
                    : "the webhook rewrites to a different repository than the node's mirror would fetch";
                findings.Add(new ConsistencyFinding(image, admission, node, reason));
            }
        }

        return findings.ToImmutable();
    }
}
