using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using RegistryPolicy.Tests.Policies;
using RegistryPolicy.Tests.Support;

namespace RegistryPolicy.Tests.AspNetCore;

/// <summary>
/// The real <c>registry-policy serve</c> over real TLS on loopback: HttpClient and curl, certificate rotation through a
/// secret volume's <c>..data</c> symlink, map reloads, hostile bodies and SIGTERM, each bounded in time and count.
/// </summary>
[Collection(nameof(WebhookHostTests))]
public sealed class WebhookHostTests
{
    private static readonly Lazy<byte[]> PodReview = new(() => Reviews.For(
        KubectlObjects.Pod("web", ("web", "nginx:1.25"), ("exporter", "quay.io/prometheus/node-exporter:v1.8.0"), ("pause", "gcr.io/google-containers/pause:3.9"))));

    private static string MapFile(string dir, string text)
    {
        string path = Path.Combine(dir, "maps.conf");
        File.WriteAllText(path, text);
        return path;
    }

    private static async Task<(int Status, string Body)> Post(HttpClient client, Uri address, byte[] body, string path = "/mutate/pods")
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using HttpResponseMessage response = await client.PostAsync(new Uri(address, path), content);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [SkippableFact]
    public async Task Reviews_over_real_TLS_are_answered_to_HttpClient_and_to_curl()
    {
        string curl = RealTools.Require("curl", "apt-get install curl");
        using var tls = new SecretVolume();
        using var serve = new ServeProcess(tls, "--map-file", Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "maps.conf"));
        using HttpClient client = tls.Client();

        var (status, body) = await Post(client, serve.BaseAddress, PodReview.Value);
        Assert.Equal(200, status);
        JsonArray patch = Reviews.Patch(Reviews.Response(Encoding.UTF8.GetBytes(body)))!;
        Assert.Equal(3, patch.Count);

        string reviewFile = Path.Combine(tls.Directory, "review.json");
        File.WriteAllBytes(reviewFile, PodReview.Value);
        ProcessResult viaCurl = RealTools.Run(curl, ["-sS", "--fail", "--cacert", tls.CaFile, "-H", "Content-Type: application/json", "--data-binary", "@" + reviewFile,
            new Uri(serve.BaseAddress, "/mutate/pods").ToString()], timeout: TimeSpan.FromSeconds(30));
        Assert.True(viaCurl.ExitCode == 0, viaCurl.Error);
        Assert.Equal(body, viaCurl.Output);

        Assert.Equal("ok\n", await client.GetStringAsync(new Uri(serve.BaseAddress, "/healthz")));
        Assert.StartsWith("ready\n", await client.GetStringAsync(new Uri(serve.BaseAddress, "/readyz")), StringComparison.Ordinal);
        string metrics = await client.GetStringAsync(new Uri(serve.BaseAddress, "/metrics"));
        Assert.Contains("registry_policy_webhook_requests_total{endpoint=\"pods\",outcome=\"patched\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("registry_policy_webhook_patch_operations_total{endpoint=\"pods\"} 6", metrics, StringComparison.Ordinal);
        Assert.Contains("registry_policy_webhook_request_duration_seconds_count{endpoint=\"pods\"} 2", metrics, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_certificate_rotated_through_the_secret_volume_symlink_is_served_without_a_restart_or_a_failed_request()
    {
        using var tls = new SecretVolume();
        string first = X509Certificate2.CreateFromPem(File.ReadAllText(tls.CertificateFile)).SerialNumber;
        using var serve = new ServeProcess(tls, "--map-file", Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "maps.conf"), "--reload-interval", "0.2");
        var seen = new List<string>();
        int answered = 0, failed = 0;
        var failures = new List<string>();
        using var stop = new CancellationTokenSource();
        // Half the clients open a new connection (a new handshake) for every request.
        Task[] load = [.. Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
        {
            using HttpClient client = tls.Client(seen, keepAlive: i % 2 == 0);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var (status, _) = await Post(client, serve.BaseAddress, PodReview.Value);
                    if (status == 200)
                    {
                        Interlocked.Increment(ref answered);
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
                catch (HttpRequestException e)
                {
                    Interlocked.Increment(ref failed);
                    lock (failures)
                    {
                        failures.Add(e.ToString());
                    }
                }
            }
        }))];

        await Task.Delay(500);
        // A half-written update first: a new certificate with the old key. It is refused; the old pair stays in force.
        var second = tls.Issue("second");
        tls.Publish(second.Certificate, File.ReadAllText(tls.KeyFile));
        await Task.Delay(800);
        lock (seen)
        {
            Assert.DoesNotContain(second.Serial, seen);
        }

        tls.Publish(second);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            lock (seen)
            {
                if (seen.Contains(second.Serial))
                {
                    break;
                }
            }

