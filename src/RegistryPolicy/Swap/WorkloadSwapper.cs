using System.Buffers;
using System.Collections.Immutable;
using System.Text;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Primitives;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Swap;

/// <summary>Options for rewriting workloads. Immutable and thread-safe.</summary>
public sealed record WorkloadSwapOptions
{
    /// <summary>The opt-out label (upstream's <c>IMAGESWAP_DISABLE_LABEL</c>).</summary>
    public string DisableLabel { get; init; } = "k8s.twr.io/imageswap";

    /// <summary>The value of <see cref="DisableLabel"/> that turns swapping off for the object.</summary>
    public string DisableValue { get; init; } = "disabled";

    /// <summary>
    /// Whether ephemeral containers are rewritten too. Null (the default) follows the dialect: no for
    /// <see cref="SwapDialect.ImageSwap"/> (imageswap-webhook never visits them), yes for <see cref="SwapDialect.Reference"/>.
    /// </summary>
    public bool? IncludeEphemeralContainers { get; init; }
}

/// <summary>One container's rewrite. Immutable and thread-safe.</summary>
/// <param name="Container">The container.</param>
/// <param name="Swap">The rewrite.</param>
public sealed record ContainerSwap(ContainerSpec Container, SwapResult Swap);

/// <summary>What an image-swap webhook answers for one workload. Immutable and thread-safe.</summary>
/// <param name="Workload">The object.</param>
/// <param name="Disabled">Whether the opt-out label turned swapping off.</param>
/// <param name="Containers">Every container visited, with its rewrite.</param>
/// <param name="Patch">The RFC 6902 patch (<c>replace</c> of each changed image); empty when nothing changes.</param>
public sealed record WorkloadSwap(ObjectReference Workload, bool Disabled, ImmutableArray<ContainerSwap> Containers, ImmutableArray<JsonPatchOperation> Patch)
{
    /// <summary>Whether any container counts as swapped (upstream then sends a patch, possibly <c>[]</c>).</summary>
    public bool Swapped => Containers.Any(c => c.Swap.Swapped);
}

/// <summary>
/// Rewrites the images of Pods and workload controllers as an admission webhook does: <c>containers</c> then
/// <c>initContainers</c> (and <c>ephemeralContainers</c> when asked), at the Pod spec's path (<c>/spec</c>,
/// <c>/spec/template/spec</c>, <c>/spec/jobTemplate/spec/template/spec</c>), unless the object carries the opt-out label.
/// </summary>
internal static class WorkloadSwapper
{
    /// <summary>Computes the patch for one workload.</summary>
    /// <param name="swapper">The image rewrite.</param>
    /// <param name="workload">The workload.</param>
    /// <param name="options">The opt-out label and what is visited.</param>
    /// <returns>The containers' rewrites and the patch.</returns>
    public static WorkloadSwap Swap(ImageSwapper swapper, WorkloadObject workload, WorkloadSwapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(swapper);
        ArgumentNullException.ThrowIfNull(workload);
        options ??= new WorkloadSwapOptions();
        if (workload.Metadata.Labels.GetValueOrDefault(options.DisableLabel) == options.DisableValue)
        {
            return new WorkloadSwap(workload.Reference, true, [], []);
        }

        var containers = ImmutableArray.CreateBuilder<ContainerSwap>();
        var patch = ImmutableArray.CreateBuilder<JsonPatchOperation>();
        foreach (ContainerRole role in new[] { ContainerRole.Container, ContainerRole.InitContainer, ContainerRole.EphemeralContainer })
        {
            if (role == ContainerRole.EphemeralContainer && !(options.IncludeEphemeralContainers ?? swapper.Options.Dialect == SwapDialect.Reference))
            {
                continue;
            }

            foreach (ContainerSpec container in workload.Template.Containers.Where(c => c.Role == role))
            {
                SwapResult swap = swapper.Rewrite(container.Image);
                containers.Add(new ContainerSwap(container, swap));
                if (swap.Result != container.Image)
                {
                    string list = role switch { ContainerRole.Container => "containers", ContainerRole.InitContainer => "initContainers", _ => "ephemeralContainers" };
                    patch.Add(new JsonPatchOperation("replace", $"{workload.Template.SpecPath}/{list}/{container.Index}/image", JsonString(swap.Result)));
                }
            }
        }

        return new WorkloadSwap(workload.Reference, false, containers.ToImmutable(), patch.ToImmutable());
    }

    private static string JsonString(string value)
    {
        var output = new ArrayBufferWriter<byte>();
        GoJson.WriteString(output, value);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }
}
