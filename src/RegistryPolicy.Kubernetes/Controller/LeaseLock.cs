using System.Globalization;
using System.Net;
using System.Text.Json;
using k8s.Autorest;
using k8s.LeaderElection;

namespace RegistryPolicy.Kubernetes.Controller;

/// <summary>
/// A <c>coordination.k8s.io/v1</c> Lease as the lock of KubernetesClient's <see cref="LeaderElector"/>, read and
/// written over <see cref="KubeApi"/> (no reflection-based serialization). Updates carry the resourceVersion of the
/// last read, so two candidates cannot both win: the second gets 409 and loses.
/// Thread-safe for the elector's use (one call at a time).
/// </summary>
internal sealed class LeaseLock(KubeApi api, string @namespace, string name, string identity, TimeSpan timeout) : ILock
{
    private string _resourceVersion = "";

    public string Identity => identity;

    public string Describe() => $"{@namespace}/{name}";

    public async Task<LeaderElectionRecord> GetAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            (JsonDocument document, string resourceVersion) = await api.GetRawAsync(ResourceType.Leases, @namespace, name, deadline.Token).ConfigureAwait(false);
            using (document)
            {
                _resourceVersion = resourceVersion;
                return KubeApi.Guarded(() => RecordOf(document.RootElement));
            }
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or JsonException ||
                                  (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // The elector tells "no lease yet" (create it) from other failures by this exception's status, and lets
            // any other exception out of its acquire loop: every failure becomes one it retries.
            HttpStatusCode status = e is KubeApiException k ? (HttpStatusCode)k.StatusCode : HttpStatusCode.ServiceUnavailable;
            throw new HttpOperationException(e.Message)
            {
                Response = new HttpResponseMessageWrapper(new HttpResponseMessage(status), ""),
            };
        }
    }

    public async Task<bool> CreateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            ApiObject created = await api.CreateAsync(ResourceType.Leases, @namespace, Json(record, null), deadline.Token).ConfigureAwait(false);
            _resourceVersion = created.ResourceVersion;
            return true;
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or JsonException ||
                                  (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    public async Task<bool> UpdateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            ApiObject updated = await api.ReplaceAsync(ResourceType.Leases, @namespace, name, Json(record, _resourceVersion), deadline.Token).ConfigureAwait(false);
            _resourceVersion = updated.ResourceVersion;
            return true;
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or JsonException ||
                                  (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    internal static LeaderElectionRecord RecordOf(JsonElement lease)
    {
        var record = new LeaderElectionRecord();
        if (!lease.TryGetProperty("spec", out JsonElement spec) || spec.ValueKind != JsonValueKind.Object)
        {
            return record;
        }

        record.HolderIdentity = KubeApi.String(spec, "holderIdentity");
        record.LeaseDurationSeconds = spec.TryGetProperty("leaseDurationSeconds", out JsonElement d) && d.TryGetInt32(out int seconds) ? seconds : 0;
        record.LeaderTransitions = spec.TryGetProperty("leaseTransitions", out JsonElement t) && t.TryGetInt32(out int transitions) ? transitions : 0;
        record.AcquireTime = Time(KubeApi.String(spec, "acquireTime"));
        record.RenewTime = Time(KubeApi.String(spec, "renewTime"));
        return record;
    }

    private byte[] Json(LeaderElectionRecord record, string? resourceVersion)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("apiVersion", "coordination.k8s.io/v1");
            writer.WriteString("kind", "Lease");
            writer.WriteStartObject("metadata");
            writer.WriteString("name", name);
            writer.WriteString("namespace", @namespace);
            if (resourceVersion is { Length: > 0 })
            {
                writer.WriteString("resourceVersion", resourceVersion);
            }

            writer.WriteEndObject();
            writer.WriteStartObject("spec");
            writer.WriteString("holderIdentity", record.HolderIdentity);
            writer.WriteNumber("leaseDurationSeconds", record.LeaseDurationSeconds);
            if (record.AcquireTime is { } acquired)
            {
                writer.WriteString("acquireTime", MicroTime(acquired));
            }

            if (record.RenewTime is { } renewed)
            {
                writer.WriteString("renewTime", MicroTime(renewed));
            }

            writer.WriteNumber("leaseTransitions", record.LeaderTransitions);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>metav1.MicroTime: RFC 3339 with six fractional digits, in UTC.</summary>
    private static string MicroTime(DateTime time) => time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static DateTime? Time(string? text) =>
        DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime time) ? time : null;
}
