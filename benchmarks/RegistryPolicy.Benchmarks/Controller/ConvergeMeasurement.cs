using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using RegistryPolicy.Tests.Kubernetes.Controller;

namespace RegistryPolicy.Benchmarks.Controller;

/// <summary>
/// The whole-process controller measurement of docs/performance.md: the fake API server in this process, seeded with
/// NAMESPACES namespaces of SECRETS Secrets each (one of them the Kyma base in kyma-system, the rest unrelated), and
/// <c>registry-policy controller</c> as its own process against it. Reports the time from start to converged, the write
/// rate, the controller's peak working set, and the end-to-end latency of two events (a copy edited by someone else; the
/// base changed, which touches every namespace).
/// </summary>
internal static class ConvergeMeasurement
{
    private const string BaseName = "serverless-registry-config-default";

    public static async Task<int> RunAsync(int namespaces, int secretsPerNamespace, double writesPerSecond, string? controllerGcConserve = null)
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        var objects = new List<JsonObject> { FakeApiServer.NamespaceJson("kyma-system") };
        objects.Add(FakeApiServer.SecretJson("kyma-system", BaseName, new Dictionary<string, string> { ["serverless.kyma-project.io/config"] = "credentials" },
            ("username", "robot"), ("password", "p1"), ("registryAddress", "registry.example.com")));
        for (int n = 0; n < namespaces; n++)
        {
            string ns = $"team-{n:D5}";
            objects.Add(FakeApiServer.NamespaceJson(ns));
            objects.Add(FakeApiServer.ServiceAccountJson(ns, "default"));
            for (int s = 1; s < secretsPerNamespace; s++)
            {
                objects.Add(FakeApiServer.SecretJson(ns, $"app-{s}", new Dictionary<string, string> { ["app"] = "x" }, ("token", $"t-{n}-{s}")));
            }
        }

        server.Seed(objects);
        objects.Clear();
        int secrets = server.Count("secrets", _ => true);
        Console.WriteLine($"seeded {namespaces} namespaces, {secrets} Secrets");

