using System.Text;
using System.Text.Json.Nodes;
using RegistryPolicy.Kubernetes.Controller;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Tests.Kubernetes.Controller;

/// <summary>
/// The controller under failure, bounded in time: cut watches, 410 on reconnect, injected 409/429/500 on writes, objects
/// edited by someone else meanwhile, the lease taken over. The end state is the fixpoint, shielded objects are never
/// written, and the number of writes stays bounded.
/// </summary>
public sealed class ControllerChaosTests
{
    private const string BaseNamespace = "kyma-system";
    private const string BaseName = "serverless-registry-config-default";
    private static readonly Dictionary<string, string> BaseLabels = new() { ["serverless.kyma-project.io/config"] = "credentials" };

    private static List<JsonObject> Cluster(int namespaces, int shielded)
    {
        var objects = new List<JsonObject> { FakeApiServer.NamespaceJson(BaseNamespace) };
        for (int i = 0; i < namespaces; i++)
        {
            objects.Add(FakeApiServer.NamespaceJson($"team-{i:D3}"));
        }

        for (int i = 0; i < shielded; i++)
        {
            objects.Add(FakeApiServer.SecretJson($"team-{i:D3}", BaseName,
                new Dictionary<string, string> { ["serverless.kyma-project.io/managed-by"] = "user", ["serverless.kyma-project.io/config"] = "credentials" }, ("username", "mine")));
        }

        objects.Add(FakeApiServer.SecretJson(BaseNamespace, BaseName, BaseLabels, ("username", "robot"), ("password", "p1"), ("registryAddress", "registry.example.com")));
        return objects;
    }

    [Fact]
    public async Task Under_cut_watches_410s_injected_write_failures_and_outside_edits_the_end_state_is_the_fixpoint()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        const int namespaces = 60, shielded = 5;
        server.Seed(Cluster(namespaces, shielded));
        var random = new Random(1234);
        server.Faults = r =>
        {
            if (!r.IsWrite)
            {
                return null;
            }

            lock (random)
            {
                return random.Next(100) switch
                {
                    < 8 => new FakeApiServer.Fault(409),
                    < 12 => new FakeApiServer.Fault(429, RetryAfterSeconds: 0),
                    < 20 => new FakeApiServer.Fault(500),
                    _ => null,
                };
            }
        };

        await using ControllerHarness harness = ControllerHarness.Start(server);
        using var chaos = new CancellationTokenSource();
        Task monkey = Task.Run(async () =>
        {
            for (int round = 0; !chaos.IsCancellationRequested && round < 12; round++)
            {
                await Task.Delay(150);
                server.CutWatches();
                if (round == 3)
                {
                    server.Compact();
                }

                // Someone else overwrites a copy the controller made, or edits the base.
                string victim = $"team-{random.Next(shielded, namespaces):D3}";
                if (server.Get("secrets", victim, BaseName) is not null)
                {
                    server.Edit("secrets", victim, BaseName, o => o["data"]!["password"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("tampered")));
                }

                if (round == 6)
                {
                    server.Edit("secrets", BaseNamespace, BaseName, o => o["data"]!["password"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("p2")));
                }
            }
        });
        await monkey;
        ClusterSnapshot end = await harness.ConvergedAsync(TimeSpan.FromSeconds(30));
        server.Faults = null;

        Assert.Empty(PolicyEngine.Plan(PolicyPresets.Default, end).Actions);
        foreach (SecretObject copy in end.Secrets.Where(s => s.Name == BaseName && s.Namespace != BaseNamespace && !s.Metadata.Labels.ContainsKey("serverless.kyma-project.io/managed-by")))
        {
            Assert.True(copy.Data.TryGetString("password", out string password) && password == "p2", $"{copy.Reference} follows the base");
        }

        for (int i = 0; i < shielded; i++)
        {
            Assert.DoesNotContain(server.Writes, w => w.Resource == "secrets" && w.Namespace == $"team-{i:D3}");
        }

