using System.Text;
using System.Text.Json.Nodes;
using RegistryPolicy.Kubernetes.Controller;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;

namespace RegistryPolicy.Tests.Kubernetes.Controller;

public sealed class PropagationControllerTests
{
    private const string BaseNamespace = "kyma-system";
    private const string BaseName = "serverless-registry-config-default";
    private static readonly Dictionary<string, string> BaseLabels = new() { ["serverless.kyma-project.io/config"] = "credentials" };
    private static readonly Dictionary<string, string> Shielded = new() { ["serverless.kyma-project.io/managed-by"] = "user", ["serverless.kyma-project.io/config"] = "credentials" };

    private static string Sample(string name) => File.ReadAllText(Path.Combine(Policies.PolicySchemaTests.RepositoryRoot(), "samples", name));

    private static JsonObject Base(string password = "p1") =>
        FakeApiServer.SecretJson(BaseNamespace, BaseName, BaseLabels, ("username", "robot"), ("password", password), ("registryAddress", "registry.example.com"));

    /// <summary>A cluster of <paramref name="namespaces"/> team namespaces, each with a default ServiceAccount, and the base.</summary>
    private static List<JsonObject> Cluster(int namespaces)
    {
        var objects = new List<JsonObject> { FakeApiServer.NamespaceJson(BaseNamespace), FakeApiServer.NamespaceJson("kube-system") };
        for (int i = 0; i < namespaces; i++)
        {
            objects.Add(FakeApiServer.NamespaceJson($"team-{i:D4}"));
            objects.Add(FakeApiServer.ServiceAccountJson($"team-{i:D4}", "default"));
        }

        objects.Add(Base());
        return objects;
    }

    [Fact]
    public async Task From_the_sample_cluster_the_controller_reaches_what_the_plan_predicts_applied_to_the_start()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.SeedManifests(Sample("kyma-cluster.yaml"));
        ClusterSnapshot start = await ControllerHarness.ReadAsync(server);
        PropagationPlan plan = PolicyEngine.Plan(PolicyPresets.Default, start);
        Assert.False(plan.IsEmpty);
        ClusterSnapshot predicted = plan.ApplyTo(start);

