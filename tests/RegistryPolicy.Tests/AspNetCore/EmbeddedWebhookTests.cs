using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RegistryPolicy.AspNetCore;
using RegistryPolicy.Tests.Policies;

namespace RegistryPolicy.Tests.AspNetCore;

/// <summary>The library as a team embeds it: <c>AddRegistryPolicyWebhooks</c> and <c>MapRegistryPolicyWebhooks</c> in their own host (TestServer).</summary>
public sealed class EmbeddedWebhookTests
{
    private static async Task<WebApplication> Host(RegistryPolicyWebhookOptions options)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        builder.Services.AddRegistryPolicyWebhooks(options);
        WebApplication app = builder.Build();
        app.MapRegistryPolicyWebhooks();
        await app.StartAsync();
        return app;
    }

    [Fact]
    public async Task The_endpoints_answer_in_a_host_of_ones_own_and_the_status_is_readable_from_the_services()
    {
        await using WebApplication app = await Host(new RegistryPolicyWebhookOptions { MapFile = Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "maps.conf") });
        HttpClient client = app.GetTestClient();
        byte[] review = File.ReadAllBytes(Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "admission-review-pod.json"));

        using HttpResponseMessage answer = await client.PostAsync("/mutate/pods", new ByteArrayContent(review));
        string body = await answer.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(3, Reviews.Patch(Reviews.Response(Encoding.UTF8.GetBytes(body)))!.Count);
        WebhookStatus status = app.Services.GetRequiredService<WebhookStatus>();
        Assert.True(status.Ready);
        Assert.Contains("maps.conf", status.Configuration!.Description, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);
        Assert.Contains("registry_policy_webhook_requests_total{endpoint=\"pods\",outcome=\"patched\"} 1", await client.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_map_that_does_not_load_leaves_the_host_unready_and_reviews_answered_503_until_it_is_fixed()
    {
        string dir = Directory.CreateTempSubdirectory("rp-embedded-").FullName;
        try
        {
            string map = Path.Combine(dir, "maps.conf");
            File.WriteAllText(map, "a::b::c\n");
            await using WebApplication app = await Host(new RegistryPolicyWebhookOptions { MapFile = map, ReloadInterval = TimeSpan.FromMilliseconds(100) });
            HttpClient client = app.GetTestClient();
            byte[] review = File.ReadAllBytes(Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "admission-review-pod.json"));

            using (HttpResponseMessage ready = await client.GetAsync("/readyz"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                Assert.Contains("maps.conf:1", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.PostAsync("/mutate/pods", new ByteArrayContent(review))).StatusCode);

            File.WriteAllText(map, "default::\ndocker.io::harbor.example.org/docker.io\n");
            HttpStatusCode status = HttpStatusCode.ServiceUnavailable;
            for (int i = 0; i < 100 && status != HttpStatusCode.OK; i++)
            {
                await Task.Delay(100);
                status = (await client.GetAsync("/readyz")).StatusCode;
            }

            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/mutate/pods", new ByteArrayContent(review))).StatusCode);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Concurrent_reviews_of_different_pods_get_their_own_answers()
    {
        await using WebApplication app = await Host(new RegistryPolicyWebhookOptions { MapFile = Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "maps.conf") });
        HttpClient client = app.GetTestClient();
        string template = File.ReadAllText(Path.Combine(PolicySchemaTests.RepositoryRoot(), "samples", "admission-review-pod.json"));

        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            string review = template.Replace("705ab4f5-6393-11e8-b7cc-42010a800002", $"uid-{i}", StringComparison.Ordinal)
                .Replace("\"nginx:1.25\"", $"\"nginx:1.{i}\"", StringComparison.Ordinal);
            using HttpResponseMessage response = await client.PostAsync("/mutate/pods", new StringContent(review, Encoding.UTF8, "application/json"));
            return (i, await response.Content.ReadAsStringAsync());
        }));

        foreach (var (i, body) in answers)
        {
            var reviewed = System.Text.Json.Nodes.JsonNode.Parse(body)!;
            Assert.Equal($"uid-{i}", (string?)reviewed["response"]!["uid"]);
            string patch = Encoding.UTF8.GetString(Convert.FromBase64String((string)reviewed["response"]!["patch"]!));
            Assert.Contains($"harbor.example.org/airgap/docker.io/nginx:1.{i}\"", patch, StringComparison.Ordinal);
        }
    }
}