        // Bounded: the initial copies, one finalizer, the base change for every copy, and one repair per outside edit, with slack for retried 409s.
        int needed = namespaces - shielded + 1 + (namespaces - shielded) + 12;
        Assert.True(server.Writes.Count <= needed * 2, $"{server.Writes.Count} writes for {needed} needed");
        Assert.True(harness.Controller.Status.IsSynced);
        // Through relists, cut watches and failed writes, the snapshot kept current per event never drifted from the cache.
        await harness.SnapshotMatchesTheCacheAsync();
    }

    [Fact]
    public async Task Only_the_leader_writes_and_a_lease_taken_over_stops_it_until_the_lease_is_won_back()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed(Cluster(4, 0));
        var election = new LeaderElectionOptions(BaseNamespace)
        {
            LeaseDuration = TimeSpan.FromSeconds(2),
            RenewDeadline = TimeSpan.FromSeconds(1),
            RetryPeriod = TimeSpan.FromMilliseconds(200),
        };
        PropagationControllerOptions options = ControllerHarness.FastOptions with { LeaderElection = election with { Identity = "replica-a" } };
        await using ControllerHarness a = ControllerHarness.Start(server, options: options);
        await a.ConvergedAsync(TimeSpan.FromSeconds(20));
        Assert.True(a.Controller.Status.IsLeader);
        Assert.Equal("replica-a", (string?)server.Get("leases", BaseNamespace, "registry-policy-controller")!["spec"]!["holderIdentity"]);

        await using ControllerHarness b = ControllerHarness.Start(server, options: options with { LeaderElection = election with { Identity = "replica-b" } });
        await Task.Delay(600);
        Assert.False(b.Controller.Status.IsLeader);

        // An intruder takes the lease and keeps renewing it: neither replica may write, even to repair a copy.
        using var intrude = new CancellationTokenSource();
        Task intruder = Task.Run(async () =>
        {
            while (!intrude.IsCancellationRequested)
            {
                server.Edit("leases", BaseNamespace, "registry-policy-controller", o =>
                {
                    o["spec"]!["holderIdentity"] = "intruder";
                    o["spec"]!["renewTime"] = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
                });
                await Task.Delay(100);
            }
        });
        await ControllerHarness.WaitUntil(() => !a.Controller.Status.IsLeader, TimeSpan.FromSeconds(5), "replica-a to stop leading");
        int before = server.Writes.Count(w => w.Resource == "secrets");
        server.Edit("secrets", "team-001", BaseName, o => o["data"]!["password"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("tampered")));
        await Task.Delay(800);
        Assert.Equal(before, server.Writes.Count(w => w.Resource == "secrets"));

        await intrude.CancelAsync();
        await intruder;
        await ControllerHarness.WaitUntil(() => a.Controller.Status.IsLeader || b.Controller.Status.IsLeader, TimeSpan.FromSeconds(10), "a replica to win the lease back");
        Assert.False(a.Controller.Status.IsLeader && b.Controller.Status.IsLeader);
        await a.ConvergedAsync(TimeSpan.FromSeconds(20));
        Assert.Equal("p1", Encoding.UTF8.GetString(Convert.FromBase64String((string)server.Get("secrets", "team-001", BaseName)!["data"]!["password"]!)));
    }

    [Fact]
    public async Task Health_turns_bad_when_the_watches_stay_down_longer_than_the_bound_and_good_when_they_return()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed(Cluster(2, 0));
        await using ControllerHarness harness = ControllerHarness.Start(server, options: ControllerHarness.FastOptions with { UnhealthyAfter = TimeSpan.FromMilliseconds(500) });
        await harness.ConvergedAsync(TimeSpan.FromSeconds(20));
        Assert.True(harness.Controller.IsHealthy());

        server.Faults = r => r.Method == "GET" ? new FakeApiServer.Fault(503) : null;
        server.CutWatches();
        await ControllerHarness.WaitUntil(() => !harness.Controller.IsHealthy(), TimeSpan.FromSeconds(5), "unhealthy");
        Assert.NotNull(harness.Controller.Status.WatchesDownSince);

        server.Faults = null;
        await ControllerHarness.WaitUntil(() => harness.Controller.IsHealthy(), TimeSpan.FromSeconds(5), "healthy again");
    }
}
