using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansShards.Client;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Tests;

public sealed class HttpApiTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private HttpClient Http => server.Http;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Problem(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    private async Task<string> CreateSmallJob(string id, int epochs = 1, bool shuffle = false)
    {
        var response = await Http.PostAsync("v1/jobs", Json($$"""{"id":"{{id}}","source":{"kind":"csv","paths":["small.csv"]},"shardSize":1000,"epochs":{{epochs}},"shuffle":{{(shuffle ? "true" : "false")}},"seed":5}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return id;
    }

    [Fact]
    public async Task Four_http_workers_receive_every_id_exactly_once_per_epoch()
    {
        var status = await server.Client.CreateJobAsync(new JobSpec
        {
            Id = "http-four",
            Source = new SourceSpec { Kind = "csv", Paths = ["numbers.csv"] },
            ShardSize = 2_000,
            Epochs = 2,
            Shuffle = true,
            Seed = 3,
        });
        Assert.Equal(15, status.Shards.Total);
        var seen = new ConcurrentDictionary<(int, long), int>();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var worker = $"http-w{w}";
            while (true)
            {
                var batch = await server.Client.LeaseAsync("http-four", worker, 3);
                if (batch.Leases.Count == 0)
                {
                    if (batch.State == JobStates.Completed)
                    {
                        return;
                    }

                    await Task.Delay(batch.RetryAfterMs ?? 50);
                    continue;
                }

                foreach (var lease in batch.Leases)
                {
                    long? offset = 0;
                    while (offset is { } from)
                    {
                        // Pages of 700 make every shard take several requests.
                        using var page = await server.Client.GetRecordsAsync("http-four", lease.TaskId, from, 700);
                        foreach (var record in page.Records.EnumerateArray())
                        {
                            seen.AddOrUpdate((lease.Epoch, long.Parse(record.GetProperty("id").GetString()!, CultureInfo.InvariantCulture)), 1, (_, n) => n + 1);
                        }

                        offset = page.NextOffset;
                    }

                    await server.Client.ReportAsync("http-four", new TaskReport(lease.TaskId, lease.LeaseId, worker, true));
                }
            }
        })));

        Assert.Equal(60_000, seen.Count);
        Assert.All(seen.Values, n => Assert.Equal(1, n));
        Assert.All(Enumerable.Range(0, 30_000), id => Assert.True(seen.ContainsKey((0, id)) && seen.ContainsKey((1, id))));
        var final = await server.Client.GetJobAsync("http-four");
        Assert.Equal(("completed", 60_000L), (final.State, final.Records.Delivered));
    }

    [Fact]
    public async Task Bad_specs_and_bodies_are_400_problems_that_name_the_field()
    {
        var malformed = await Problem(await Http.PostAsync("v1/jobs", Json("""{"id":"x","source":{"kind":"csv","paths":["small.csv"]""")), HttpStatusCode.BadRequest);
        Assert.Contains("not valid JSON", malformed.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var shardSize = await Problem(await Http.PostAsync("v1/jobs", Json("""{"id":"bad-size","source":{"kind":"csv","paths":["small.csv"]},"shardSize":0}""")), HttpStatusCode.BadRequest);
        Assert.Equal("shardSize", shardSize.GetProperty("field").GetString());
        Assert.Contains("shardSize", shardSize.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var typo = await Problem(await Http.PostAsync("v1/jobs", Json("""{"id":"typo","source":{"kind":"csv","paths":["small.csv"]},"shardsize":10}""")), HttpStatusCode.BadRequest);
        Assert.Contains("shardsize", typo.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var kind = await Problem(await Http.PostAsync("v1/jobs", Json("""{"id":"kind","source":{"kind":"excel","paths":["small.csv"]}}""")), HttpStatusCode.BadRequest);
        Assert.Equal("source.kind", kind.GetProperty("field").GetString());

        var outside = await Problem(await Http.PostAsync("v1/jobs", Json("""{"id":"outside","source":{"kind":"csv","paths":["../../../../etc/passwd"]}}""")), HttpStatusCode.BadRequest);
        Assert.Equal("source.paths", outside.GetProperty("field").GetString());
        Assert.Contains("outside the data roots", outside.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var missing = await Problem(await Http.PostAsync("v1/jobs", Json("""{"id":"missing","source":{"kind":"csv","paths":["nothing-*.csv"]}}""")), HttpStatusCode.BadRequest);
        Assert.Contains("nothing-*.csv", missing.GetProperty("detail").GetString(), StringComparison.Ordinal);

        await CreateSmallJob("bad-bodies");
        var noWorker = await Problem(await Http.PostAsync("v1/jobs/bad-bodies/leases", Json("""{"maxTasks":1}""")), HttpStatusCode.BadRequest);
        Assert.Equal("workerId", noWorker.GetProperty("field").GetString());
        var outcome = await Problem(await Http.PostAsync("v1/jobs/bad-bodies/reports", Json("""{"taskId":"e0.p0.0-1000","leaseId":"L0","workerId":"w","outcome":"maybe"}""")), HttpStatusCode.BadRequest);
        Assert.Equal("outcome", outcome.GetProperty("field").GetString());
        var limit = await Problem(await Http.GetAsync("v1/jobs/bad-bodies/tasks/e0.p0.0-1000/records?limit=0"), HttpStatusCode.BadRequest);
        Assert.Equal("limit", limit.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Unknown_jobs_and_tasks_are_404_problems()
    {
        var job = await Problem(await Http.GetAsync("v1/jobs/no-such-job"), HttpStatusCode.NotFound);
        Assert.Contains("no-such-job", job.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await Problem(await Http.PostAsync("v1/jobs/no-such-job/leases", Json("""{"workerId":"w","maxTasks":1}""")), HttpStatusCode.NotFound);

        await CreateSmallJob("known");
        var task = await Problem(await Http.GetAsync("v1/jobs/known/tasks/e0.p0.0-999/records"), HttpStatusCode.NotFound);
        Assert.Equal("taskId", task.GetProperty("field").GetString());
        await Problem(await Http.GetAsync("v1/jobs/known/tasks/garbage/records"), HttpStatusCode.NotFound);
        await Problem(await Http.PostAsync("v1/jobs/known/reports", Json("""{"taskId":"e0.p7.0-1000","leaseId":"L0","workerId":"w","outcome":"done"}""")), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Same_spec_is_200_another_spec_is_409()
    {
        const string spec = """{"id":"twice","source":{"kind":"csv","paths":["small.csv"]},"shardSize":500}""";
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsync("v1/jobs", Json(spec))).StatusCode);
        var again = await Http.PostAsync("v1/jobs", Json(spec));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var status = await again.Content.ReadFromJsonAsync<JobStatus>(ShardsClient.Json);
        Assert.Equal(5, status!.Shards.Total);
        var conflict = await Problem(await Http.PostAsync("v1/jobs", Json(spec.Replace("500", "600", StringComparison.Ordinal))), HttpStatusCode.Conflict);
        Assert.Contains("another spec", conflict.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var list = await Http.GetFromJsonAsync<JsonElement>("v1/jobs");
        Assert.Contains(list.GetProperty("jobs").EnumerateArray(), j => j.GetProperty("id").GetString() == "twice");
    }

    [Fact]
    public async Task A_stale_lease_is_409_and_the_same_report_again_is_200()
    {
        var response = await Http.PostAsync("v1/jobs", Json("""{"id":"stale","source":{"kind":"csv","paths":["small.csv"]},"shardSize":2500,"leaseTimeoutSeconds":1}"""));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var first = (await server.Client.LeaseAsync("stale", "slow", 1)).Leases.Single();
        await Task.Delay(1_500);
        var second = await WaitForLease("stale", "fast");
        Assert.Equal(first.TaskId, second.TaskId);
        Assert.Equal(2, second.Attempt);

        var stale = await Problem(await Http.PostAsJsonAsync("v1/jobs/stale/reports", new { taskId = first.TaskId, leaseId = first.LeaseId, workerId = "slow", outcome = "done" }), HttpStatusCode.Conflict);
        Assert.Contains(second.LeaseId, stale.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var report = new { taskId = second.TaskId, leaseId = second.LeaseId, workerId = "fast", outcome = "done" };
        var accepted = await Http.PostAsJsonAsync("v1/jobs/stale/reports", report);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.True((await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted").GetBoolean());
        var repeated = await Http.PostAsJsonAsync("v1/jobs/stale/reports", report);
        Assert.Equal(HttpStatusCode.OK, repeated.StatusCode);
        Assert.True((await repeated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("duplicate").GetBoolean());
        var status = await server.Client.GetJobAsync("stale");
        Assert.Equal(("completed", 2_500L), (status.State, status.Records.Delivered));
    }

    [Fact]
    public async Task Records_page_with_offset_limit_and_columns_and_keep_quoted_newlines()
    {
        await CreateSmallJob("paging");
        var lease = (await server.Client.LeaseAsync("paging", "w", 1)).Leases.Single();
        Assert.Equal("e0.p0.0-1000", lease.TaskId);
        var ids = new List<string>();
        long? offset = 0;
        var pages = 0;
        while (offset is { } from)
        {
            using var page = await server.Client.GetRecordsAsync("paging", lease.TaskId, from, 300, ["comment", "id"]);
            pages++;
            foreach (var record in page.Records.EnumerateArray())
            {
                Assert.Equal(["comment", "id"], record.EnumerateObject().Select(p => p.Name));
                var id = record.GetProperty("id").GetString()!;
                if (int.Parse(id, CultureInfo.InvariantCulture) % 11 == 0)
                {
                    Assert.Equal("multi\nline, \"quoted\"", record.GetProperty("comment").GetString());
                }

                ids.Add(id);
            }

            offset = page.NextOffset;
        }

        Assert.Equal(4, pages);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => i.ToString(CultureInfo.InvariantCulture)), ids);
        var whole = await Http.GetFromJsonAsync<JsonElement>($"v1/jobs/paging/tasks/{lease.TaskId}/records");
        Assert.Equal(1000, whole.GetProperty("records").GetArrayLength());
        Assert.False(whole.TryGetProperty("nextOffset", out _));
        var unknownColumn = await Http.GetAsync($"v1/jobs/paging/tasks/{lease.TaskId}/records?columns=nope");
        Assert.Equal(HttpStatusCode.BadRequest, unknownColumn.StatusCode);
    }

    [Fact]
    public async Task Shuffled_jobs_serve_a_shard_in_a_seeded_order_that_pages_consistently()
    {
        await CreateSmallJob("shuffled", shuffle: true);
        var lease = (await server.Client.LeaseAsync("shuffled", "w", 1)).Leases.Single();
        async Task<List<string>> Read(int pageSize)
        {
            var ids = new List<string>();
            long? offset = 0;
            while (offset is { } from)
            {
                using var page = await server.Client.GetRecordsAsync("shuffled", lease.TaskId, from, pageSize);
                ids.AddRange(page.Records.EnumerateArray().Select(r => r.GetProperty("id").GetString()!));
                offset = page.NextOffset;
            }

            return ids;
        }

        var inPages = await Read(128);
        var whole = await Read(10_000);
        Assert.Equal(whole, inPages);
        Assert.Equal((int)lease.Shard.Length, whole.Distinct().Count());
        Assert.NotEqual(whole.Order(StringComparer.Ordinal), whole);
        var expected = Enumerable.Range((int)lease.Shard.Start, (int)lease.Shard.Length).Select(i => i.ToString(CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal);
        Assert.Equal(expected, whole.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Heartbeats_extend_and_releases_requeue_and_retried_requests_get_the_same_leases()
    {
        await CreateSmallJob("beats");
        var first = await server.Client.LeaseAsync("beats", "w", 2, requestId: "req-1");
        var retried = await server.Client.LeaseAsync("beats", "w", 2, requestId: "req-1");
        Assert.Equal(first.Leases.Select(l => l.LeaseId), retried.Leases.Select(l => l.LeaseId));
        var renewed = await server.Client.HeartbeatAsync("beats", "w", [first.Leases[0].LeaseId, "L-unknown"]);
        Assert.True(renewed[0].ExpiresAt >= first.Leases[0].ExpiresAt);
        Assert.Null(renewed[1].ExpiresAt);
        Assert.Equal(2, await server.Client.ReleaseAsync("beats", "w", [.. first.Leases.Select(l => l.LeaseId)]));
        var status = await server.Client.GetJobAsync("beats");
        Assert.Equal(0, status.Shards.Doing);
        var again = await server.Client.LeaseAsync("beats", "w2", 2);
        Assert.Equal(first.Leases.Select(l => l.TaskId).Order(), again.Leases.Select(l => l.TaskId).Order());
    }

    [Fact]
    public async Task Pause_resume_cancel_and_delete()
    {
        await CreateSmallJob("life");
        Assert.Equal("paused", (await (await Http.PostAsync("v1/jobs/life/pause", null)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        var paused = await server.Client.LeaseAsync("life", "w", 1);
        Assert.Empty(paused.Leases);
        Assert.Equal("paused", paused.State);
        await Http.PostAsync("v1/jobs/life/resume", null);
        Assert.Single((await server.Client.LeaseAsync("life", "w", 1)).Leases);
        await Http.PostAsync("v1/jobs/life/cancel", null);
        await Problem(await Http.PostAsync("v1/jobs/life/leases", Json("""{"workerId":"w","maxTasks":1}""")), HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync("v1/jobs/life")).StatusCode);
        await Problem(await Http.GetAsync("v1/jobs/life"), HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsync("v1/jobs", Json("""{"id":"life","source":{"kind":"csv","paths":["small.csv"]},"shardSize":100}"""))).StatusCode);
    }

    [Fact]
    public async Task Health_and_readiness_answer()
    {
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("readyz")).StatusCode);
    }

    private async Task<TaskLease> WaitForLease(string job, string worker)
    {
        for (var i = 0; i < 100; i++)
        {
            var batch = await server.Client.LeaseAsync(job, worker, 1);
            if (batch.Leases.Count > 0)
            {
                return batch.Leases[0];
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("no lease became available");
    }
}
