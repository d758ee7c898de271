using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansShards.Core;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Silo.Tests;

/// <summary>Training runs over live jobs (issue 14) on the real silo: topics of the built-in log, SQLite state.</summary>
public sealed class LiveRunHttpTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private HttpClient Http => server.Http;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Ok(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<JsonElement> Problem(HttpResponseMessage response, HttpStatusCode expected, string field)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{(int)response.StatusCode}: {body}");
        var problem = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal(field, problem.GetProperty("field").GetString());
        return problem;
    }

    /// <summary>Appends records <c>{"id": "p{partition}-{i}"}</c> for i in [first, first + count).</summary>
    private static async Task Append(HttpClient http, string topic, int partition, int first, int count) =>
        await Ok(await http.PostAsJsonAsync($"v1/topics/{topic}/partitions/{partition}/records", Enumerable.Range(first, count).Select(i => new { id = $"p{partition}-{i}" })));

    private static async Task<string> NewTopicJobAndRun(HttpClient http, int partitions, int globalBatchSize, string run = "live")
    {
        var topic = "lr-" + Guid.NewGuid().ToString("N")[..8];
        await Ok(await http.PostAsJsonAsync("v1/topics", new { name = topic, partitions }), HttpStatusCode.Created);
        await Ok(await http.PostAsJsonAsync("v1/jobs", new { id = topic, source = new { kind = "topic", topic }, shardSize = 100, maxWaitMs = 50 }), HttpStatusCode.Created);
        for (var attempt = 0; ; attempt++)
        {
            var response = await http.PostAsync($"v1/jobs/{topic}/runs", Json($$"""{"run":"{{run}}","globalBatchSize":{{globalBatchSize}}}"""));
            if (response.StatusCode != HttpStatusCode.Conflict || attempt > 200)
            {
                var created = await Ok(response, HttpStatusCode.Created);
                Assert.True(created.GetProperty("live").GetBoolean());
                Assert.Equal(JsonValueKind.Null, created.GetProperty("stepsPerEpoch").ValueKind);
                return topic;
            }

            await Task.Delay(50);
        }
    }

    private static async Task<JsonElement> Batch(HttpClient http, string job, long step, int rank, int worldSize, int waitMs = 0, string run = "live") =>
        await Ok(await http.GetAsync(string.Create(CultureInfo.InvariantCulture, $"v1/jobs/{job}/runs/{run}/batches?epoch=0&step={step}&rank={rank}&worldSize={worldSize}&waitMs={waitMs}")));

    private static string[] Ids(JsonElement batch) => [.. batch.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("id").GetString()!)];

    private static async Task<string[]> Step(HttpClient http, string job, long step, int worldSize = 1, string run = "live")
    {
        var ids = new List<string>();
        for (var rank = 0; rank < worldSize; rank++)
        {
            ids.AddRange(Ids(await Batch(http, job, step, rank, worldSize, run: run)));
        }

        return [.. ids];
    }

    private static long CommittedOf(JsonElement status, int partition) => status.GetProperty("partitions")[partition].GetProperty("committed").GetInt64();

    private static long LagOf(JsonElement status, int partition) => status.GetProperty("partitions")[partition].GetProperty("lag").GetInt64();

    [Fact]
    public async Task A_live_run_cuts_equal_steps_in_arrival_order_waits_for_appends_commits_offsets_and_rewinds()
    {
        var job = await NewTopicJobAndRun(Http, partitions: 2, globalBatchSize: 8);
        await Append(Http, job, 0, 0, 10);
        await Append(Http, job, 1, 0, 6);

        // Step 0: an equal share of each partition, interleaved; two ranks concatenate to it.
        var step0 = await Step(Http, job, 0, worldSize: 2);
        Assert.Equal(["p0-0", "p1-0", "p0-1", "p1-1", "p0-2", "p1-2", "p0-3", "p1-3"], step0);
        Assert.Equal(step0, await Step(Http, job, 0, worldSize: 1));

        // Step 1: partition 1 gives its last 2, partition 0 the rest.
        Assert.Equal(["p0-4", "p1-4", "p0-5", "p1-5", "p0-6", "p0-7", "p0-8", "p0-9"], await Step(Http, job, 1, worldSize: 4));

        // Step 2 is not full: after waitMs, 200 with no records and retryAfterMs.
        var pending = await Batch(Http, job, 2, 0, 2, waitMs: 30);
        Assert.Equal(0, pending.GetProperty("records").GetArrayLength());
        Assert.True(pending.GetProperty("retryAfterMs").GetInt32() > 0);

        // A request waiting for step 2 is answered once appends fill it.
        var waiting = Batch(Http, job, 2, 1, 2, waitMs: 20_000);
        await Append(Http, job, 1, 6, 3);
        await Append(Http, job, 0, 10, 5);
        var rank1 = Ids(await waiting);
        Assert.Equal(4, rank1.Length);
        var step2 = await Step(Http, job, 2);
        Assert.Equal(step2[4..], rank1);
        Assert.Equal(8, step2.Distinct().Count());
        Assert.DoesNotContain(step2, step0.Concat(await Step(Http, job, 1)).Contains);

        // Commits advance the committed offset of every partition the step drew from; lag is behind the high-water mark.
        var status = await Ok(await Http.PostAsync($"v1/jobs/{job}/runs/live/commits", Json("""{"epoch":0,"step":1,"checkpoint":"c1"}""")));
        Assert.Equal((10L, 6L), (CommittedOf(status, 0), CommittedOf(status, 1)));
        Assert.Equal((5L, 3L), (LagOf(status, 0), LagOf(status, 1)));
        Assert.Equal((0, 2L), (status.GetProperty("resumeAt").GetProperty("epoch").GetInt32(), status.GetProperty("resumeAt").GetProperty("step").GetInt64()));
        Assert.True(status.GetProperty("serving").GetProperty("fetches").GetInt64() >= 10);
        status = await Ok(await Http.PostAsync($"v1/jobs/{job}/runs/live/commits", Json("""{"epoch":0,"step":2,"checkpoint":"c2"}""")));
        Assert.Equal(0L, LagOf(status, 0) + LagOf(status, 1));
        await Problem(await Http.PostAsync($"v1/jobs/{job}/runs/live/commits", Json("""{"epoch":0,"step":1}""")), HttpStatusCode.Conflict, "step");
        await Problem(await Http.PostAsync($"v1/jobs/{job}/runs/live/commits", Json("""{"epoch":0,"step":7}""")), HttpStatusCode.BadRequest, "step");

        // Steps before the step after the oldest kept commit are no longer kept; a live run has one epoch.
        await Problem(await Http.GetAsync($"v1/jobs/{job}/runs/live/batches?epoch=0&step=0&rank=0&worldSize=1"), HttpStatusCode.Conflict, "step");
        await Problem(await Http.GetAsync($"v1/jobs/{job}/runs/live/batches?epoch=1&step=3&rank=0&worldSize=1"), HttpStatusCode.BadRequest, "epoch");
        await Problem(await Http.GetAsync($"v1/jobs/{job}/runs/live/batches?epoch=0&step=3&rank=0&worldSize=3"), HttpStatusCode.BadRequest, "worldSize");

        // A rewind to c1 serves step 2 again with the same records.
        status = await Ok(await Http.PostAsync($"v1/jobs/{job}/runs/live/rewind", Json("""{"checkpoint":"c1"}""")));
        Assert.Equal(2L, status.GetProperty("resumeAt").GetProperty("step").GetInt64());
        Assert.Equal((10L, 6L), (CommittedOf(status, 0), CommittedOf(status, 1)));
        Assert.Equal(step2, await Step(Http, job, 2, worldSize: 2));
    }

    [Fact]
    public async Task Retention_keeps_a_live_runs_records_back_to_its_oldest_kept_commit_and_a_rewind_past_removed_records_is_409()
    {
        var job = await NewTopicJobAndRun(Http, partitions: 1, globalBatchSize: 4);
        await Append(Http, job, 0, 0, 20);
        for (var step = 0; step < 4; step++)
        {
            await Step(Http, job, step);
        }

        await Ok(await Http.PostAsync($"v1/jobs/{job}/runs/live/commits", Json("""{"epoch":0,"step":0,"checkpoint":"c0"}""")));
        await Ok(await Http.PostAsync($"v1/jobs/{job}/runs/live/commits", Json("""{"epoch":0,"step":2,"checkpoint":"c2"}""")));

        // The job itself no longer holds retention back once cancelled; the run still does, from its oldest kept commit (step 0 ends at 4).
        await Ok(await Http.PostAsync($"v1/jobs/{job}/cancel", null));
        var retention = ActivatorUtilities.CreateInstance<TopicRetention>(server.Services);
        await retention.RunOnceAsync(new LogRetention(maxRecords: 2, maxAge: null), TestContext.Current.CancellationToken);
        var store = server.Services.GetRequiredService<ILogStore>();
        Assert.Equal(new PartitionBounds(4, 20), await store.GetBoundsAsync(job, 0, TestContext.Current.CancellationToken));
        var status = await Ok(await Http.PostAsync($"v1/jobs/{job}/runs/live/rewind", Json("""{"checkpoint":"c0"}""")));
        Assert.Equal(1L, status.GetProperty("resumeAt").GetProperty("step").GetInt64());
        Assert.Equal(["p0-4", "p0-5", "p0-6", "p0-7"], await Step(Http, job, 1));

        // Records removed under the run anyway (here straight through the log store): the rewind that needs them is 409 naming the first retained offset.
        await Ok(await Http.PostAsync($"v1/jobs/{job}/runs/live/commits", Json("""{"epoch":0,"step":3,"checkpoint":"c3"}""")));
        await store.TruncateAsync(job, 0, 6, TestContext.Current.CancellationToken);
        var gone = await Problem(await Http.PostAsync($"v1/jobs/{job}/runs/live/rewind", Json("""{"checkpoint":"c0"}""")), HttpStatusCode.Conflict, "checkpoint");
        Assert.Contains("first retained offset is 6", gone.GetProperty("detail").GetString(), StringComparison.Ordinal);
        status = await Ok(await Http.GetAsync($"v1/jobs/{job}/runs/live"));
        Assert.Equal("c3", status.GetProperty("committed").GetProperty("checkpoint").GetString());
    }

    [Fact]
    public async Task A_live_runs_seals_and_commits_travel_in_the_jobs_checkpoint()
    {
        var job = await NewTopicJobAndRun(Http, partitions: 2, globalBatchSize: 6);
        await Append(Http, job, 0, 0, 9);
        await Append(Http, job, 1, 0, 3);
        var step0 = await Step(Http, job, 0);
        var step1 = await Step(Http, job, 1);
        await Ok(await Http.PostAsync($"v1/jobs/{job}/runs/live/commits", Json("""{"epoch":0,"step":0,"checkpoint":"a"}""")));

        var document = await Ok(await Http.GetAsync($"v1/jobs/{job}/checkpoint"));
        var run = document.GetProperty("runs")[0];
        Assert.Equal(1L, run.GetProperty("live").GetProperty("firstStep").GetInt64());
        var copy = job + "-copy";
        await Ok(await Http.PostAsync($"v1/jobs/import?id={copy}", new StringContent(document.GetRawText(), Encoding.UTF8, "application/json")), HttpStatusCode.Created);
        var status = await Ok(await Http.GetAsync($"v1/jobs/{copy}/runs/live"));
        Assert.Equal(("a", 1L, 2L), (status.GetProperty("committed").GetProperty("checkpoint").GetString(), status.GetProperty("resumeAt").GetProperty("step").GetInt64(), status.GetProperty("sealedSteps").GetInt64()));
        Assert.Equal(step1, await Step(Http, copy, 1, worldSize: 3));
        Assert.NotEqual(step0, step1);

        // Seals that do not begin right after the oldest kept commit cannot serve a rewind to it: refused, naming the field.
        var bad = System.Text.Json.Nodes.JsonNode.Parse(document.GetRawText())!;
        bad["runs"]![0]!["live"]!["firstStep"] = 0;
        await Problem(await Http.PostAsync($"v1/jobs/import?id={job}-bad", new StringContent(bad.ToJsonString(), Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, "runs.live.live.firstStep");
    }

    [Fact]
    public async Task Deleting_a_job_deletes_its_runs()
    {
        var job = await NewTopicJobAndRun(Http, partitions: 1, globalBatchSize: 2);
        await Append(Http, job, 0, 0, 4);
        await Step(Http, job, 0);
        await Ok(await Http.PostAsync($"v1/jobs/{job}/runs/live/commits", Json("""{"epoch":0,"step":0}""")));
        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync($"v1/jobs/{job}")).StatusCode);

        // The same job again has no runs; the run's name is free for another spec, and starts with no commit.
        await Ok(await Http.PostAsJsonAsync("v1/jobs", new { id = job, source = new { kind = "topic", topic = job }, shardSize = 100, maxWaitMs = 50 }), HttpStatusCode.Created);
        JsonElement list;
        for (var attempt = 0; ; attempt++)
        {
            var response = await Http.GetAsync($"v1/jobs/{job}/runs");
            if (response.StatusCode == HttpStatusCode.OK || attempt > 200)
            {
                list = await Ok(response);
                break;
            }

            await Task.Delay(50);
        }

        Assert.Equal(0, list.GetProperty("runs").GetArrayLength());
        await Problem(await Http.GetAsync($"v1/jobs/{job}/runs/live"), HttpStatusCode.NotFound, "run");
        HttpResponseMessage created;
        do
        {
            created = await Http.PostAsync($"v1/jobs/{job}/runs", Json("""{"run":"live","globalBatchSize":4}"""));
        }
        while (created.StatusCode == HttpStatusCode.Conflict && (await created.Content.ReadAsStringAsync()).Contains("describing", StringComparison.Ordinal));

        var fresh = await Ok(created, HttpStatusCode.Created);
        Assert.Equal(JsonValueKind.Null, fresh.GetProperty("committed").ValueKind);
    }
}

