using System.Net.Http.Json;
using System.Text.Json;
using OrleansShards.Tests.Servers;

namespace OrleansShards.Silo.Tests;

/// <summary>A page of a live job's records is bounded by bytes as well as by count: large records come a few a page.</summary>
public sealed class LiveRecordPageTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task A_page_of_large_topic_records_stops_at_the_byte_budget_and_the_next_page_reads_on()
    {
        const int Records = 12;
        var text = new string('x', 1_000_000);
        await server.Client.CreateTopicAsync("big-records", 1);
        await server.Client.AppendAsync("big-records", 0, Enumerable.Range(0, Records).Select(i => JsonSerializer.SerializeToElement(new { i, text })));
        await server.Http.PostAsJsonAsync("/v1/jobs", new { id = "big-records-job", source = new { kind = "topic", topic = "big-records" }, shardSize = Records, maxWaitMs = 100 });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var lease = (await server.Client.LeaseAsync("big-records-job", "w", 1, cancellationToken: timeout.Token)).Leases;
        while (lease.Count == 0)
        {
            await Task.Delay(50, timeout.Token);
            lease = (await server.Client.LeaseAsync("big-records-job", "w", 1, cancellationToken: timeout.Token)).Leases;
        }

        // The default page is 10,000 records; the 8 MiB budget (Shards:Reads:TopicPageMaxBytes) holds 8 of these.
        var seen = new List<int>();
        long? offset = 0;
        var pages = 0;
        while (offset is { } from)
        {
            var page = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/jobs/big-records-job/tasks/{lease[0].TaskId}/records?offset={from}", timeout.Token);
            var records = page.GetProperty("records").EnumerateArray().ToList();
            Assert.InRange(records.Count, 1, 8);
            seen.AddRange(records.Select(r => r.GetProperty("i").GetInt32()));
            offset = page.TryGetProperty("nextOffset", out var next) ? next.GetInt64() : null;
            pages++;
        }

        Assert.Equal(Enumerable.Range(0, Records), seen);
        Assert.Equal(2, pages);
    }
}
