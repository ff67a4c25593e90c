using System.Text.Json.Nodes;
using RegistryPolicy.Kubernetes.Controller;

namespace RegistryPolicy.Tests.Kubernetes.Controller;

public sealed class ObjectCacheTests
{
    private static readonly CacheOptions Fast = new()
    {
        PageSize = 2,
        WatchTimeout = TimeSpan.FromSeconds(20),
        InitialBackoff = TimeSpan.FromMilliseconds(20),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
    };

    private static async Task<(ObjectCache Cache, Task Run, CancellationTokenSource Stop, HttpClient Http)> StartAsync(FakeApiServer server, CacheOptions? options = null)
    {
        KubernetesConnection connection = KubernetesConnection.ForServer(server.Url);
        HttpClient http = connection.CreateHttpClient();
        var cache = new ObjectCache(connection.CreateApi(http), ResourceType.Secrets, options ?? Fast);
        var stop = new CancellationTokenSource();
        Task run = cache.RunAsync(stop.Token);
        await ControllerHarness.WaitUntil(() => cache.IsSynced, TimeSpan.FromSeconds(10), "the first list");
        return (cache, run, stop, http);
    }

    private static async Task StopAsync((ObjectCache Cache, Task Run, CancellationTokenSource Stop, HttpClient Http) running)
    {
        await running.Stop.CancelAsync();
        await running.Run.WaitAsync(TimeSpan.FromSeconds(10));
        running.Http.Dispose();
    }

    private static JsonObject Secret(string ns, string name) => FakeApiServer.SecretJson(ns, name, null, ("k", "v"));

    private static string[] Names(ObjectCache cache) => [.. cache.Items().Select(o => $"{o.Namespace}/{o.Name}").Order(StringComparer.Ordinal)];

    private static string[] Names(FakeApiServer server) => [.. server.All("secrets").Select(o => $"{o["metadata"]!["namespace"]}/{o["metadata"]!["name"]}").Order(StringComparer.Ordinal)];

    [Fact]
    public async Task A_paged_list_then_the_watch_keep_the_cache_equal_to_the_server()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed([FakeApiServer.NamespaceJson("a"), Secret("a", "s1"), Secret("a", "s2"), Secret("a", "s3"), Secret("a", "s4"), Secret("a", "s5")]);
        var running = await StartAsync(server);

