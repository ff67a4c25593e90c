using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RegistryPolicy.AspNetCore;

/// <summary>
/// The version of the configuration in force (swapped atomically on reload) and what <c>/readyz</c> reports; a host can
/// read it from the services to check readiness itself. Thread-safe.
/// </summary>
public sealed class WebhookStatus
{
    private volatile AdmissionReviewHandler? _handler;
    private volatile string? _configError;
    private volatile string? _certificateError;
    private volatile bool _stopping;

    internal WebhookStatus()
    {
    }

    internal AdmissionReviewHandler? Handler => _handler;

    /// <summary>The configuration in force, or <see langword="null"/> before the first one loaded.</summary>
    public WebhookConfiguration? Configuration => _handler?.Configuration;

    /// <summary>When the configuration in force was loaded.</summary>
    public DateTimeOffset LoadedAt { get; private set; }

    /// <summary>Why the newest map or policy was refused (the previous version, if any, stays in force); null when it is in force.</summary>
    public string? ConfigurationError => _configError;

    /// <summary>Why the newest certificate files were refused (the previous certificate stays in force); null when they are in force.</summary>
    public string? CertificateError => _certificateError;

    /// <summary>Whether the host is shutting down (<c>/readyz</c> then fails so the Service drops it).</summary>
    public bool Stopping => _stopping;

    /// <summary>Whether the webhooks answer: a configuration is in force and the host is not stopping.</summary>
    public bool Ready => _handler is not null && !_stopping;

    internal int Stale => (_configError is not null && _handler is not null ? 1 : 0) + (_certificateError is not null ? 1 : 0) > 0 ? 1 : 0;

    internal void Use(AdmissionReviewHandler handler, DateTimeOffset at)
    {
        LoadedAt = at;
        _handler = handler;
        _configError = null;
    }

    internal void ConfigRefused(string error) => _configError = error;

    internal void CertificateState(string? error) => _certificateError = error;

    internal void Stop() => _stopping = true;

    /// <summary>The readiness report <c>/readyz</c> prints: what is in force, since when, and what was refused.</summary>
    /// <returns>Lines of text; never a value from a Secret.</returns>
    public string Describe()
    {
        var text = new System.Text.StringBuilder();
        text.Append(_stopping ? "stopping: not ready\n" : _handler is null ? "not ready: the configuration has not loaded\n" : "ready\n");
        if (_handler is { } h)
        {
            text.Append("configuration: ").Append(h.Configuration.Description).Append(" (in force since ").Append(LoadedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture)).Append(")\n");
            foreach (var d in h.Configuration.Diagnostics.Take(20))
            {
                text.Append("warning: ").Append(d.ToString()).Append('\n');
            }
        }

        if (_configError is { } e)
        {
            text.Append(_handler is null ? "error: " : "reload refused, the previous version stays in force: ").Append(e).Append('\n');
        }

        if (_certificateError is { } c)
        {
            text.Append("certificate reload refused, the previous certificate stays in force: ").Append(c).Append('\n');
        }

        return text.ToString();
    }
}

