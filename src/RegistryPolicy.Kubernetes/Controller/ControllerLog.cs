using Microsoft.Extensions.Logging;

namespace RegistryPolicy.Kubernetes.Controller;

/// <summary>The controller's log messages (source-generated, so disabled levels cost nothing). None takes Secret data.</summary>
internal static partial class ControllerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "list or watch of {Resource} failed: {Error}")]
    public static partial void WatchFailed(ILogger logger, string resource, string error);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "became the leader ({Lease})")]
    public static partial void Leading(ILogger logger, string lease);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "stopped leading ({Lease}): no more writes until the lease is won again")]
    public static partial void StoppedLeading(ILogger logger, string lease);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "reconcile failed: {Error}")]
    public static partial void ReconcileFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "dry-run: would {Action}")]
    public static partial void DryRun(ILogger logger, string action);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "{Action}")]
    public static partial void Applied(ILogger logger, string action);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "skipped {Kind} {Object}: {Why}")]
    public static partial void Skipped(ILogger logger, string kind, string @object, string why);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "runaway guard: the plan wants more than {Limit} creates per minute; the rest wait. Check the policy's targets if this is not expected")]
    public static partial void RunawayGuard(ILogger logger, int limit);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "conflict on {Kind} {Object}: re-reading it")]
    public static partial void Conflict(ILogger logger, string kind, string @object);

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "the API server asked to slow down (429): writes pause for {Seconds} s")]
    public static partial void Throttled(ILogger logger, double seconds);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "{Kind} {Object} failed ({Error}); retrying in {Delay} ms")]
    public static partial void WriteFailed(ILogger logger, string kind, string @object, string error, long delay);
}
