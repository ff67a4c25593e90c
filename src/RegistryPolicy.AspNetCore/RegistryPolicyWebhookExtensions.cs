using System.Buffers;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RegistryPolicy.AspNetCore;

/// <summary>
/// Adds the webhooks to an ASP.NET Core host: <c>POST /mutate/pods</c>, <c>POST /mutate/secrets</c>, <c>GET /healthz</c>,
/// <c>/readyz</c> and <c>/metrics</c>. Endpoints are plain request delegates (no reflection, trimming- and NativeAOT-safe).
/// Thread-safe.
/// </summary>
public static partial class RegistryPolicyWebhookExtensions
{
    /// <summary>
    /// Registers the configuration loader (it loads before the server starts and re-reads the files when they change), the
    /// metrics and the shutdown delay.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="options">What to serve.</param>
    /// <returns>The same services.</returns>
    public static IServiceCollection AddRegistryPolicyWebhooks(this IServiceCollection services, RegistryPolicyWebhookOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton(_ => new WebhookStatus());
        services.AddSingleton(sp => new WebhookMetrics(() => sp.GetRequiredService<WebhookStatus>().Stale));
        services.AddSingleton<WebhookReloader>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookReloader>());
        services.AddHostedService<ShutdownDelay>();
        return services;
    }

    /// <summary>
    /// Maps the endpoints (call <see cref="AddRegistryPolicyWebhooks"/> first) and loads the first version of the map and
    /// policy, so that <see cref="WebhookStatus.Ready"/> can be checked before the server starts.
    /// </summary>
    /// <param name="endpoints">The application.</param>
    /// <returns>The same application.</returns>
    public static IEndpointRouteBuilder MapRegistryPolicyWebhooks(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        IServiceProvider services = endpoints.ServiceProvider;
        WebhookStatus state = services.GetRequiredService<WebhookStatus>();
        WebhookMetrics metrics = services.GetRequiredService<WebhookMetrics>();
        RegistryPolicyWebhookOptions options = services.GetRequiredService<RegistryPolicyWebhookOptions>();
        ILogger logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("RegistryPolicy.AspNetCore.Webhooks");
        // The first version loads now, before the server can listen: a host can check WebhookStatus.Ready before it starts.
        services.GetRequiredService<WebhookReloader>().Check();
        endpoints.MapPost("/mutate/pods", context => Review(context, "pods", static (h, body) => h.MutatePods(body), state, metrics, options, logger));
        endpoints.MapPost("/mutate/secrets", context => Review(context, "secrets", static (h, body) => h.MutateSecrets(body), state, metrics, options, logger));
        endpoints.MapGet("/healthz", static context => Text(context, 200, "ok\n"));
        endpoints.MapGet("/readyz", context => Text(context, state.Ready ? 200 : 503, state.Describe()));
        endpoints.MapGet("/metrics", context =>
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            return context.Response.WriteAsync(metrics.Export(), context.RequestAborted);
        });
        return endpoints;
    }

    private static Task Text(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text, context.RequestAborted);
    }

    private static async Task Review(HttpContext context, string endpoint, Func<AdmissionReviewHandler, ReadOnlyMemory<byte>, AdmissionAnswer> answer,
        WebhookStatus state, WebhookMetrics metrics, RegistryPolicyWebhookOptions options, ILogger logger)
    {
        long started = Stopwatch.GetTimestamp();
        string outcome = "aborted";
        int operations = 0;
        using var timeout = new CancellationTokenSource(options.RequestTimeout);
        using CancellationTokenRegistration cancelRead = timeout.Token.Register(static state => ((HttpContext)state!).Request.BodyReader.CancelPendingRead(), context);
        byte[]? rented = null;
        try
        {
            if (state.Handler is not { } handler)
            {
                outcome = "not_ready";
                await Text(context, 503, "not ready: the configuration has not loaded\n").ConfigureAwait(false);
                return;
            }

            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = options.MaxRequestBodyBytes;
            }

            long? declared = context.Request.ContentLength;
            if (declared > options.MaxRequestBodyBytes)
            {
                outcome = "too_large";
                await Text(context, 413, $"the review is larger than {options.MaxRequestBodyBytes} bytes\n").ConfigureAwait(false);
                return;
            }

            int length = 0;
            rented = ArrayPool<byte>.Shared.Rent(declared is > 0 and < int.MaxValue ? (int)declared.Value : 16 * 1024);
            // The body through the pipe: on the timeout the pending read is cancelled and the reader advanced, so Kestrel can
            // still finish the request after the 408 (a read cancelled through a Stream leaves the pipe mid-read).
            System.IO.Pipelines.PipeReader reader = context.Request.BodyReader;
            while (true)
            {
                System.IO.Pipelines.ReadResult chunk = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = chunk.Buffer;
                if (chunk.IsCanceled)
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                    throw new OperationCanceledException(timeout.Token);
                }

                if (length + buffer.Length > options.MaxRequestBodyBytes)
                {
                    reader.AdvanceTo(buffer.End);
                    outcome = "too_large";
                    context.Response.Headers.Connection = "close";
                    await Text(context, 413, $"the review is larger than {options.MaxRequestBodyBytes} bytes\n").ConfigureAwait(false);
                    return;
                }

                if (length + buffer.Length > rented.Length)
                {
                    byte[] larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(options.MaxRequestBodyBytes, Math.Max((long)rented.Length * 2, length + buffer.Length)));
                    rented.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(rented);
                    rented = larger;
                }

                buffer.CopyTo(rented.AsSpan(length));
                length += (int)buffer.Length;
                reader.AdvanceTo(buffer.End);
                if (chunk.IsCompleted)
                {
                    break;
                }
            }

            AdmissionAnswer result = answer(handler, rented.AsMemory(0, length));
            operations = result.PatchOperations;
            outcome = Outcome(result.Outcome);
            if (result.Outcome == AdmissionOutcome.BadRequest)
            {
                BadReview(logger, endpoint, result.Message);
            }

            context.Response.StatusCode = result.StatusCode;
            context.Response.ContentType = result.ContentType;
            context.Response.ContentLength = result.Body.Length;
            await context.Response.Body.WriteAsync(result.Body, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            outcome = "too_large";
            await TryText(context, 413, $"the review is larger than {options.MaxRequestBodyBytes} bytes\n").ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.Message.StartsWith("Unexpected end of request content", StringComparison.Ordinal))
        {
            outcome = "aborted"; // the client closed the connection before its body was complete
        }
        catch (BadHttpRequestException e)
        {
            outcome = "bad_request";
            await TryText(context, e.StatusCode, "the request could not be read: " + e.Message + "\n").ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
            outcome = "timeout";
            TimedOut(logger, endpoint, options.RequestTimeout.TotalSeconds);
            // The body was not read to its end: the connection is closed right after the answer, not drained (a slow client
            // would otherwise hold it for as long as it keeps dripping).
            context.Response.Headers.Connection = "close";
            await TryText(context, 408, $"the review did not arrive within {options.RequestTimeout.TotalSeconds:0.#} s\n").ConfigureAwait(false);
            try
            {
                await context.Response.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
            {
                // the client went away
            }

            context.Abort();
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            outcome = "aborted"; // the client went away
        }
        catch (Exception e)
        {
            // A bug. The API server applies the failure policy (Ignore in our manifests). No request content is logged.
            outcome = "error";
            Failed(logger, endpoint, e.GetType().FullName ?? "exception", e.StackTrace ?? string.Empty);
            await TryText(context, 500, "internal error; the webhook's log has the details\n").ConfigureAwait(false);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }

            metrics.Request(endpoint, outcome, operations, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    private static async Task TryText(HttpContext context, int status, string text)
    {
        if (!context.Response.HasStarted)
        {
            try
            {
                await Text(context, status, text).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                // the client went away
            }
        }
    }

    private static string Outcome(AdmissionOutcome outcome) => outcome switch
    {
        AdmissionOutcome.Patched => "patched",
        AdmissionOutcome.Unchanged => "unchanged",
        AdmissionOutcome.Skipped => "skipped",
        AdmissionOutcome.Denied => "denied",
        _ => "bad_request",
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bad review on {Endpoint}: {Message}")]
    private static partial void BadReview(ILogger logger, string endpoint, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A review on {Endpoint} did not arrive within {Seconds} s; answered 408")]
    private static partial void TimedOut(ILogger logger, string endpoint, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Internal error on {Endpoint}: {Exception} at {StackTrace}")]
    private static partial void Failed(ILogger logger, string endpoint, string exception, string stackTrace);
}