        Assert.Equal(Names(server), Names(running.Cache));
        server.Seed([Secret("a", "s6")]);
        server.Remove("secrets", "a", "s1");
        server.Edit("secrets", "a", "s2", o => o["data"]!["k"] = "dzI=");
        await ControllerHarness.WaitUntil(() => Names(server).SequenceEqual(Names(running.Cache)) &&
            running.Cache.Get("a", "s2")!.ResourceVersion == (string?)server.Get("secrets", "a", "s2")!["metadata"]!["resourceVersion"], TimeSpan.FromSeconds(10), "the events");
        Assert.Equal(0, running.Cache.Relists);
        await StopAsync(running);
    }

    [Fact]
    public async Task Drain_gives_everything_after_a_list_then_each_changed_object_once_as_the_cache_holds_it_now()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed([FakeApiServer.NamespaceJson("a"), Secret("a", "s1"), Secret("a", "s2"), Secret("a", "s3")]);
        var running = await StartAsync(server);

        CacheChanges first = running.Cache.Drain();
        Assert.True(first.Relisted);
        Assert.Equal(["a/s1", "a/s2", "a/s3"], first.Changed.Select(c => $"{c.Key.Namespace}/{c.Key.Name}").Order(StringComparer.Ordinal));
        Assert.Same(CacheChanges.None, running.Cache.Drain());

        // Two edits of one object, a delete and a create: three keys, each with what the cache holds after all of them.
        server.Edit("secrets", "a", "s1", o => o["data"]!["k"] = "dzE=");
        server.Edit("secrets", "a", "s1", o => o["data"]!["k"] = "dzI=");
        server.Remove("secrets", "a", "s2");
        server.Seed([Secret("a", "s4")]);
        await ControllerHarness.WaitUntil(() => Names(server).SequenceEqual(Names(running.Cache)) &&
            running.Cache.Get("a", "s1")!.ResourceVersion == (string?)server.Get("secrets", "a", "s1")!["metadata"]!["resourceVersion"], TimeSpan.FromSeconds(10), "the events");
        CacheChanges next = running.Cache.Drain();
        Assert.False(next.Relisted);
        Assert.Equal(["a/s1 " + running.Cache.Get("a", "s1")!.ResourceVersion, "a/s2 gone", "a/s4 " + running.Cache.Get("a", "s4")!.ResourceVersion],
            next.Changed.Select(c => $"{c.Key.Namespace}/{c.Key.Name} {c.Current?.ResourceVersion ?? "gone"}").Order(StringComparer.Ordinal));

        // What the controller itself writes and deletes is journalled too; a compaction relists and gives everything again.
        running.Cache.Forget("a", "s3");
        Assert.Equal(["a/s3"], running.Cache.Drain().Changed.Select(c => $"{c.Key.Namespace}/{c.Key.Name}"));
        await ControllerHarness.WaitUntil(() => server.ActiveWatches == 1, TimeSpan.FromSeconds(10), "the watch");
        server.Faults = r => r.IsWatch ? new FakeApiServer.Fault(503) : null;
        server.CutWatches();
        server.Seed([Secret("a", "s5")]);
        server.Compact();
        server.Faults = null;
        await ControllerHarness.WaitUntil(() => running.Cache.Relists >= 1 && Names(server).SequenceEqual(Names(running.Cache)), TimeSpan.FromSeconds(10),
            () => $"the relist ({running.Cache.Relists} relists; server {string.Join(",", Names(server))}; cache {string.Join(",", Names(running.Cache))})");
        CacheChanges relisted = running.Cache.Drain();
        Assert.True(relisted.Relisted);
        Assert.Equal(Names(server), relisted.Changed.Select(c => $"{c.Key.Namespace}/{c.Key.Name}").Order(StringComparer.Ordinal));
        await StopAsync(running);
    }

    [Fact]
    public async Task A_cut_watch_resumes_from_the_last_resourceVersion_without_a_relist_and_loses_no_event()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed([FakeApiServer.NamespaceJson("a"), Secret("a", "s1")]);
        var running = await StartAsync(server);
        await ControllerHarness.WaitUntil(() => server.ActiveWatches == 1, TimeSpan.FromSeconds(10), "the watch");

        for (int i = 0; i < 5; i++)
        {
            int watches = server.Requests.GetValueOrDefault("GET watch");
            server.CutWatches();
            server.Seed([Secret("a", $"during-{i}")]);
            await ControllerHarness.WaitUntil(() => server.Requests.GetValueOrDefault("GET watch") > watches && server.ActiveWatches >= 1, TimeSpan.FromSeconds(10),
                () => $"the watch to come back (round {i}, restarts {running.Cache.WatchRestarts}, active {server.ActiveWatches})");
            await Task.Delay(50);
        }

        await ControllerHarness.WaitUntil(() => Names(server).SequenceEqual(Names(running.Cache)), TimeSpan.FromSeconds(10), "the cache to catch up");
        Assert.Equal(0, running.Cache.Relists);
        Assert.True(running.Cache.WatchRestarts >= 5);
        await StopAsync(running);
    }

    [Fact]
    public async Task A_compacted_resourceVersion_answers_410_and_the_cache_relists()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed([FakeApiServer.NamespaceJson("a"), Secret("a", "s1")]);
        var running = await StartAsync(server);
        await ControllerHarness.WaitUntil(() => server.ActiveWatches == 1, TimeSpan.FromSeconds(10), "the watch");

        // While the watch is down, objects change and history is compacted away: only a relist can tell.
        server.Faults = r => r.IsWatch ? new FakeApiServer.Fault(503) : null;
        server.CutWatches();
        server.Seed([Secret("a", "s2")]);
        server.Remove("secrets", "a", "s1");
        server.Compact();
        server.Faults = null;

        await ControllerHarness.WaitUntil(() => running.Cache.Relists >= 1 && Names(server).SequenceEqual(Names(running.Cache)), TimeSpan.FromSeconds(10), "the relist");
        Assert.Equal(["a/s2"], Names(running.Cache));
        await StopAsync(running);
    }

    [Fact]
    public async Task Failing_lists_back_off_and_mark_the_cache_down_until_they_succeed()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed([FakeApiServer.NamespaceJson("a"), Secret("a", "s1")]);
        int lists = 0;
        server.Faults = r => !r.IsWatch && r.Method == "GET" && Interlocked.Increment(ref lists) <= 4 ? new FakeApiServer.Fault(500) : null;
        KubernetesConnection connection = KubernetesConnection.ForServer(server.Url);
        using HttpClient http = connection.CreateHttpClient();
        var cache = new ObjectCache(connection.CreateApi(http), ResourceType.Secrets, Fast);
        using var stop = new CancellationTokenSource();
        Task run = cache.RunAsync(stop.Token);

        await ControllerHarness.WaitUntil(() => cache.DownSince is not null, TimeSpan.FromSeconds(5), "the cache to be down");
        await ControllerHarness.WaitUntil(() => cache.IsSynced && cache.DownSince is null, TimeSpan.FromSeconds(10), "the cache to recover");
        Assert.Equal(5, lists);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task With_a_filter_only_matching_Secrets_are_kept_and_what_the_controller_wrote_stays_pinned()
    {
        await using FakeApiServer server = await FakeApiServer.StartAsync();
        server.Seed([FakeApiServer.NamespaceJson("a"), Secret("a", "wanted"), Secret("a", "other")]);
        KubernetesConnection connection = KubernetesConnection.ForServer(server.Url);
        using HttpClient http = connection.CreateHttpClient();
        KubeApi api = connection.CreateApi(http);
        var cache = new ObjectCache(api, ResourceType.Secrets, Fast, keep: (_, name, _) => name == "wanted");
        using var stop = new CancellationTokenSource();
        Task run = cache.RunAsync(stop.Token);
        await ControllerHarness.WaitUntil(() => cache.IsSynced, TimeSpan.FromSeconds(10), "the first list");

        Assert.Equal(["a/wanted"], Names(cache));
        cache.Observe(await api.GetAsync(ResourceType.Secrets, "a", "other", CancellationToken.None));
        server.Edit("secrets", "a", "other", o => o["data"]!["k"] = "dzI=");
        server.Seed([Secret("a", "unwanted-new")]);
        await ControllerHarness.WaitUntil(() => cache.Get("a", "other")?.ResourceVersion == (string?)server.Get("secrets", "a", "other")!["metadata"]!["resourceVersion"],
            TimeSpan.FromSeconds(10), "the pinned object to follow its events");
        Assert.Equal(["a/other", "a/wanted"], Names(cache));

        server.Remove("secrets", "a", "other");
        await ControllerHarness.WaitUntil(() => cache.Get("a", "other") is null, TimeSpan.FromSeconds(10), "the delete");
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_late_answer_to_a_write_never_brings_back_an_object_whose_delete_the_cache_has_seen()
    {
        var cache = new ObjectCache(null!, ResourceType.Secrets, Fast);
        ApiObject written = KubeApi.ParseEvent("""{"type":"ADDED","object":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s","namespace":"a","resourceVersion":"9","uid":"u"}}}"""u8.ToArray(), ResourceType.Secrets).Object!;
        cache.Apply(KubeApi.ParseEvent("""{"type":"DELETED","object":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s","namespace":"a","resourceVersion":"10","uid":"u"}}}"""u8.ToArray(), ResourceType.Secrets));

        cache.Observe(written);

        Assert.Null(cache.Get("a", "s"));
        cache.Observe(written with { ResourceVersion = "11" });
        Assert.NotNull(cache.Get("a", "s"));
    }

    [Fact]
    public void The_echo_of_a_write_the_cache_observed_is_no_change_and_plans_nothing()
    {
        var cache = new ObjectCache(null!, ResourceType.Secrets, Fast);
        _ = cache.Drain(); // the "first list" mark
        WatchEvent modified = KubeApi.ParseEvent("""{"type":"MODIFIED","object":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s","namespace":"a","resourceVersion":"9","uid":"u"}}}"""u8.ToArray(), ResourceType.Secrets);
        int raised = 0;
        cache.Changed += (_, _) => raised++;

        cache.Observe(modified.Object!);
        Assert.Single(cache.Drain().Changed);
        cache.Apply(modified); // the watch brings the version the write returned
        Assert.Same(CacheChanges.None, cache.Drain());
        Assert.Equal(0, raised);

        // And the other way round: the watch first, then the write's answer.
        WatchEvent next = KubeApi.ParseEvent("""{"type":"MODIFIED","object":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s","namespace":"a","resourceVersion":"12","uid":"u"}}}"""u8.ToArray(), ResourceType.Secrets);
        cache.Apply(next);
        Assert.Single(cache.Drain().Changed);
        cache.Observe(next.Object!);
        Assert.Same(CacheChanges.None, cache.Drain());
    }

    [Fact]
    public void The_backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half()
    {
        var cache = new ObjectCache(null!, ResourceType.Secrets, new CacheOptions { InitialBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(3) });
        for (int failures = 1; failures < 40; failures++)
        {
            double cap = Math.Min(3000, 100 * Math.Pow(2, failures - 1));
            TimeSpan delay = cache.Backoff(failures);
            Assert.InRange(delay.TotalMilliseconds, cap / 2, cap);
        }
    }

    [Fact]
    public void Watch_events_are_parsed_as_the_api_server_writes_them_and_an_error_event_becomes_its_status()
    {
        WatchEvent added = KubeApi.ParseEvent("""{"type":"ADDED","object":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s","namespace":"a","resourceVersion":"7","uid":"u"},"data":{"k":"dg=="}}}"""u8.ToArray(), ResourceType.Secrets);
        Assert.Equal(WatchEventType.Added, added.Type);
        Assert.Equal("7", added.ResourceVersion);
        Assert.IsType<RegistryPolicy.Snapshots.SecretObject>(added.Object!.Decoded);

        WatchEvent bookmark = KubeApi.ParseEvent("""{"type":"BOOKMARK","object":{"kind":"Secret","apiVersion":"v1","metadata":{"resourceVersion":"12"}}}"""u8.ToArray(), ResourceType.Secrets);
        Assert.Equal((WatchEventType.Bookmark, "12"), (bookmark.Type, bookmark.ResourceVersion));

        KubeApiException gone = Assert.Throws<KubeApiException>(() => KubeApi.ParseEvent(
            """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}}"""u8.ToArray(), ResourceType.Secrets));
        Assert.True(gone.IsGone);
        Assert.Throws<KubeApiException>(() => KubeApi.ParseEvent("""{"type":"SURPRISE","object":{}}"""u8.ToArray(), ResourceType.Secrets));
    }
}
