using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RegistryPolicy.Policies;

namespace RegistryPolicy.Kubernetes.Controller;

/// <summary>
/// The propagation controller as a hosted service, for teams that embed it in their own host:
/// <c>services.AddSingleton(controller).AddHostedService&lt;PropagationControllerService&gt;()</c>, or construct it directly.
/// Stopping the host cancels the controller and waits for it (bounded by the host's shutdown timeout).
/// Thread-safe.
/// </summary>
public sealed class PropagationControllerService : BackgroundService
{
    /// <summary>Wraps a controller you built.</summary>
    /// <param name="controller">The controller; the service runs it, and disposes it when the service is disposed.</param>
    public PropagationControllerService(PropagationController controller)
    {
        ArgumentNullException.ThrowIfNull(controller);
        Controller = controller;
    }

    /// <summary>Builds the controller from its parts.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="connection">The API server.</param>
    /// <param name="options">Options, or <see langword="null"/> for the defaults.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="meterFactory">The meter factory, or <see langword="null"/>.</param>
    public PropagationControllerService(CompiledPolicy policy, KubernetesConnection connection, PropagationControllerOptions? options,
        ILogger<PropagationControllerService> logger, IMeterFactory? meterFactory = null)
        : this(new PropagationController(policy, connection, options, logger, meterFactory))
    {
    }

    /// <summary>The controller (its <see cref="PropagationController.Status"/> and <see cref="PropagationController.IsHealthy"/> feed health checks).</summary>
    public PropagationController Controller { get; }

    /// <inheritdoc/>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Controller.RunAsync(stoppingToken);

    /// <inheritdoc/>
    public override void Dispose()
    {
        base.Dispose();
        Controller.Dispose();
    }
}