/// <summary>Loads the configuration, then re-reads the files when they change; re-reads the certificate too.</summary>
internal sealed partial class WebhookReloader(RegistryPolicyWebhookOptions options, WebhookStatus state, WebhookMetrics metrics, ILogger<WebhookReloader> logger,
    TimeProvider time) : BackgroundService
{
    private string? _fingerprint;
    private readonly SemaphoreSlim _changed = new(0, 1);

    /// <summary>Loads the first version before the server starts, so that a host is ready as soon as it listens.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Check();
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var watchers = new WatcherSet(Directories(), () =>
        {
            try
            {
                _changed.Release();
            }
            catch (SemaphoreFullException)
            {
                // a check is already pending
            }
        });
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _changed.WaitAsync(options.ReloadInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Check();
        }
    }

    private readonly object _gate = new();

    internal void Check()
    {
        lock (_gate)
        {
            CheckNow();
        }
    }

    private void CheckNow()
    {
        string fingerprint = ConfigurationLoader.Fingerprint(options);
        if (fingerprint != _fingerprint)
        {
            _fingerprint = fingerprint;
            WebhookConfiguration? loaded = ConfigurationLoader.TryLoad(options, out string? error);
            if (loaded is not null)
            {
                bool first = state.Handler is null;
                state.Use(new AdmissionReviewHandler(loaded), time.GetUtcNow());
                if (!first)
                {
                    metrics.Reloaded("config");
                }

                Loaded(logger, loaded.Description);
                foreach (var d in loaded.Diagnostics)
                {
                    ConfigWarning(logger, d.ToString());
                }
            }
            else
            {
                state.ConfigRefused(error!);
                metrics.ReloadFailed("config");
                if (state.Handler is null)
                {
                    NotLoaded(logger, error!);
                }
                else
                {
                    Refused(logger, error!);
                }
            }
        }

        if (options.Certificate is { } certificate)
        {
            bool changed = certificate.Reload();
            string? before = state.CertificateError;
            state.CertificateState(certificate.LastError);
            if (changed)
            {
                metrics.Reloaded("certificate");
                CertificateLoaded(logger, certificate.Current.Subject, certificate.Current.NotAfter);
            }
            else if (certificate.LastError is { } error && error != before)
            {
                metrics.ReloadFailed("certificate");
                CertificateRefused(logger, error);
            }
        }
    }

    private IEnumerable<string> Directories() =>
        new[] { options.MapFile, options.PolicyFile, options.Certificate?.CertificateFile, options.Certificate?.KeyFile }
            .Where(p => p is not null)
            .Select(p => Path.GetDirectoryName(Path.GetFullPath(p!))!)
            .Distinct(StringComparer.Ordinal);

    [LoggerMessage(Level = LogLevel.Information, Message = "Configuration in force: {Description}")]
    private static partial void Loaded(ILogger logger, string description);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Configuration warning: {Warning}")]
    private static partial void ConfigWarning(ILogger logger, string warning);

    [LoggerMessage(Level = LogLevel.Error, Message = "The configuration did not load, so the webhooks are not ready: {Error}")]
    private static partial void NotLoaded(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "The new configuration was refused; the previous version stays in force: {Error}")]
    private static partial void Refused(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving certificate in force: {Subject}, valid until {NotAfter:u}")]
    private static partial void CertificateLoaded(ILogger logger, string subject, DateTime notAfter);

    [LoggerMessage(Level = LogLevel.Error, Message = "The new certificate was refused; the previous one stays in force: {Error}")]
    private static partial void CertificateRefused(ILogger logger, string error);

    /// <summary>File-system events on the watched directories, as a hint to check early (the timer is the guarantee).</summary>
    private sealed class WatcherSet : IDisposable
    {
        private readonly List<FileSystemWatcher> _watchers = [];

        public WatcherSet(IEnumerable<string> directories, Action changed)
        {
            foreach (string directory in directories)
            {
                try
                {
                    var watcher = new FileSystemWatcher(directory) { IncludeSubdirectories = false, NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size };
                    watcher.Changed += (_, _) => changed();
                    watcher.Created += (_, _) => changed();
                    watcher.Renamed += (_, _) => changed();
                    watcher.Deleted += (_, _) => changed();
                    watcher.EnableRaisingEvents = true;
                    _watchers.Add(watcher);
                }
                catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
                {
                    // inotify limits or a missing directory: the timer still checks
                }
            }
        }

        public void Dispose()
        {
            foreach (FileSystemWatcher watcher in _watchers)
            {
                watcher.Dispose();
            }
        }
    }
}

/// <summary>
/// On SIGTERM: fail <c>/readyz</c> at once and keep answering for the shutdown delay, then let the server drain. The delay
/// runs in <see cref="IHostedLifecycleService.StoppingAsync"/>, which the host awaits before it stops any hosted service,
/// the server included (a plain <c>StopAsync</c> would run after Kestrel had stopped listening).
/// </summary>
internal sealed class ShutdownDelay(RegistryPolicyWebhookOptions options, WebhookStatus state, IHostApplicationLifetime lifetime, TimeProvider time) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(state.Stop);
        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        state.Stop();
        if (options.ShutdownDelay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(options.ShutdownDelay, time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // the host's shutdown timeout ran out first
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
