using System.Collections.Immutable;
using RegistryPolicy.Swap;

namespace RegistryPolicy.AspNetCore;

/// <summary>
/// What the webhooks serve and how they guard the cluster: the image-swap map and the policy (read from files and reloaded
/// when they change), the namespaces left alone, and the limits on each request. Immutable and thread-safe.
/// </summary>
public sealed record RegistryPolicyWebhookOptions
{
    /// <summary>The API server's own limit on a request body (3 MiB); a larger review is answered 413.</summary>
    public const long ApiServerBodyLimit = 3 * 1024 * 1024;

    /// <summary>An imageswap-webhook map file (one <c>key::value</c> per line); re-read when it changes.</summary>
    public string? MapFile { get; init; }

    /// <summary>Palette's <c>MIRROR_REGISTRIES</c> list, instead of <see cref="MapFile"/> (<c>default::</c> implied).</summary>
    public string? MirrorRegistries { get; init; }

    /// <summary>The rule set for image rewrites (default <see cref="SwapDialect.ImageSwap"/>, as upstream).</summary>
    public SwapDialect Dialect { get; init; } = SwapDialect.ImageSwap;

    /// <summary>
    /// Whether the image-swap rewrite may swap an image that already points at a map target (upstream does, so a Pod
    /// UPDATE or a reinvocation swaps it twice). Default <see langword="false"/>: the webhook is idempotent.
    /// </summary>
    public bool SwapSwappedImages { get; init; }

    /// <summary>The opt-out label of Pods and workloads (upstream's <c>IMAGESWAP_DISABLE_LABEL</c>).</summary>
    public string DisableLabel { get; init; } = "k8s.twr.io/imageswap";

    /// <summary>The value of <see cref="DisableLabel"/> that turns swapping off.</summary>
    public string DisableValue { get; init; } = "disabled";

    /// <summary>A policy file (YAML or JSON) for Secret admission; re-read when it changes. Takes precedence over <see cref="Preset"/>.</summary>
    public string? PolicyFile { get; init; }

    /// <summary>A built-in policy for Secret admission when there is no <see cref="PolicyFile"/> (default <c>kyma-serverless</c>).</summary>
    public string? Preset { get; init; }

    /// <summary>
    /// Namespaces whose requests are allowed untouched, whatever the webhook configuration sends (a second guard behind the
    /// <c>namespaceSelector</c>).
    /// </summary>
    public ImmutableArray<string> ExcludedNamespaces { get; init; } = [];

    /// <summary>The largest review accepted, in bytes (default the API server's 3 MiB).</summary>
    public long MaxRequestBodyBytes { get; init; } = ApiServerBodyLimit;

    /// <summary>
    /// The time allowed to receive a review and answer it (default 4 s, under the manifests' <c>timeoutSeconds: 5</c>): a
    /// slower request is answered 408 and the API server applies the failure policy.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>How often the map, policy and certificate files are checked for changes (default 2 s), besides file-system events.</summary>
    public TimeSpan ReloadInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long the host keeps answering after SIGTERM, with <c>/readyz</c> failing, so that the Service's endpoints drop
    /// it before it stops accepting connections (default zero).
    /// </summary>
    public TimeSpan ShutdownDelay { get; init; }

    /// <summary>A serving certificate to re-read when its files change (set it when the host serves TLS from files).</summary>
    public ReloadingCertificate? Certificate { get; init; }
}
