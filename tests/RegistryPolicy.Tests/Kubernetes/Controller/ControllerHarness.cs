using System.Diagnostics;
using System.Text.Json.Nodes;
using RegistryPolicy.Kubernetes.Controller;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Tests.Kubernetes.Controller;

/// <summary>A controller running against a fake API server, with fast test timings, and helpers to read the server's state.</summary>
internal sealed class ControllerHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _run;

    private ControllerHarness(FakeApiServer server, PropagationController controller)
    {
        Server = server;
        Controller = controller;
    }

    public FakeApiServer Server { get; }

    public PropagationController Controller { get; }

    public static PropagationControllerOptions FastOptions { get; } = new()
    {
        Debounce = TimeSpan.FromMilliseconds(20),
        PerObjectInterval = TimeSpan.FromMilliseconds(50),
        WritesPerSecond = 5000,
        WriteBurst = 5000,
        MaxCreatesPerMinute = 100_000,
        WatchTimeout = TimeSpan.FromSeconds(20),
        MaxWatchBackoff = TimeSpan.FromMilliseconds(300),
        Resync = TimeSpan.FromMinutes(10),
    };

    public static ControllerHarness Start(FakeApiServer server, CompiledPolicy? policy = null, PropagationControllerOptions? options = null)
    {
        var controller = new PropagationController(policy ?? PolicyPresets.Default, KubernetesConnection.ForServer(server.Url), options ?? FastOptions);
        var harness = new ControllerHarness(server, controller);
        harness._run = controller.RunAsync(harness._stop.Token);
        return harness;
    }

    /// <summary>The server's namespaces, Secrets and ServiceAccounts, read as the live read reads them.</summary>
    public static async Task<ClusterSnapshot> ReadAsync(FakeApiServer server) =>
        ClusterSnapshot.Create(await LiveCluster.ReadAsync(KubernetesConnection.ForServer(server.Url),
            LiveReadScope.AllNamespaces with { Resources = ["namespaces", "secrets", "serviceaccounts"] }));

    /// <summary>Waits until the server's state is the policy's fixpoint (its plan is empty) and the controller has seen it so.</summary>
    public async Task<ClusterSnapshot> ConvergedAsync(TimeSpan timeout, CompiledPolicy? policy = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            ClusterSnapshot state = await ReadAsync(Server);
            if (PolicyEngine.Plan(policy ?? PolicyPresets.Default, state).Actions.IsEmpty && Controller.Status.LastSuccessfulSync is not null &&
                PolicyEngine.Plan(policy ?? PolicyPresets.Default, state).ServiceAccountPatches.IsEmpty)
            {
                return state;
            }

            if (clock.Elapsed > timeout)
            {
                PropagationPlan left = PolicyEngine.Plan(policy ?? PolicyPresets.Default, state);
                Assert.Fail($"not converged after {timeout}: {left.Actions.Length} action(s) left, e.g. {left.Actions.FirstOrDefault()}; status {Controller.Status}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Waits until the snapshot the controller keeps current per event (ClusterSnapshot.With on each change) holds exactly
    /// what a snapshot built afresh from its caches holds: the incremental path lost and kept nothing it should not have.
    /// </summary>
    public async Task SnapshotMatchesTheCacheAsync()
    {
        string planned = "", fresh = "";
        await WaitUntil(() =>
        {
            planned = Describe(Controller.PlannedSnapshot);
            fresh = Describe(Controller.CurrentSnapshot());
            return planned == fresh;
        }, TimeSpan.FromSeconds(10), () => $"the kept snapshot to equal the cache's:\nkept\n{planned}\nfresh\n{fresh}");

        static string Describe(ClusterSnapshot? s) => s is null ? "none" : string.Join("\n",
            s.Objects.Select(o => o.ToManifest(new ManifestOptions { RevealSecrets = true }).ToJsonString())
                .Concat(s.Namespaces.Select(n => $"namespace {n.Name} {n.IsDeclared}")));
    }

    public static Task WaitUntil(Func<bool> condition, TimeSpan timeout, string what) => WaitUntil(condition, timeout, () => what);

    public static async Task WaitUntil(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < timeout, $"timed out waiting for {what()}");
            await Task.Delay(20);
        }
    }

    /// <summary>Secrets and ServiceAccounts as manifests with their data, for comparing states.</summary>
    public static string[] Contents(ClusterSnapshot snapshot) =>
        [.. snapshot.Secrets.Cast<KubeObject>().Concat(snapshot.ServiceAccounts).Select(o => o.ToManifest(new ManifestOptions { RevealSecrets = true }).ToJsonString())];

    public static JsonObject Labels(params string[] pairs)
    {
        var labels = new JsonObject();
        for (int i = 0; i < pairs.Length; i += 2)
        {
            labels[pairs[i]] = pairs[i + 1];
        }

        return labels;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_run is not null)
        {
            Task finished = await Task.WhenAny(_run, Task.Delay(TimeSpan.FromSeconds(10)));
            Assert.True(finished == _run, "the controller stops within 10 s of cancellation");
            await _run;
        }

        Controller.Dispose();
        _stop.Dispose();
    }
}
