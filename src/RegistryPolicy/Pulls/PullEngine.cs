using System.Collections.Immutable;
using RegistryPolicy.Policies;
using RegistryPolicy.Resolution;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Pulls;

/// <summary>
/// Which credential every container of a snapshot pulls its image with, and what is wrong: the front door of pull-secret
/// coverage. Kubernetes' rules: the ServiceAccount (<c>default</c> when none is named) gives its <c>imagePullSecrets</c>
/// only to a pod that names none; the kubelet skips a pull secret that does not exist or is not of a pull-secret type,
/// and fails every pull of a pod whose pull secret it cannot decode. Pure and thread-safe.
/// </summary>
public static class PullEngine
{
    /// <summary>Analyses every container of every Pod and workload, in snapshot order, with Kubernetes' defaults.</summary>
    /// <param name="snapshot">The snapshot.</param>
    /// <returns>One entry per container.</returns>
    public static ImmutableArray<ContainerPull> Analyze(ClusterSnapshot snapshot) => Analyze(snapshot, new PullCoverageOptions());

    /// <summary>Analyses every container of every Pod and workload, in snapshot order.</summary>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="options">Pull defaults and public registries.</param>
    /// <returns>One entry per container.</returns>
    public static ImmutableArray<ContainerPull> Analyze(ClusterSnapshot snapshot, PullCoverageOptions options)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(options);
        return PullCoverage.Analyze(snapshot, options);
    }

    /// <summary>The containers as a policy leaves the cluster (the converged view, the policy's pull defaults).</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="snapshot">The snapshot.</param>
    /// <returns>One entry per container, in snapshot order.</returns>
    public static ImmutableArray<ContainerPull> Analyze(CompiledPolicy policy, ClusterSnapshot snapshot) => Analyze(policy, snapshot, EvaluationView.Converged, null);

    /// <summary>
    /// The containers as a policy leaves the cluster: in the converged view after the plan's Secret copies and ServiceAccount
    /// links, with the policy's default pull policy and public registries (<c>spec.pulls</c>).
    /// </summary>
    /// <param name="policy">The policy.</param>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="view">Converged (after the plan) or as-is.</param>
    /// <param name="defaultPullPolicy">A pull policy for containers that set none, everywhere, instead of the policy's own; or null.</param>
    /// <returns>One entry per container, in snapshot order.</returns>
    public static ImmutableArray<ContainerPull> Analyze(CompiledPolicy policy, ClusterSnapshot snapshot, EvaluationView view, string? defaultPullPolicy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(snapshot);
        ClusterSnapshot seen = view == EvaluationView.Converged ? PolicyEngine.Plan(policy, snapshot).ApplyTo(snapshot) : snapshot;
        PullCoverageOptions options = OptionsFor(policy, seen);
        if (defaultPullPolicy is not null)
        {
            options = options with { DefaultPullPolicy = defaultPullPolicy, DefaultPullPolicyNamespaces = null };
        }

        return PullCoverage.Analyze(seen, options);
    }

    /// <summary>The options a policy's <c>spec.pulls</c> gives for a snapshot's namespaces.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="snapshot">The snapshot (its namespaces decide where the default pull policy applies).</param>
    /// <returns>The options; the built-in defaults when the policy has no <c>pulls</c>.</returns>
    public static PullCoverageOptions OptionsFor(CompiledPolicy policy, ClusterSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(snapshot);
        var options = new PullCoverageOptions();
        if (policy.Document.Spec.Pulls is not { } pulls)
        {
            return options;
        }

        IEnumerable<string> namespaces = snapshot.Namespaces.Select(n => n.Name).Concat(snapshot.Workloads.Select(w => w.Namespace!)).Distinct(StringComparer.Ordinal);
        return options with
        {
            DefaultPullPolicy = pulls.DefaultPullPolicy,
            DefaultPullPolicyNamespaces = [.. namespaces.Where(n => policy.PullScope!.Contains(snapshot.GetNamespace(n) ?? NamespaceObject.Named(n)))],
            PublicRegistries = pulls.PublicRegistries?.Items ?? options.PublicRegistries,
            PrivateRepositories = pulls.PrivateRepositories?.Items ?? options.PrivateRepositories,
        };
    }

    /// <summary>Kubernetes' default <c>imagePullPolicy</c>: <c>Always</c> for <c>:latest</c> or no tag (without a digest), else <c>IfNotPresent</c>.</summary>
    /// <param name="image">The image.</param>
    /// <returns>The policy.</returns>
    public static string DefaultPullPolicy(string image) => PullCoverage.DefaultPolicy(image);
}