        string kubeconfig = Path.Combine(Path.GetTempPath(), $"rp-measure-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters: [{"{"}name: fake, cluster: {"{"}server: "{server.Url.GetLeftPart(UriPartial.Authority)}"{"}"}{"}"}]
            users: [{"{"}name: u, user: {"{}"}{"}"}]
            contexts: [{"{"}name: fake, context: {"{"}cluster: fake, user: u{"}"}{"}"}]
            current-context: fake
            """);
        string dll = Environment.GetEnvironmentVariable("RP_CONTROLLER_DLL") is { Length: > 0 } other ? other : Path.Combine(AppContext.BaseDirectory, "registry-policy.dll");
        Console.WriteLine($"controller: {dll}");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in new[] { dll, "controller", "--kubeconfig", kubeconfig, "--writes-per-second", writesPerSecond.ToString(CultureInfo.InvariantCulture),
                     "--max-creates-per-minute", "1000000", "--log-level", "warning", "--resync", "10m" })
        {
            info.ArgumentList.Add(a);
        }

        if (controllerGcConserve is not null)
        {
            // Only the controller's process: the fake API server in this one keeps its own settings.
            info.Environment["DOTNET_GCConserveMemory"] = controllerGcConserve;
        }

        if (Environment.GetEnvironmentVariable("RP_CONTROLLER_GC_HEAP_HARD_LIMIT") is { Length: > 0 } limit)
        {
            // What a container memory limit does to the runtime (its heap hard limit is 75% of the container's).
            info.Environment["DOTNET_GCHeapHardLimit"] = limit;
            Console.WriteLine($"controller GC heap hard limit: {limit}");
        }

        var clock = Stopwatch.StartNew();
        using var controller = Process.Start(info)!;
        var log = new StringBuilder();
        controller.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        controller.BeginErrorReadLine();
        long peak = 0;
        using var sampling = new CancellationTokenSource();
        Task sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, WorkingSet(controller.Id));
                await Task.Delay(100);
            }
        });

        try
        {
            // Converged: every namespace has its copy, and the base its finalizer.
            TimeSpan converged = await WaitAsync(server, () => Copies(server, "p1") == namespaces, TimeSpan.FromMinutes(20));
            int writes = server.Writes.Count;
            Console.WriteLine($"converged in {converged.TotalSeconds:F1} s: {writes} writes, {writes / converged.TotalSeconds:F0} writes/s (limit {writesPerSecond}/s)");
            await Task.Delay(2000);
            Console.WriteLine($"controller working set: peak {peak / (1024 * 1024)} MiB, now {WorkingSet(controller.Id) / (1024 * 1024)} MiB");

            // Per-event latency, end to end (the event reaches the controller, it plans, writes, and the server has the
            // write): copies edited by someone else, one at a time in different namespaces, each repaired; then new namespaces,
            // each given its copy.
            var repairs = new List<double>();
            for (int i = 0; i < 25; i++)
            {
                string victim = $"team-{(namespaces / 25 * i + 7) % namespaces:D5}";
                var edit = Stopwatch.StartNew();
                server.Edit("secrets", victim, BaseName, o => o["data"]!["password"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("tampered")));
                while ((string?)server.Get("secrets", victim, BaseName)!["data"]!["password"] != Convert.ToBase64String(Encoding.UTF8.GetBytes("p1")))
                {
                    await Task.Delay(1);
                }

                repairs.Add(edit.Elapsed.TotalMilliseconds);
                await Task.Delay(50);
            }

            Console.WriteLine($"an edited copy repaired (25 events, end to end): {Percentiles(repairs)}");
            var creations = new List<double>();
            for (int i = 0; i < 25; i++)
            {
                string fresh = $"new-{i:D3}";
                var created = Stopwatch.StartNew();
                server.Seed([FakeApiServer.NamespaceJson(fresh)]);
                while (server.Get("secrets", fresh, BaseName) is null)
                {
                    await Task.Delay(1);
                }

                creations.Add(created.Elapsed.TotalMilliseconds);
                await Task.Delay(50);
            }

            Console.WriteLine($"a new namespace given its copy (25 events, end to end): {Percentiles(creations)}");
            namespaces += 25;

            // The base changes: every namespace's copy is updated.
            var change = Stopwatch.StartNew();
            int before = server.Writes.Count;
            server.Edit("secrets", "kyma-system", BaseName, o => o["data"]!["password"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("p2")));
            TimeSpan all = await WaitAsync(server, () => Copies(server, "p2") == namespaces, TimeSpan.FromMinutes(20));
            Console.WriteLine($"a base change reached all {namespaces} copies in {all.TotalSeconds:F1} s ({server.Writes.Count - before} writes)");
            Console.WriteLine($"controller working set: peak {peak / (1024 * 1024)} MiB");
            return 0;
        }
        finally
        {
            await sampling.CancelAsync();
            await sampler;
            controller.Kill(entireProcessTree: true);
            await controller.WaitForExitAsync();
            File.Delete(kubeconfig);
            string text;
            lock (log)
            {
                text = log.ToString();
            }

            if (text.Contains("fail", StringComparison.OrdinalIgnoreCase))
            {
                Console.WriteLine("controller warnings:\n" + string.Join('\n', text.Split('\n').Take(20)));
            }
        }
    }

    private static string Percentiles(List<double> ms)
    {
        double[] sorted = [.. ms.Order()];
        return $"median {sorted[sorted.Length / 2]:F1} ms, p90 {sorted[(int)(sorted.Length * 0.9)]:F1} ms, max {sorted[^1]:F1} ms";
    }

    private static int Copies(FakeApiServer server, string password)
    {
        string wanted = Convert.ToBase64String(Encoding.UTF8.GetBytes(password));
        return server.Count("secrets", s => (string?)s["metadata"]!["name"] == BaseName && (string?)s["metadata"]!["namespace"] != "kyma-system" &&
            (string?)s["data"]?["password"] == wanted);
    }

    private static async Task<TimeSpan> WaitAsync(FakeApiServer server, Func<bool> done, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!done())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"not done after {timeout}");
            }

            await Task.Delay(250);
        }

        return clock.Elapsed;
    }

    private static long WorkingSet(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }
}
