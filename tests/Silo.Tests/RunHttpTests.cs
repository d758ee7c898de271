using System.Net;
using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Core;
using OrleansShards.Grains;

namespace OrleansShards.Silo.Tests;

/// <summary>The training run routes of issue 14 on the real silo (Kestrel on loopback, SQLite), against small.csv (ids 0..2499).</summary>
public sealed class RunHttpTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private HttpClient Http => server.Http;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Ok(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<JsonElement> Problem(HttpResponseMessage response, HttpStatusCode expected, string? field)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement.Clone();
        if (field is not null)
        {
            Assert.Equal(field, problem.GetProperty("field").GetString());
        }

        return problem;
    }

    /// <summary>Creates the job, then the run, waiting while the job still describes its source (409).</summary>
    private async Task<HttpResponseMessage> CreateJobAndRun(string job, string jobSpec, string runBody)
    {
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsync("v1/jobs", Json(jobSpec))).StatusCode);
        for (var attempt = 0; ; attempt++)
        {
            var response = await Http.PostAsync($"v1/jobs/{job}/runs", Json(runBody));
            if (response.StatusCode != HttpStatusCode.Conflict || attempt > 200 || !(await response.Content.ReadAsStringAsync()).Contains("describing", StringComparison.Ordinal))
            {
                return response;
            }

            await Task.Delay(50);
        }
    }

    private async Task<long[]> Ids(string job, string run, int epoch, long step, int rank, int worldSize)
    {
        var batch = await Ok(await Http.GetAsync($"v1/jobs/{job}/runs/{run}/batches?epoch={epoch}&step={step}&rank={rank}&worldSize={worldSize}"));
        Assert.Equal((epoch, step, rank, worldSize), (batch.GetProperty("epoch").GetInt32(), batch.GetProperty("step").GetInt64(), batch.GetProperty("rank").GetInt32(), batch.GetProperty("worldSize").GetInt32()));
        return [.. batch.GetProperty("records").EnumerateArray().Select(r => long.Parse(r.GetProperty("id").GetString()!, System.Globalization.CultureInfo.InvariantCulture))];
    }

    [Fact]
    public async Task A_static_run_serves_equal_batches_in_the_documented_global_order_and_commits_and_rewinds()
    {
        var created = await Ok(
            await CreateJobAndRun("run-static", """{"id":"run-static","source":{"kind":"csv","paths":["small.csv"]},"shardSize":300,"epochs":2,"shuffle":true,"seed":5}""", """{"run":"r1","globalBatchSize":64}"""),
            HttpStatusCode.Created);
        Assert.Equal(("r1", 64, true, 39, 2), (created.GetProperty("run").GetString(), created.GetProperty("globalBatchSize").GetInt32(), created.GetProperty("dropRemainder").GetBoolean(), created.GetProperty("stepsPerEpoch").GetInt64(), created.GetProperty("epochs").GetInt32()));
        Assert.Equal(JsonValueKind.Null, created.GetProperty("committed").ValueKind);
        Assert.Equal((0, 0L), (created.GetProperty("resumeAt").GetProperty("epoch").GetInt32(), created.GetProperty("resumeAt").GetProperty("step").GetInt64()));
        Assert.False(created.GetProperty("finished").GetBoolean());

        // The same spec again is 200; another spec under the name is 409.
        await Ok(await Http.PostAsync("v1/jobs/run-static/runs", Json("""{"run":"r1","globalBatchSize":64,"dropRemainder":true}""")));
        await Problem(await Http.PostAsync("v1/jobs/run-static/runs", Json("""{"run":"r1","globalBatchSize":32}""")), HttpStatusCode.Conflict, "run");

        // Epoch 0 with 4 ranks: 16 records each, every record at most once, 39·64 in all, in RunOrder's order.
        var order = new RunOrder([2_500], 300, shuffle: true, seed: 5, epoch: 0);
        var epoch0 = new List<long>();
        for (var step = 0; step < 39; step++)
        {
            for (var rank = 0; rank < 4; rank++)
            {
                var ids = await Ids("run-static", "r1", 0, step, rank, 4);
                Assert.Equal(16, ids.Length);
                epoch0.AddRange(ids);
            }
        }

        Assert.Equal(39 * 64, epoch0.Count);
        Assert.Equal(epoch0.Count, epoch0.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, 39 * 64).Select(p => order.At(p).Shard.Start + order.At(p).Row), epoch0);

        // The same step with 2 ranks or 1 concatenates to the same global batch; epoch 1 is another order.
        var step7 = epoch0.Skip(7 * 64).Take(64).ToArray();
        Assert.Equal(step7, (await Ids("run-static", "r1", 0, 7, 0, 2)).Concat(await Ids("run-static", "r1", 0, 7, 1, 2)));
        Assert.Equal(step7, await Ids("run-static", "r1", 0, 7, 0, 1));
        Assert.NotEqual(step7, await Ids("run-static", "r1", 1, 7, 0, 1));

        // Commits: forward, the same again, backwards is 409 naming the committed step.
        var committed = await Ok(await Http.PostAsync("v1/jobs/run-static/runs/r1/commits", Json("""{"epoch":0,"step":3,"checkpoint":"ck3"}""")));
        Assert.Equal((0, 4L), (committed.GetProperty("resumeAt").GetProperty("epoch").GetInt32(), committed.GetProperty("resumeAt").GetProperty("step").GetInt64()));
        Assert.Equal("ck3", committed.GetProperty("committed").GetProperty("checkpoint").GetString());
        await Ok(await Http.PostAsync("v1/jobs/run-static/runs/r1/commits", Json("""{"epoch":0,"step":3,"checkpoint":"ck3"}""")));
        var backwards = await Problem(await Http.PostAsync("v1/jobs/run-static/runs/r1/commits", Json("""{"epoch":0,"step":2}""")), HttpStatusCode.Conflict, "step");
        Assert.Contains("epoch 0 step 3 is committed", backwards.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var endOfEpoch = await Ok(await Http.PostAsync("v1/jobs/run-static/runs/r1/commits", Json("""{"epoch":0,"step":38,"checkpoint":"e0"}""")));
        Assert.Equal((1, 0L), (endOfEpoch.GetProperty("resumeAt").GetProperty("epoch").GetInt32(), endOfEpoch.GetProperty("resumeAt").GetProperty("step").GetInt64()));
        var last = await Ok(await Http.PostAsync("v1/jobs/run-static/runs/r1/commits", Json("""{"epoch":1,"step":38,"checkpoint":"e1"}""")));
        Assert.True(last.GetProperty("finished").GetBoolean());
        Assert.Equal((2, 0L), (last.GetProperty("resumeAt").GetProperty("epoch").GetInt32(), last.GetProperty("resumeAt").GetProperty("step").GetInt64()));

        // Rewind by name, then by step; later commits are forgotten; an unknown commit is 404.
        var rewound = await Ok(await Http.PostAsync("v1/jobs/run-static/runs/r1/rewind", Json("""{"checkpoint":"e0"}""")));
        Assert.Equal((1, 0L, false), (rewound.GetProperty("resumeAt").GetProperty("epoch").GetInt32(), rewound.GetProperty("resumeAt").GetProperty("step").GetInt64(), rewound.GetProperty("finished").GetBoolean()));
        rewound = await Ok(await Http.PostAsync("v1/jobs/run-static/runs/r1/rewind", Json("""{"epoch":0,"step":3}""")));
        Assert.Equal((0, 4L), (rewound.GetProperty("resumeAt").GetProperty("epoch").GetInt32(), rewound.GetProperty("resumeAt").GetProperty("step").GetInt64()));
        await Problem(await Http.PostAsync("v1/jobs/run-static/runs/r1/rewind", Json("""{"checkpoint":"e1"}""")), HttpStatusCode.NotFound, "checkpoint");
        await Problem(await Http.PostAsync("v1/jobs/run-static/runs/r1/rewind", Json("""{"epoch":0}""")), HttpStatusCode.BadRequest, "step");

        // List, status, delete.
        var list = await Ok(await Http.GetAsync("v1/jobs/run-static/runs"));
        Assert.Equal(["r1"], list.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("run").GetString()));
        var status = await Ok(await Http.GetAsync("v1/jobs/run-static/runs/r1"));
        Assert.Equal(3, status.GetProperty("committed").GetProperty("step").GetInt64());
        Assert.True(status.GetProperty("serving").GetProperty("fetches").GetInt64() >= 39 * 4);
        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync("v1/jobs/run-static/runs/r1")).StatusCode);
        await Problem(await Http.GetAsync("v1/jobs/run-static/runs/r1"), HttpStatusCode.NotFound, "run");
        await Problem(await Http.DeleteAsync("v1/jobs/run-static/runs/r1"), HttpStatusCode.NotFound, "run");
        Assert.Empty((await Ok(await Http.GetAsync("v1/jobs/run-static/runs"))).GetProperty("runs").EnumerateArray());
    }

    [Fact]
    public async Task Every_bad_request_names_its_field()
    {
        await Ok(
            await CreateJobAndRun("run-errors", """{"id":"run-errors","source":{"kind":"csv","paths":["small.csv"]},"shardSize":500,"epochs":1}""", """{"run":"r","globalBatchSize":100}"""),
            HttpStatusCode.Created);
        const string Batches = "v1/jobs/run-errors/runs/r/batches";
        await Problem(await Http.GetAsync($"{Batches}?epoch=0&step=0&rank=0&worldSize=3"), HttpStatusCode.BadRequest, "worldSize");
        await Problem(await Http.GetAsync($"{Batches}?epoch=0&step=0&rank=0&worldSize=0"), HttpStatusCode.BadRequest, "worldSize");
        await Problem(await Http.GetAsync($"{Batches}?epoch=0&step=0&rank=4&worldSize=4"), HttpStatusCode.BadRequest, "rank");
        await Problem(await Http.GetAsync($"{Batches}?epoch=0&step=0&rank=-1&worldSize=4"), HttpStatusCode.BadRequest, "rank");
        await Problem(await Http.GetAsync($"{Batches}?epoch=0&step=25&rank=0&worldSize=4"), HttpStatusCode.BadRequest, "step");
        await Problem(await Http.GetAsync($"{Batches}?epoch=0&step=-1&rank=0&worldSize=4"), HttpStatusCode.BadRequest, "step");
        await Problem(await Http.GetAsync($"{Batches}?epoch=1&step=0&rank=0&worldSize=4"), HttpStatusCode.BadRequest, "epoch");
        await Problem(await Http.GetAsync($"{Batches}?epoch=0&rank=0&worldSize=4"), HttpStatusCode.BadRequest, "step");
        await Problem(await Http.GetAsync($"{Batches}?epoch=x&step=0&rank=0&worldSize=4"), HttpStatusCode.BadRequest, "epoch");
        await Problem(await Http.GetAsync($"{Batches}?epoch=0&step=0&rank=0&worldSize=4&format=xml"), HttpStatusCode.BadRequest, "format");
        await Problem(await Http.GetAsync($"{Batches}?epoch=0&step=0&rank=0&worldSize=4&columns=nope"), HttpStatusCode.BadRequest, "columns");
        await Problem(await Http.GetAsync("v1/jobs/run-errors/runs/nope/batches?epoch=0&step=0&rank=0&worldSize=4"), HttpStatusCode.NotFound, "run");
        await Problem(await Http.GetAsync("v1/jobs/run-errors/runs/nope"), HttpStatusCode.NotFound, "run");
        await Problem(await Http.PostAsync("v1/jobs/no-such-job/runs", Json("""{"run":"r","globalBatchSize":4}""")), HttpStatusCode.NotFound, null);
        await Problem(await Http.GetAsync("v1/jobs/no-such-job/runs"), HttpStatusCode.NotFound, null);
        await Problem(await Http.PostAsync("v1/jobs/run-errors/runs", Json("""{"run":"a b","globalBatchSize":4}""")), HttpStatusCode.BadRequest, "run");
        await Problem(await Http.PostAsync("v1/jobs/run-errors/runs", Json("""{"run":"z","globalBatchSize":0}""")), HttpStatusCode.BadRequest, "globalBatchSize");
        await Problem(await Http.PostAsync("v1/jobs/run-errors/runs", Json("""{"run":"z"}""")), HttpStatusCode.BadRequest, "globalBatchSize");
        await Problem(await Http.PostAsync("v1/jobs/run-errors/runs", Json("""{"run":"z","globalBatchSize":4,"extra":1}""")), HttpStatusCode.BadRequest, "extra");
        await Problem(await Http.PostAsync("v1/jobs/run-errors/runs", Json("""{"run":"z","globalBatchSize":4000}""")), HttpStatusCode.BadRequest, "globalBatchSize");
        await Problem(await Http.PostAsync("v1/jobs/run-errors/runs/r/commits", Json("""{"epoch":0,"step":25}""")), HttpStatusCode.BadRequest, "step");
        await Problem(await Http.PostAsync("v1/jobs/run-errors/runs/r/commits", Json("""{"epoch":1,"step":0}""")), HttpStatusCode.BadRequest, "epoch");
        await Problem(await Http.PostAsync("v1/jobs/run-errors/runs/r/commits", Json("""{"step":0}""")), HttpStatusCode.BadRequest, "epoch");
        await Problem(await Http.PostAsync("v1/jobs/run-errors/runs/r/commits", Json("""{"epoch":0,"step":"two"}""")), HttpStatusCode.BadRequest, "step");
        await Problem(await Http.PostAsync("v1/jobs/run-errors/runs/nope/commits", Json("""{"epoch":0,"step":0}""")), HttpStatusCode.NotFound, "run");
        await Problem(await Http.PostAsync("v1/jobs/run-errors/runs/r/rewind", Json("""{}""")), HttpStatusCode.BadRequest, "checkpoint");
        await Problem(await Http.PostAsync("v1/jobs/run-errors/runs/r/rewind", Json("""{"epoch":0,"step":0}""")), HttpStatusCode.NotFound, "step");
    }

    [Fact]
    public async Task Without_drop_remainder_the_last_step_is_padded_from_the_start_and_arrow_matches_json()
    {
        await Ok(
            await CreateJobAndRun("run-pad", """{"id":"run-pad","source":{"kind":"csv","paths":["small.csv"]},"shardSize":1000,"epochs":1}""", """{"run":"r","globalBatchSize":1000,"dropRemainder":false}"""),
            HttpStatusCode.Created);
        var status = await Ok(await Http.GetAsync("v1/jobs/run-pad/runs/r"));
        Assert.Equal(3, status.GetProperty("stepsPerEpoch").GetInt64());

        // Unshuffled: source order; step 2 holds 2000..2499 then 0..499.
        var last = (await Ids("run-pad", "r", 0, 2, 0, 2)).Concat(await Ids("run-pad", "r", 0, 2, 1, 2)).ToArray();
        Assert.Equal(Enumerable.Range(2000, 500).Concat(Enumerable.Range(0, 500)).Select(i => (long)i), last);

        var arrow = await Http.GetAsync("v1/jobs/run-pad/runs/r/batches?epoch=0&step=1&rank=1&worldSize=4&format=arrow&columns=id,name");
        Assert.Equal(HttpStatusCode.OK, arrow.StatusCode);
        Assert.Equal("application/vnd.apache.arrow.stream", arrow.Content.Headers.ContentType?.MediaType);
        using var reader = new ArrowStreamReader(new MemoryStream(await arrow.Content.ReadAsByteArrayAsync()));
        var batch = await reader.ReadNextRecordBatchAsync();
        Assert.Equal(["id", "name"], batch.Schema.FieldsList.Select(f => f.Name));
        var ids = (StringArray)batch.Column("id");
        Assert.Equal(Enumerable.Range(1250, 250).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), Enumerable.Range(0, batch.Length).Select(i => ids.GetString(i)));
        Assert.Equal("1", reader.Schema.Metadata["step"]);
    }

    [Fact]
    public async Task The_silo_reads_ahead_so_the_next_step_comes_from_memory()
    {
        await Ok(
            await CreateJobAndRun("run-ahead", """{"id":"run-ahead","source":{"kind":"csv","paths":["numbers.csv"]},"shardSize":1000,"epochs":1,"shuffle":true,"seed":1}""", """{"run":"r","globalBatchSize":4000}"""),
            HttpStatusCode.Created);
        var reader = server.Services.GetRequiredService<RunBatchReader>();
        await Ids("run-ahead", "r", 0, 0, 0, 1);
        var before = (await Ok(await Http.GetAsync("v1/jobs/run-ahead/runs/r"))).GetProperty("serving");
        Assert.Equal((1, 0), (before.GetProperty("fetches").GetInt64(), before.GetProperty("prefetchHits").GetInt64()));

        // The read-ahead of steps 1.. runs in the background after step 0 was served; wait until it is done.
        for (var i = 0; i < 400 && reader.IsReadingAhead("run-ahead", "r"); i++)
        {
            await Task.Delay(25);
        }

        Assert.False(reader.IsReadingAhead("run-ahead", "r"));
        await Ids("run-ahead", "r", 0, 1, 0, 2);
        var after = (await Ok(await Http.GetAsync("v1/jobs/run-ahead/runs/r"))).GetProperty("serving");
        Assert.Equal((2, 1), (after.GetProperty("fetches").GetInt64(), after.GetProperty("prefetchHits").GetInt64()));
        Assert.True(after.GetProperty("latencyP99Ms").GetDouble() >= after.GetProperty("latencyP50Ms").GetDouble());
    }

    [Fact]
    public async Task A_checkpoint_carries_the_runs_and_an_import_resumes_them()
    {
        await Ok(
            await CreateJobAndRun("run-ckpt", """{"id":"run-ckpt","source":{"kind":"csv","paths":["small.csv"]},"shardSize":250,"epochs":2,"shuffle":true,"seed":11}""", """{"run":"r","globalBatchSize":50,"dropRemainder":false}"""),
            HttpStatusCode.Created);
        await Ok(await Http.PostAsync("v1/jobs/run-ckpt/runs/r/commits", Json("""{"epoch":0,"step":3,"checkpoint":"a"}""")));
        await Ok(await Http.PostAsync("v1/jobs/run-ckpt/runs/r/commits", Json("""{"epoch":0,"step":9,"checkpoint":"b"}""")));
        var text = await (await Http.GetAsync("v1/jobs/run-ckpt/checkpoint")).Content.ReadAsStringAsync();
        var run = Assert.Single(JsonDocument.Parse(text).RootElement.GetProperty("runs").EnumerateArray());
        Assert.Equal(("r", 50, false, 2), (run.GetProperty("run").GetString(), run.GetProperty("globalBatchSize").GetInt32(), run.GetProperty("dropRemainder").GetBoolean(), run.GetProperty("commits").GetArrayLength()));

        await Ok(await Http.PostAsync("v1/jobs/import?id=run-ckpt-copy", Json(text)), HttpStatusCode.Created);
        var copy = await Ok(await Http.GetAsync("v1/jobs/run-ckpt-copy/runs/r"));
        Assert.Equal((0, 10L), (copy.GetProperty("resumeAt").GetProperty("epoch").GetInt32(), copy.GetProperty("resumeAt").GetProperty("step").GetInt64()));
        Assert.Equal(await Ids("run-ckpt", "r", 0, 10, 1, 2), await Ids("run-ckpt-copy", "r", 0, 10, 1, 2));
        Assert.Equal((0, 4L), ((await Ok(await Http.PostAsync("v1/jobs/run-ckpt-copy/runs/r/rewind", Json("""{"checkpoint":"a"}""")))).GetProperty("resumeAt").GetProperty("epoch").GetInt32(), (await Ok(await Http.GetAsync("v1/jobs/run-ckpt-copy/runs/r"))).GetProperty("resumeAt").GetProperty("step").GetInt64()));

        // A bad run in a document creates nothing; a job without runs exports no "runs".
        var bad = text.Replace("\"globalBatchSize\":50", "\"globalBatchSize\":0", StringComparison.Ordinal);
        await Problem(await Http.PostAsync("v1/jobs/import?id=run-ckpt-bad", Json(bad)), HttpStatusCode.BadRequest, "runs[0].globalBatchSize");
        await Problem(await Http.GetAsync("v1/jobs/run-ckpt-bad"), HttpStatusCode.NotFound, null);
        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync("v1/jobs/run-ckpt/runs/r")).StatusCode);
        Assert.False(JsonDocument.Parse(await (await Http.GetAsync("v1/jobs/run-ckpt/checkpoint")).Content.ReadAsStringAsync()).RootElement.TryGetProperty("runs", out _));
    }
}