        await using ControllerHarness harness = ControllerHarness.Start(server);
        ClusterSnapshot end = await harness.ConvergedAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(ControllerHarness.Contents(predicted), ControllerHarness.Contents(end));
        // Each planned write happened once: nothing was written twice.
        Assert.Equal(plan.Actions.Length + plan.ServiceAccountPatches.Length, server.Writes.Count);
    }

    [Fact]
    public async Task The_controller_copies_the_base_into_new_namespaces_and_updates_copies_when_the_base_changes()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed(Cluster(3));
        await using ControllerHarness harness = ControllerHarness.Start(server);
        await harness.ConvergedAsync(TimeSpan.FromSeconds(20));
        Assert.NotNull(server.Get("secrets", "team-0001", BaseName));

        server.Seed([FakeApiServer.NamespaceJson("team-new")]);
        await ControllerHarness.WaitUntil(() => server.Get("secrets", "team-new", BaseName) is not null, TimeSpan.FromSeconds(10), "the copy in the new namespace");

        server.Edit("secrets", BaseNamespace, BaseName, o => o["data"]!["password"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("p2")));
        await ControllerHarness.WaitUntil(() => (string?)server.Get("secrets", "team-0002", BaseName)?["data"]?["password"] == Convert.ToBase64String(Encoding.UTF8.GetBytes("p2")),
            TimeSpan.FromSeconds(10), "the copies to follow the base");
        await harness.ConvergedAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task After_the_first_plan_an_event_in_one_namespace_plans_that_namespace_alone_on_the_snapshot_kept_current_per_event()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed(Cluster(40));
        // No resync in the test's time: only the per-event path can repair anything.
        await using ControllerHarness harness = ControllerHarness.Start(server);
        await harness.ConvergedAsync(TimeSpan.FromSeconds(20));
        await harness.SnapshotMatchesTheCacheAsync(); // every event of the convergence is in (the echoes of its writes change nothing)
        long full = harness.Controller.FullPlans;
        int writes = server.Writes.Count;

        // Someone deletes a copy, then edits another: each is repaired, and each round plans one namespace.
        server.Remove("secrets", "team-0007", BaseName);
        await ControllerHarness.WaitUntil(() => server.Get("secrets", "team-0007", BaseName) is not null, TimeSpan.FromSeconds(10), "the deleted copy to come back");
        server.Edit("secrets", "team-0011", BaseName, o => o["data"]!["password"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("tampered")));
        await ControllerHarness.WaitUntil(() => (string?)server.Get("secrets", "team-0011", BaseName)?["data"]?["password"] == Convert.ToBase64String(Encoding.UTF8.GetBytes("p1")),
            TimeSpan.FromSeconds(10), "the edited copy to be repaired");
        await harness.ConvergedAsync(TimeSpan.FromSeconds(20));

        Assert.True(full == harness.Controller.FullPlans, $"{harness.Controller.FullPlans - full} whole plan(s) for two namespace events");
        Assert.InRange(harness.Controller.LastPlanned, 0, 1);
        Assert.True(writes + 2 == server.Writes.Count, "writes: " + string.Join(", ", server.Writes.Skip(writes).Select(w => $"{w.Verb} {w.Namespace}/{w.Name}")));
        await harness.SnapshotMatchesTheCacheAsync();

        // A change to the base touches every namespace: one whole plan, and every copy follows.
        server.Edit("secrets", BaseNamespace, BaseName, o => o["data"]!["password"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("p2")));
        await ControllerHarness.WaitUntil(() => Enumerable.Range(0, 40).All(i => (string?)server.Get("secrets", $"team-{i:D4}", BaseName)?["data"]?["password"] == Convert.ToBase64String(Encoding.UTF8.GetBytes("p2"))),
            TimeSpan.FromSeconds(10), "every copy to follow the base");
        Assert.True(harness.Controller.FullPlans > full);
        await harness.SnapshotMatchesTheCacheAsync();
    }

    [Fact]
    public async Task Every_resync_builds_the_snapshot_again_from_the_cache_and_plans_every_namespace()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed(Cluster(3));
        await using ControllerHarness harness = ControllerHarness.Start(server, options: ControllerHarness.FastOptions with { Resync = TimeSpan.FromSeconds(1) });
        await harness.ConvergedAsync(TimeSpan.FromSeconds(20));
        long full = harness.Controller.FullPlans;
        await ControllerHarness.WaitUntil(() => harness.Controller.FullPlans >= full + 2, TimeSpan.FromSeconds(10), "two resyncs");
        Assert.Equal(-1, harness.Controller.LastPlanned);
    }

    [Fact]
    public async Task Shielded_copies_terminating_namespaces_and_the_base_namespace_are_never_written()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        List<JsonObject> cluster = Cluster(3);
        cluster.Add(FakeApiServer.SecretJson("team-0001", BaseName, Shielded, ("username", "mine"), ("password", "mine")));
        JsonObject terminating = FakeApiServer.NamespaceJson("leaving");
        terminating["status"] = new JsonObject { ["phase"] = "Terminating" };
        terminating["metadata"]!["deletionTimestamp"] = "2026-12-01T00:00:00Z";
        cluster.Add(terminating);
        server.Seed(cluster);

        await using ControllerHarness harness = ControllerHarness.Start(server);
        await ControllerHarness.WaitUntil(() => server.Get("secrets", "team-0002", BaseName) is not null, TimeSpan.FromSeconds(10), "the unshielded copies");
        await Task.Delay(500);

        Assert.DoesNotContain(server.Writes, w => w.Namespace == "team-0001" && w.Resource == "secrets");
        Assert.DoesNotContain(server.Writes, w => w.Namespace == "leaving");
        Assert.DoesNotContain(server.Writes, w => w.Namespace == BaseNamespace && w.Verb != "patch");
        Assert.Equal("mine", Encoding.UTF8.GetString(Convert.FromBase64String((string)server.Get("secrets", "team-0001", BaseName)!["data"]!["username"]!)));
    }

    [Fact]
    public async Task Dry_run_writes_nothing()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed(Cluster(5));
        await using ControllerHarness harness = ControllerHarness.Start(server, options: ControllerHarness.FastOptions with { DryRun = true, Resync = TimeSpan.FromSeconds(1) });
        await ControllerHarness.WaitUntil(() => harness.Controller.FullPlans >= 2, TimeSpan.FromSeconds(10), "two whole plans (the first, a resync)");
        await Task.Delay(300);
        Assert.Empty(server.Writes);
        Assert.Null(server.Get("secrets", "team-0001", BaseName));
    }

    [Fact]
    public async Task A_conflict_on_update_re_reads_and_re_plans_and_never_overwrites_the_newer_object_blindly()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        List<JsonObject> cluster = Cluster(1);
        cluster.Add(FakeApiServer.SecretJson("team-0000", BaseName, BaseLabels, ("username", "old"), ("password", "old"), ("registryAddress", "registry.example.com")));
        server.Seed(cluster);
        int conflicts = 0;
        server.Faults = r => r is { IsWrite: true, Resource: "secrets", Namespace: "team-0000" } && Interlocked.Increment(ref conflicts) <= 2 ? new FakeApiServer.Fault(409) : null;

        await using ControllerHarness harness = ControllerHarness.Start(server);
        await harness.ConvergedAsync(TimeSpan.FromSeconds(20));

        Assert.True(harness.Controller.Status.Conflicts >= 2);
        Assert.Equal("p1", Encoding.UTF8.GetString(Convert.FromBase64String((string)server.Get("secrets", "team-0000", BaseName)!["data"]!["password"]!)));
        Assert.Single(server.Writes, w => w.Namespace == "team-0000" && w.Resource == "secrets");
        Assert.Equal("application/merge-patch+json", server.Writes.Single(w => w.Namespace == "team-0000" && w.Resource == "secrets").ContentType);
    }

    [Fact]
    public async Task A_429_pauses_writes_for_its_retry_after_and_then_they_go_on()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed(Cluster(4));
        int throttled = 0;
        server.Faults = r => r.IsWrite && Interlocked.Increment(ref throttled) == 1 ? new FakeApiServer.Fault(429, RetryAfterSeconds: 1) : null;
        DateTime started = DateTime.UtcNow;

        await using ControllerHarness harness = ControllerHarness.Start(server);
        await harness.ConvergedAsync(TimeSpan.FromSeconds(20));

        Assert.True(harness.Controller.Status.Throttled >= 1);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(1), "the writes waited for Retry-After");
    }

    [Fact]
    public async Task The_runaway_guard_holds_creates_to_the_configured_number_per_minute_and_reports_it()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed(Cluster(300));
        await using ControllerHarness harness = ControllerHarness.Start(server, options: ControllerHarness.FastOptions with { MaxCreatesPerMinute = 25 });
        await ControllerHarness.WaitUntil(() => harness.Controller.Status.RunawayGuardEngaged, TimeSpan.FromSeconds(10), "the guard");
        await Task.Delay(1500);

        Assert.Equal(25, server.Writes.Count(w => w.Verb == "create"));
        Assert.True(harness.Controller.Status.RunawayGuardEngaged);
    }

    /// <summary>The Kyma preset plus a link of the copies to each namespace's default ServiceAccount.</summary>
    private static CompiledPolicy KymaWithLinks()
    {
        Assert.True(PolicyPresets.TryGetText(PolicyPresets.DefaultName, out string? text));
        text += $$"""

              serviceAccountLinks:
                - name: link-default
                  serviceAccount: default
                  secrets:
                    names: [{{BaseName}}]
                  namespaces:
                    excludeNamespaces: [{{BaseNamespace}}, kube-system]
            """;
        PolicyLoadResult loaded = PolicyLoader.Load(text, "kyma-with-links");
        Assert.True(loaded.Policy is not null, string.Join("\n", loaded.Diagnostics));
        return loaded.Policy!;
    }

    [Fact]
    public async Task ServiceAccount_patches_are_guarded_by_a_test_of_the_resourceVersion_read()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed(Cluster(3));
        CompiledPolicy policy = KymaWithLinks();
        ClusterSnapshot start = await ControllerHarness.ReadAsync(server);
        PropagationPlan plan = PolicyEngine.Plan(policy, start);
        Assert.Equal(3, plan.ServiceAccountPatches.Length);
        int failed = 0;
        // The first patch fails its test (as when someone changed the ServiceAccount in between): re-read, re-planned, applied.
        server.Faults = r => r is { IsWrite: true, Resource: "serviceaccounts" } && Interlocked.Increment(ref failed) == 1 ? new FakeApiServer.Fault(422) : null;

        await using ControllerHarness harness = ControllerHarness.Start(server, policy);
        await harness.ConvergedAsync(TimeSpan.FromSeconds(20), policy);

        Assert.Equal(3, server.All("serviceaccounts").Count(a => a["imagePullSecrets"]?[0]?["name"]?.GetValue<string>() == BaseName));
        Assert.All(server.Writes.Where(w => w.Resource == "serviceaccounts"), w => Assert.Equal("application/json-patch+json", w.ContentType));
        Assert.True(harness.Controller.Status.Conflicts >= 1);
    }

    [Fact]
    public async Task A_ServiceAccount_changed_between_plan_and_patch_keeps_the_users_pull_secrets()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed(Cluster(1));
        CompiledPolicy policy = KymaWithLinks();
        int patches = 0;
        // When the first patch arrives, a user has just added a pull secret of their own (after the plan was made).
        server.Faults = r =>
        {
            if (r is { Method: "PATCH", Resource: "serviceaccounts" } && Interlocked.Increment(ref patches) == 1)
            {
                server.Edit("serviceaccounts", r.Namespace, r.Name!, o => o["imagePullSecrets"] = new JsonArray(new JsonObject { ["name"] = "users-own" }));
            }

            return null;
        };

        await using ControllerHarness harness = ControllerHarness.Start(server, policy);
        await harness.ConvergedAsync(TimeSpan.FromSeconds(20), policy);

        string[] names = [.. server.Get("serviceaccounts", "team-0000", "default")!["imagePullSecrets"]!.AsArray().Select(n => (string)n!["name"]!)];
        Assert.Equal(["users-own", BaseName], names);
        Assert.True(harness.Controller.Status.Conflicts >= 1);
    }

    [Fact]
    public async Task A_Secret_created_by_someone_else_before_the_controller_gets_to_it_is_planned_again_not_overwritten_blindly()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed(Cluster(1));
        int creates = 0;
        server.Faults = r =>
        {
            if (r is { Method: "POST", Resource: "secrets" } && Interlocked.Increment(ref creates) == 1)
            {
                JsonObject theirs = FakeApiServer.SecretJson("team-0000", BaseName, Shielded, ("username", "theirs"));
                theirs["metadata"]!["finalizers"] = new JsonArray("example.com/keep");
                server.Seed([theirs]);
            }

            return null;
        };

        await using ControllerHarness harness = ControllerHarness.Start(server);
        await harness.ConvergedAsync(TimeSpan.FromSeconds(20));

        JsonObject secret = server.Get("secrets", "team-0000", BaseName)!;
        Assert.Equal("example.com/keep", (string?)secret["metadata"]!["finalizers"]![0]);
        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes("theirs")), (string?)secret["data"]!["username"]);
        Assert.DoesNotContain(server.Writes, w => w is { Resource: "secrets", Namespace: "team-0000" });
    }

    [Fact]
    public void The_merge_patch_carries_the_resourceVersion_and_nulls_for_removed_keys_and_never_unmodelled_fields()
    {
        var existing = new SecretObject(new ObjectMetadata("s", "ns") { Labels = StringMap.Of("a", "1", "gone", "x") }, "Opaque", SecretData.FromStrings("k", "old", "drop", "x"));
        var desired = new SecretObject(new ObjectMetadata("s", "ns") { Labels = StringMap.Of("a", "2") }, "Opaque", SecretData.FromStrings("k", "new"));

        JsonObject patch = JsonNode.Parse(PropagationController.MergePatch(existing, desired, "42"))!.AsObject();

        Assert.Equal("42", (string?)patch["metadata"]!["resourceVersion"]);
        Assert.Equal("2", (string?)patch["metadata"]!["labels"]!["a"]);
        Assert.True(patch["metadata"]!["labels"]!.AsObject().ContainsKey("gone") && patch["metadata"]!["labels"]!["gone"] is null);
        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes("new")), (string?)patch["data"]!["k"]);
        Assert.True(patch["data"]!.AsObject().ContainsKey("drop") && patch["data"]!["drop"] is null);
        Assert.False(patch.ContainsKey("type"));
        Assert.False(patch["metadata"]!.AsObject().ContainsKey("annotations"));
    }
}