/// <summary>A live run's sealed steps across a restart: a new silo on the same SQLite file serves the same records.</summary>
public sealed class LiveRunRestartTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "shards-liverun-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_sealed_step_keeps_its_records_when_a_new_silo_starts_on_the_same_sqlite_file()
    {
        var dataDir = Path.Combine(_root, "data");
        Directory.CreateDirectory(dataDir);
        string[] Args() => ["--urls", "http://127.0.0.1:0", $"--Shards:DataDir={dataDir}", $"--Shards:SiloPort={FreePort()}", $"--Shards:GatewayPort={FreePort()}"];

        string job;
        string[] step0, step1;
        await using (var first = await StartAsync(Args()))
        {
            job = "restart-" + Guid.NewGuid().ToString("N")[..8];
            await Ok(await first.Http.PostAsJsonAsync("v1/topics", new { name = job, partitions = 2 }), HttpStatusCode.Created);
            await Ok(await first.Http.PostAsJsonAsync("v1/jobs", new { id = job, source = new { kind = "topic", topic = job }, shardSize = 100, maxWaitMs = 50 }), HttpStatusCode.Created);
            await AppendAsync(first.Http, job, 0, 0, 2);
            await AppendAsync(first.Http, job, 1, 0, 10);
            HttpResponseMessage created;
            do
            {
                created = await first.Http.PostAsync($"v1/jobs/{job}/runs", new StringContent("""{"run":"r","globalBatchSize":6}""", Encoding.UTF8, "application/json"));
            }
            while (created.StatusCode == HttpStatusCode.Conflict);

            await Ok(created, HttpStatusCode.Created);
            step0 = await IdsAsync(first.Http, job, 0);
            step1 = await IdsAsync(first.Http, job, 1);
        }

        await using var second = await StartAsync(Args());

        // Records arriving on partition 0 now would change a fresh cut of steps 0 and 1: sealed, they do not.
        await AppendAsync(second.Http, job, 0, 2, 20);
        Assert.Equal(step0, await IdsAsync(second.Http, job, 0));
        Assert.Equal(step1, await IdsAsync(second.Http, job, 1));
        Assert.Equal(["p0-0", "p1-0", "p0-1", "p1-1", "p1-2", "p1-3"], step0);
        var status = await Ok(await second.Http.GetAsync($"v1/jobs/{job}/runs/r"), HttpStatusCode.OK);
        Assert.Equal(2L, status.GetProperty("sealedSteps").GetInt64());
    }

    private static async Task AppendAsync(HttpClient http, string topic, int partition, int first, int count) =>
        await Ok(await http.PostAsJsonAsync($"v1/topics/{topic}/partitions/{partition}/records", Enumerable.Range(first, count).Select(i => new { id = $"p{partition}-{i}" })), HttpStatusCode.OK);

    private static async Task<string[]> IdsAsync(HttpClient http, string job, long step)
    {
        var batch = await Ok(await http.GetAsync($"v1/jobs/{job}/runs/r/batches?epoch=0&step={step}&rank=0&worldSize=1&waitMs=5000"), HttpStatusCode.OK);
        return [.. batch.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("id").GetString()!)];
    }

    private static async Task<JsonElement> Ok(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<Running> StartAsync(string[] args)
    {
        var app = ShardsServer.Build(args, builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync();
        return new Running(app, new HttpClient { BaseAddress = app.ListeningAddress() });
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed record Running(WebApplication App, HttpClient Http) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }
}
