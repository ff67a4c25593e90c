using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace RegistryPolicy.AspNetCore;

/// <summary>
/// The webhooks' instruments on the <c>RegistryPolicy.Webhooks</c> meter (so OpenTelemetry or dotnet-counters can read
/// them too), and their Prometheus text exposition for <c>/metrics</c>. Labels hold only fixed words (endpoint, outcome,
/// source), never anything from a request. Thread-safe.
/// </summary>
internal sealed class WebhookMetrics : IDisposable
{
    public const string MeterName = "RegistryPolicy.Webhooks";

    /// <summary>Upper bounds of the latency histogram, in seconds: 50 µs to 5 s (the manifests' timeout).</summary>
    internal static readonly double[] Bounds = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

    private readonly Meter _meter;
    private readonly MeterListener _listener;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _patchOperations;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _reloads;
    private readonly Counter<long> _reloadFailures;
    private readonly ConcurrentDictionary<(string Name, string? A, string? B), Series> _series = new();
    private readonly Func<int> _stale;

    private static readonly (string Name, string Type, string Help)[] Families =
    [
        ("registry_policy_webhook_requests_total", "counter", "Admission reviews answered, by endpoint and outcome (patched, unchanged, skipped, denied, bad_request, too_large, timeout, aborted, not_ready, error)."),
        ("registry_policy_webhook_patch_operations_total", "counter", "JSON Patch operations sent, by endpoint."),
        ("registry_policy_webhook_request_duration_seconds", "histogram", "Time from the first byte of the body to the answer, by endpoint."),
        ("registry_policy_webhook_reloads_total", "counter", "New versions of the configuration or certificate taken into use, by source."),
        ("registry_policy_webhook_reload_failures_total", "counter", "New versions refused (the previous one stays in force), by source."),
        ("registry_policy_webhook_stale", "gauge", "1 while the newest version of a file was refused and an older one is in force."),
    ];

    public WebhookMetrics(Func<int> stale)
    {
        _stale = stale;
        _meter = new Meter(MeterName);
        _requests = _meter.CreateCounter<long>(Families[0].Name, description: Families[0].Help);
        _patchOperations = _meter.CreateCounter<long>(Families[1].Name, description: Families[1].Help);
        _duration = _meter.CreateHistogram<double>(Families[2].Name, "s", Families[2].Help,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Bounds });
        _reloads = _meter.CreateCounter<long>(Families[3].Name, description: Families[3].Help);
        _reloadFailures = _meter.CreateCounter<long>(Families[4].Name, description: Families[4].Help);
        _meter.CreateObservableGauge(Families[5].Name, () => _stale(), description: Families[5].Help);
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, _meter) && instrument is not ObservableGauge<int>)
                {
                    listener.EnableMeasurementEvents(instrument, this);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>(static (instrument, value, tags, state) => ((WebhookMetrics)state!).Add(instrument.Name, value, tags));
        _listener.SetMeasurementEventCallback<double>(static (instrument, value, tags, state) => ((WebhookMetrics)state!).Observe(instrument.Name, value, tags));
        _listener.Start();
    }

    public void Request(string endpoint, string outcome, int patchOperations, double seconds)
    {
        var endpointTag = new KeyValuePair<string, object?>("endpoint", endpoint);
        _requests.Add(1, endpointTag, new KeyValuePair<string, object?>("outcome", outcome));
        if (patchOperations > 0)
        {
            _patchOperations.Add(patchOperations, endpointTag);
        }

        _duration.Record(seconds, endpointTag);
    }

    public void Reloaded(string source) => _reloads.Add(1, new KeyValuePair<string, object?>("source", source));

    public void ReloadFailed(string source) => _reloadFailures.Add(1, new KeyValuePair<string, object?>("source", source));

    private void Add(string name, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        Series series = _series.GetOrAdd((name, Tag(tags, 0), Tag(tags, 1)), static (key, tagNames) => new Series(tagNames, 0), Names(tags));
        Interlocked.Add(ref series.Count, value);
    }

    private void Observe(string name, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        Series series = _series.GetOrAdd((name, Tag(tags, 0), Tag(tags, 1)), static (key, tagNames) => new Series(tagNames, Bounds.Length + 1), Names(tags));
        int bucket = Array.BinarySearch(Bounds, value);
        bucket = bucket < 0 ? ~bucket : bucket;
        Interlocked.Increment(ref series.Buckets[bucket]);
        Interlocked.Increment(ref series.Count);
        double current, updated;
        do
        {
            current = Volatile.Read(ref series.Sum);
            updated = current + value;
        }
        while (Interlocked.CompareExchange(ref series.Sum, updated, current) != current);
    }

    private static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, int index) => index < tags.Length ? tags[index].Value as string : null;

    private static (string?, string?) Names(ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        (tags.Length > 0 ? tags[0].Key : null, tags.Length > 1 ? tags[1].Key : null);

    /// <summary>The Prometheus text exposition format (version 0.0.4).</summary>
    public string Export()
    {
        var text = new StringBuilder(2048);
        var all = _series.ToArray();
        foreach (var (name, type, help) in Families)
        {
            text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            if (type == "gauge")
            {
                text.Append(name).Append(' ').Append(_stale().ToString(CultureInfo.InvariantCulture)).Append('\n');
                continue;
            }

            foreach (var (key, series) in all.Where(s => s.Key.Name == name).OrderBy(s => s.Key.A, StringComparer.Ordinal).ThenBy(s => s.Key.B, StringComparer.Ordinal))
            {
                string labels = Labels(series.TagNames, key.A, key.B);
                if (type == "histogram")
                {
                    long cumulative = 0;
                    for (int i = 0; i <= Bounds.Length; i++)
                    {
                        cumulative += Volatile.Read(ref series.Buckets[i]);
                        string le = i < Bounds.Length ? Bounds[i].ToString("R", CultureInfo.InvariantCulture) : "+Inf";
                        text.Append(name).Append("_bucket{").Append(labels).Append(labels.Length > 0 ? "," : "").Append("le=\"").Append(le).Append("\"} ")
                            .Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
                    }

                    text.Append(name).Append("_sum").Append(Braces(labels)).Append(' ').Append(Volatile.Read(ref series.Sum).ToString("R", CultureInfo.InvariantCulture)).Append('\n');
                    text.Append(name).Append("_count").Append(Braces(labels)).Append(' ').Append(Volatile.Read(ref series.Count).ToString(CultureInfo.InvariantCulture)).Append('\n');
                }
                else
                {
                    text.Append(name).Append(Braces(labels)).Append(' ').Append(Volatile.Read(ref series.Count).ToString(CultureInfo.InvariantCulture)).Append('\n');
                }
            }
        }

        return text.ToString();
    }

    private static string Braces(string labels) => labels.Length == 0 ? string.Empty : "{" + labels + "}";

    private static string Labels((string? A, string? B) names, string? a, string? b)
    {
        var parts = new List<string>(2);
        if (names.A is not null)
        {
            parts.Add($"{names.A}=\"{Escape(a)}\"");
        }

        if (names.B is not null)
        {
            parts.Add($"{names.B}=\"{Escape(b)}\"");
        }

        return string.Join(",", parts);
    }

    private static string Escape(string? value) => (value ?? string.Empty).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    public void Dispose()
    {
        _listener.Dispose();
        _meter.Dispose();
    }

    private sealed class Series((string?, string?) tagNames, int buckets)
    {
        public readonly (string? A, string? B) TagNames = tagNames;
        public readonly long[] Buckets = new long[buckets];
        public long Count;
        public double Sum;
    }
}
