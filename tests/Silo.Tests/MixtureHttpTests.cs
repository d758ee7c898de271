using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using OrleansShards.Core;

namespace OrleansShards.Silo.Tests;

/// <summary>
/// Mixtures (issue 15) on the real silo (Kestrel on loopback, SQLite): a run over numbers.csv (30,000 rows) and
/// small.csv (2,500), each step's shares, <c>_source</c>, re-weighting with its served mark, 409 and rewind.
/// </summary>
public sealed class MixtureHttpTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const int G = 64;
    private const long Samples = 4_000;

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

    private static string MixtureSpec(string id) =>
        $$"""{"id":"{{id}}","sources":[{"name":"big","source":{"kind":"csv","paths":["numbers.csv"]},"weight":3},{"name":"small","source":{"kind":"csv","paths":["small.csv"]},"weight":1}],"samplesPerEpoch":{{Samples}},"shardSize":500,"epochs":2,"shuffle":true,"seed":7}""";

    private static MixtureDefinition Definition() =>
        new([new MixtureSourceDefinition("big", [30_000], 3), new MixtureSourceDefinition("small", [2_500], 1)], 500, true, 7, Samples);

    private async Task CreateJobAndRun(string job, string run)
    {
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsync("v1/jobs", Json(MixtureSpec(job)))).StatusCode);
        for (var attempt = 0; ; attempt++)
        {
            var response = await Http.PostAsync($"v1/jobs/{job}/runs", Json($$"""{"run":"{{run}}","globalBatchSize":{{G}}}"""));
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.Conflict || attempt > 200 || !body.Contains("describing", StringComparison.Ordinal))
            {
                Assert.True(response.StatusCode == HttpStatusCode.Created, body);
                var status = JsonDocument.Parse(body).RootElement;
                Assert.Equal((Samples, Samples / G), (status.GetProperty("records").GetInt64(), status.GetProperty("stepsPerEpoch").GetInt64()));
                return;
            }

            await Task.Delay(50);
        }
    }

    private async Task<(string Source, long Id)[]> Step(string job, string run, int epoch, long step, int worldSize = 2)
    {
        var records = new List<(string, long)>();
        for (var rank = 0; rank < worldSize; rank++)
        {
            var batch = await Ok(await Http.GetAsync($"v1/jobs/{job}/runs/{run}/batches?epoch={epoch}&step={step}&rank={rank}&worldSize={worldSize}"));
            records.AddRange(batch.GetProperty("records").EnumerateArray().Select(r =>
                (r.GetProperty("_source").GetString()!, long.Parse(r.GetProperty("id").GetString()!, CultureInfo.InvariantCulture))));
        }

        return [.. records];
    }

    private static (string, long)[] Expected(IReadOnlyList<MixtureReweighting> journal, int epoch, long step)
    {
        var order = new MixtureOrder(Definition(), G, journal, epoch);
        var slots = new MixtureSlot[G];
        order.Fill(step * G, slots);
        return [.. slots.Select(s => (s.Source == 0 ? "big" : "small", s.Slot.Shard.Start + s.Slot.Row))];
    }

    [Fact]
    public async Task A_mixture_spec_is_checked_field_by_field()
    {
        const string Csv = """{"kind":"csv","paths":["small.csv"]}""";
        await Problem(await Http.PostAsync("v1/jobs", Json($$"""{"source":{{Csv}},"sources":[{"name":"a","source":{{Csv}},"weight":1}]}""")), HttpStatusCode.BadRequest, "sources");
        await Problem(await Http.PostAsync("v1/jobs", Json($$"""{"sources":[{"name":"a","source":{{Csv}},"weight":1},{"name":"a","source":{{Csv}},"weight":2}]}""")), HttpStatusCode.BadRequest, "sources[1].name");
        await Problem(await Http.PostAsync("v1/jobs", Json($$"""{"sources":[{"name":"a","source":{{Csv}},"weight":0}]}""")), HttpStatusCode.BadRequest, "sources[0].weight");
        await Problem(await Http.PostAsync("v1/jobs", Json($$"""{"sources":[{"name":"a","source":{{Csv}},"weight":-1.5}]}""")), HttpStatusCode.BadRequest, "sources[0].weight");
        await Problem(await Http.PostAsync("v1/jobs", Json($$"""{"sources":[{"name":"a","source":{"kind":"csv","paths":[]},"weight":1}]}""")), HttpStatusCode.BadRequest, "sources[0].source.paths");
        await Problem(await Http.PostAsync("v1/jobs", Json($$"""{"sources":[{"name":"a","source":{{Csv}},"weight":1},{"name":"live","source":{"kind":"topic","topic":"t"},"weight":1}]}""")), HttpStatusCode.BadRequest, "sources[1].source");
        await Problem(await Http.PostAsync("v1/jobs", Json($$"""{"source":{{Csv}},"samplesPerEpoch":10}""")), HttpStatusCode.BadRequest, "samplesPerEpoch");
        await Problem(await Http.PostAsync("v1/jobs", Json("""{"sources":[]}""")), HttpStatusCode.BadRequest, "sources");
    }

    [Fact]
    public async Task A_run_over_two_sources_keeps_each_step_share_and_replays_around_a_reweighting()
    {
        await CreateJobAndRun("mix-run", "r");

        // Weights 3:1 and G = 64: every step holds exactly 48 records of big and 16 of small, in MixtureOrder's order.
        var served = new Dictionary<long, (string Source, long Id)[]>();
        for (var step = 0; step < 6; step++)
        {
            served[step] = await Step("mix-run", "r", 0, step);
            Assert.Equal(Expected([], 0, step), served[step]);
            Assert.Equal(48, served[step].Count(r => r.Source == "big"));
            Assert.Equal(16, served[step].Count(r => r.Source == "small"));
        }

        // Leases over a mixture are not served (runs are).
        await Problem(await Http.PostAsync("v1/jobs/mix-run/leases", Json("""{"workerId":"w","maxTasks":1}""")), HttpStatusCode.BadRequest, "sources");
        await Problem(await Http.PostAsync("v1/jobs/mix-run/mixture", Json("""{"weights":{"big":1},"fromEpoch":1}""")), HttpStatusCode.BadRequest, "sources");
        await Problem(await Http.GetAsync("v1/jobs/mix-run/checkpoint"), HttpStatusCode.BadRequest, "sources");

        // Served up to step 5: a re-weighting at or before it is 409, unknown sources and bad weights 400.
        var mixture = await Ok(await Http.GetAsync("v1/jobs/mix-run/runs/r/mixture"));
        Assert.Equal(5, mixture.GetProperty("served").GetProperty("step").GetInt64());
        Assert.Equal(6, mixture.GetProperty("earliestReweighting").GetProperty("step").GetInt64());
        await Problem(await Http.PostAsync("v1/jobs/mix-run/runs/r/mixture", Json("""{"weights":{"small":3},"fromStep":5}""")), HttpStatusCode.Conflict, "fromStep");
        await Problem(await Http.PostAsync("v1/jobs/mix-run/runs/r/mixture", Json("""{"weights":{"nope":3},"fromStep":20}""")), HttpStatusCode.BadRequest, "weights.nope");
        await Problem(await Http.PostAsync("v1/jobs/mix-run/runs/r/mixture", Json("""{"weights":{"small":0},"fromStep":20}""")), HttpStatusCode.BadRequest, "weights.small");
        await Problem(await Http.PostAsync("v1/jobs/mix-run/runs/r/mixture", Json("""{"weights":{"small":1},"fromStep":99}""")), HttpStatusCode.BadRequest, "fromStep");

        // From step 10 on, 1:3: steps before it are unchanged, steps from it hold 16 of big and 48 of small.
        var reweighted = await Ok(await Http.PostAsync("v1/jobs/mix-run/runs/r/mixture", Json("""{"weights":{"big":1,"small":3},"fromStep":10}""")));
        var entry = Assert.Single(reweighted.GetProperty("journal").EnumerateArray());
        Assert.Equal((0, 10L, 1.0, 3.0), (entry.GetProperty("fromEpoch").GetInt32(), entry.GetProperty("fromStep").GetInt64(), entry.GetProperty("weights").GetProperty("big").GetDouble(), entry.GetProperty("weights").GetProperty("small").GetDouble()));
        MixtureReweighting[] journal = [new() { FromEpoch = 0, FromPosition = 10 * G, Weights = [1, 3] }];
        for (var step = 0; step < 12; step++)
        {
            var records = await Step("mix-run", "r", 0, step, worldSize: 4);
            Assert.Equal(Expected(journal, 0, step), records);
            if (served.TryGetValue(step, out var before))
            {
                Assert.Equal(before, records);
            }

            Assert.Equal(step < 10 ? 48 : 16, records.Count(r => r.Source == "big"));
        }

        // Under 1:3 the small source (2,500 records) runs out within epoch 0 (10·16 + 52·48 = 2,656 draws served): its
        // first pass holds each of its records once, and its second pass follows in the same epoch.
        var small = new List<long>();
        for (var step = 0; step < Samples / G; step++)
        {
            small.AddRange((await Step("mix-run", "r", 0, step, worldSize: 1)).Where(r => r.Source == "small").Select(r => r.Id));
        }

        Assert.Equal(10 * 16 + (52 * 48), small.Count);
        Assert.Equal(Enumerable.Range(0, 2_500).Select(i => (long)i), small.Take(2_500).Order());
        Assert.Equal(small.Count - 2_500, small.Skip(2_500).Distinct().Count());
        var status = await Ok(await Http.GetAsync("v1/jobs/mix-run/runs/r/mixture"));
        Assert.Equal(61, status.GetProperty("served").GetProperty("step").GetInt64());

        // Every record carries _source in Arrow too.
        var arrow = await Http.GetAsync("v1/jobs/mix-run/runs/r/batches?epoch=0&step=10&rank=0&worldSize=1&format=arrow");
        Assert.Equal(HttpStatusCode.OK, arrow.StatusCode);
        using var reader = new ArrowStreamReader(new MemoryStream(await arrow.Content.ReadAsByteArrayAsync()));
        var batch = await reader.ReadNextRecordBatchAsync();
        var sources = (StringArray)batch.Column("_source");
        Assert.Equal(Expected(journal, 0, 10).Select(r => r.Item1), Enumerable.Range(0, G).Select(i => sources.GetString(i)));
    }

    [Fact]
    public async Task A_rewind_moves_the_served_mark_back_and_drops_later_journal_entries()
    {
        await CreateJobAndRun("mix-rewind", "r");
        for (var step = 0; step < 4; step++)
        {
            await Step("mix-rewind", "r", 0, step);
        }

        await Ok(await Http.PostAsync("v1/jobs/mix-rewind/runs/r/commits", Json("""{"epoch":0,"step":1,"checkpoint":"c1"}""")));
        await Ok(await Http.PostAsync("v1/jobs/mix-rewind/runs/r/mixture", Json("""{"weights":{"small":2},"fromStep":8}""")));
        await Problem(await Http.PostAsync("v1/jobs/mix-rewind/runs/r/mixture", Json("""{"weights":{"small":2},"fromStep":2}""")), HttpStatusCode.Conflict, "fromStep");

        // After the rewind to step 1, steps 2 and 3 may be re-weighted, and the entry at step 8 is gone.
        await Ok(await Http.PostAsync("v1/jobs/mix-rewind/runs/r/rewind", Json("""{"checkpoint":"c1"}""")));
        var mixture = await Ok(await Http.GetAsync("v1/jobs/mix-rewind/runs/r/mixture"));
        Assert.Equal(1, mixture.GetProperty("served").GetProperty("step").GetInt64());
        Assert.Empty(mixture.GetProperty("journal").EnumerateArray());
        var again = await Ok(await Http.PostAsync("v1/jobs/mix-rewind/runs/r/mixture", Json("""{"weights":{"big":1,"small":1},"fromStep":2}""")));
        Assert.Single(again.GetProperty("journal").EnumerateArray());
        var step2 = await Step("mix-rewind", "r", 0, 2);
        Assert.Equal(32, step2.Count(r => r.Source == "small"));

        // The run's resume point shows each source's draws so far (steps 0-1: 2·48 and 2·16).
        var sources = mixture.GetProperty("sources").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("drawn").GetInt64());
        Assert.Equal(96, sources["big"]);
        Assert.Equal(32, sources["small"]);
    }
}