            await Task.Delay(100);
        }

        await Task.Delay(500);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        lock (seen)
        {
            Assert.Contains(first, seen);
            Assert.Contains(second.Serial, seen);
        }

        Assert.True(failed == 0, $"{failed} failed of {answered + failed}:\n{string.Join("\n", failures.Take(3))}\n{serve.Log}");
        Assert.True(answered > 20, $"only {answered} requests");
        Assert.Contains("certificate was refused", serve.Log, StringComparison.Ordinal);
        Assert.Contains("Serving certificate in force", serve.Log, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_map_replaced_by_an_invalid_one_mid_load_keeps_the_old_map_and_readyz_metrics_and_the_log_say_so()
    {
        using var tls = new SecretVolume();
        string map = MapFile(tls.Directory, "default::\ndocker.io::old.example.com/docker.io\n");
        using var serve = new ServeProcess(tls, "--map-file", map, "--reload-interval", "0.2");
        using HttpClient client = tls.Client();
        string Value(string body) => (string)Reviews.Patch(Reviews.Response(Encoding.UTF8.GetBytes(body)))![0]!["value"]!;

        Assert.StartsWith("old.example.com/", Value((await Post(client, serve.BaseAddress, PodReview.Value)).Body), StringComparison.Ordinal);

        File.WriteAllText(map, "default::\ndocker.io::new.example.com::docker.io\n"); // two '::' on a line: an error
        string readyz = string.Empty;
        for (int i = 0; i < 100 && !readyz.Contains("reload refused", StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);
            var (status, body) = await Post(client, serve.BaseAddress, PodReview.Value);
            Assert.Equal(200, status);
            Assert.StartsWith("old.example.com/", Value(body), StringComparison.Ordinal);
            using HttpResponseMessage ready = await client.GetAsync(new Uri(serve.BaseAddress, "/readyz"));
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode); // still serving the old version: ready
            readyz = await ready.Content.ReadAsStringAsync();
        }

        Assert.Contains("reload refused, the previous version stays in force", readyz, StringComparison.Ordinal);
        Assert.Contains(":2:", readyz, StringComparison.Ordinal); // the file and line of the error
        string metrics = await client.GetStringAsync(new Uri(serve.BaseAddress, "/metrics"));
        Assert.Contains("registry_policy_webhook_reload_failures_total{source=\"config\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("registry_policy_webhook_stale 1", metrics, StringComparison.Ordinal);
        Assert.Contains("The new configuration was refused", serve.Log, StringComparison.Ordinal);

        File.WriteAllText(map, "default::\ndocker.io::new.example.com/docker.io\n");
        string value = string.Empty;
        for (int i = 0; i < 100 && !value.StartsWith("new.example.com/", StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);
            value = Value((await Post(client, serve.BaseAddress, PodReview.Value)).Body);
        }

        Assert.StartsWith("new.example.com/", value, StringComparison.Ordinal);
        Assert.Contains("registry_policy_webhook_stale 0", await client.GetStringAsync(new Uri(serve.BaseAddress, "/metrics")), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Oversized_truncated_slow_and_malformed_bodies_get_bounded_answers_and_the_host_keeps_serving()
    {
        using var tls = new SecretVolume();
        using var serve = new ServeProcess(tls, "--map-file", Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "maps.conf"), "--request-timeout", "2");
        using HttpClient client = tls.Client();
        var watch = Stopwatch.StartNew();

        // Oversized: answered 413 from the headers alone, before any of the body is read (a client that sends the body
        // anyway may see the connection closed under it: the server does not read 4 MiB it will refuse).
        using (SslStream stream = await Open(tls, serve.Port))
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /mutate/pods HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {4 * 1024 * 1024}\r\n\r\n"));
            Assert.StartsWith("HTTP/1.1 413", await ReadAll(stream).WaitAsync(TimeSpan.FromSeconds(10)), StringComparison.Ordinal);
        }

        Assert.Equal(400, (await Post(client, serve.BaseAddress, Encoding.UTF8.GetBytes("{\"apiVersion\":\"admission.k8s.io/v1\""))).Status);
        Assert.Equal(400, (await Post(client, serve.BaseAddress, Encoding.UTF8.GetBytes("not json"))).Status);

        // Truncated: a Content-Length larger than what is sent, then the client goes away.
        using (SslStream stream = await Open(tls, serve.Port))
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /mutate/pods HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {PodReview.Value.Length}\r\n\r\n"));
            await stream.WriteAsync(PodReview.Value.AsMemory(0, PodReview.Value.Length / 2));
        }

        // Slow drip: one byte every 300 ms; the request must end within the request timeout (2 s) plus slack.
        var drip = Stopwatch.StartNew();
        string dripAnswer;
        using (SslStream stream = await Open(tls, serve.Port))
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /mutate/pods HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {PodReview.Value.Length}\r\n\r\n"));
            var read = ReadAll(stream);
            for (int i = 0; i < 40 && !read.IsCompleted; i++)
            {
                try
                {
                    await stream.WriteAsync(PodReview.Value.AsMemory(i, 1));
                }
                catch (IOException)
                {
                    break; // the server closed the connection
                }

                await Task.Delay(300);
            }

            dripAnswer = await read.WaitAsync(TimeSpan.FromSeconds(10));
        }

        Assert.True(drip.Elapsed < TimeSpan.FromSeconds(8), $"the slow body took {drip.Elapsed}");
        Assert.True(dripAnswer.Length == 0 || dripAnswer.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), dripAnswer);

        // The host still answers, and nothing took long.
        Assert.Equal(200, (await Post(client, serve.BaseAddress, PodReview.Value)).Status);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        string metrics = await client.GetStringAsync(new Uri(serve.BaseAddress, "/metrics"));
        Assert.True(metrics.Contains("outcome=\"too_large\"} 1", StringComparison.Ordinal), metrics);
        Assert.True(metrics.Contains("outcome=\"bad_request\"} 2", StringComparison.Ordinal), metrics); // the two malformed bodies
        Assert.True(metrics.Contains("outcome=\"aborted\"} 1", StringComparison.Ordinal), metrics);     // the truncated one
        Assert.True(metrics.Contains("outcome=\"timeout\"} 1", StringComparison.Ordinal), metrics);     // the slow one
        Assert.False(serve.Log.Contains("fail:", StringComparison.Ordinal), serve.Log);                 // no Kestrel error after the 408
    }

    [SkippableFact]
    public async Task Sigterm_answers_every_request_in_flight_then_exits_cleanly()
    {
        using var tls = new SecretVolume();
        using var serve = new ServeProcess(tls, "--map-file", Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "maps.conf"), "--shutdown-delay", "4");
        byte[] review = PodReview.Value;
        string head = $"POST /mutate/pods HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {review.Length}\r\n\r\n";

        // Requests in flight: headers and half the body sent before SIGTERM, the rest after it.
        var streams = new List<SslStream>();
        for (int i = 0; i < 8; i++)
        {
            SslStream stream = await Open(tls, serve.Port);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(review.AsMemory(0, review.Length / 2));
            await stream.FlushAsync();
            streams.Add(stream);
        }

        await Task.Delay(200);
        serve.Terminate();
        await Task.Delay(300);

        // During the shutdown delay: /readyz fails, and a new connection still gets its review answered.
        using (HttpClient fresh = tls.Client(keepAlive: false))
        {
            using HttpResponseMessage ready = await fresh.GetAsync(new Uri(serve.BaseAddress, "/readyz"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal(200, (await Post(fresh, serve.BaseAddress, review)).Status);
        }

        Task<string>[] answers = [.. streams.Select(async stream =>
        {
            await stream.WriteAsync(review.AsMemory(review.Length / 2));
            await stream.FlushAsync();
            return await ReadAll(stream);
        })];
        string[] texts = await Task.WhenAll(answers).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.All(texts, t => Assert.StartsWith("HTTP/1.1 200", t, StringComparison.Ordinal));
        Assert.All(texts, t => Assert.Contains("\"patchType\":\"JSONPatch\"", t, StringComparison.Ordinal));
        foreach (SslStream stream in streams)
        {
            await stream.DisposeAsync();
        }

        Assert.Equal(0, serve.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains("Application is shutting down", serve.Log, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void A_few_seconds_of_hey_over_TLS_with_keep_alive_have_no_errors()
    {
        string hey = RealTools.Require("hey", "apt-get install hey");
        using var tls = new SecretVolume();
        using var serve = new ServeProcess(tls, "--map-file", Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "maps.conf"), "--log-level", "warning");
        string reviewFile = Path.Combine(tls.Directory, "review.json");
        File.WriteAllBytes(reviewFile, PodReview.Value);

        ProcessResult result = RealTools.Run(hey, ["-z", "3s", "-c", "16", "-m", "POST", "-T", "application/json", "-D", reviewFile,
            new Uri(serve.BaseAddress, "/mutate/pods").ToString()], timeout: TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Matches(@"\[200\]\s+\d+ responses", result.Output);
        Assert.DoesNotMatch(@"\[(4|5)\d\d\]", result.Output);
        Assert.DoesNotContain("Error distribution", result.Output, StringComparison.Ordinal);
    }

    private static async Task<SslStream> Open(SecretVolume tls, int port)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, certificate, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(tls.Ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return certificate is not null && chain.Build(new X509Certificate2(certificate));
        });
        await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", ApplicationProtocols = [SslApplicationProtocol.Http11] });
        return stream;
    }

    /// <summary>Reads one HTTP/1.1 response (headers and a Content-Length body), or what arrives before the server closes.</summary>
    private static async Task<string> ReadAll(SslStream stream)
    {
        var received = new MemoryStream();
        byte[] buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                int n = await stream.ReadAsync(buffer);
                if (n == 0)
                {
                    break;
                }

                received.Write(buffer, 0, n);
                string text = Encoding.UTF8.GetString(received.ToArray());
                int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                var length = System.Text.RegularExpressions.Regex.Match(text, @"Content-Length: (\d+)", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
                if (end >= 0 && length.Success && Encoding.UTF8.GetByteCount(text[(end + 4)..]) >= int.Parse(length.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
                {
                    break;
                }
            }
        }
        catch (IOException)
        {
            // closed
        }

        return Encoding.UTF8.GetString(received.ToArray());
    }
}
