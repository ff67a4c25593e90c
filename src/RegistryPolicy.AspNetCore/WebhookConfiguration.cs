using System.Collections.Immutable;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Swap;

namespace RegistryPolicy.AspNetCore;

/// <summary>
/// What one version of the webhooks answers with: the compiled image-swap rewrite (or none: Pods pass untouched), the
/// compiled policy for Secret admission, and the namespaces left alone. Built once per load and shared by every request.
/// Immutable and thread-safe.
/// </summary>
public sealed record WebhookConfiguration
{
    /// <summary>The image rewrite, or <see langword="null"/> when no map is configured (Pods are allowed untouched).</summary>
    public ImageSwapper? Swapper { get; init; }

    /// <summary>The opt-out label and which containers are visited.</summary>
    public WorkloadSwapOptions SwapOptions { get; init; } = new();

    /// <summary>The policy whose admission rule defaults Secrets, or <see langword="null"/> (Secrets are allowed untouched).</summary>
    public CompiledPolicy? Policy { get; init; }

    /// <summary>Namespaces whose requests are allowed untouched.</summary>
    public ImmutableArray<string> ExcludedNamespaces { get; init; } = [];

    /// <summary>Problems of the map or policy that did not stop the load (warnings), for <c>/readyz</c> and the log.</summary>
    public ImmutableArray<Diagnostic> Diagnostics { get; init; } = [];

    /// <summary>Where this version came from, for people (the files and their sizes).</summary>
    public string Description { get; init; } = "built in code";
}
