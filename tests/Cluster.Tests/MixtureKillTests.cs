using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace OrleansShards.Cluster.Tests;

/// <summary>
/// A run over a mixture (issue 15) survives a SIGKILL of its silo process: the silo restarts on the same data
/// directory (the same SQLite file), the journal and the served mark are there, and every step served before the kill
/// (before and after a re-weighting) is served again record for record.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class MixtureKillTests
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static void WriteCsv(string path, int rows, string prefix)
    {
        var text = new StringBuilder("id,text\n");
        for (var id = 0; id < rows; id++)
        {
            text.Append(id).Append(',').Append(prefix).Append(' ').Append(id).Append('\n');
        }

        File.WriteAllText(path, text.ToString());
    }

    private static async Task<string> Body(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {body}");
        return body;
    }

    private static async Task<List<string>> Step(HttpClient http, int step)
    {
        var body = await Body(await http.GetAsync($"v1/jobs/mix/runs/r/batches?epoch=0&step={step}&rank=0&worldSize=1"), HttpStatusCode.OK);
        using var document = JsonDocument.Parse(body);
        return [.. document.RootElement.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("_source").GetString() + ":" + r.GetProperty("id").GetString())];
    }

    [Fact]
    public async Task A_killed_silo_restarts_with_the_journal_and_the_served_mark_and_replays_the_same_steps()
    {
        var root = Path.Combine(Path.GetTempPath(), "shards-mixkill-" + Guid.NewGuid().ToString("N")[..8]);
        var dataDir = Path.Combine(root, "data");
        Directory.CreateDirectory(dataDir);
        WriteCsv(Path.Combine(dataDir, "web.csv"), 6_000, "web");
        WriteCsv(Path.Combine(dataDir, "curated.csv"), 300, "curated");
        try
        {
            var served = new Dictionary<int, List<string>>();
            await using (var first = new SiloProcess("mix-silo-1", root, [$"--Shards:DataDir={dataDir}"]))
            {
                first.Start();
                using var http = new HttpClient { BaseAddress = first.Address, Timeout = TimeSpan.FromSeconds(60) };
                await first.WaitReadyAsync(http, TimeSpan.FromMinutes(2));
                await Body(await http.PostAsync("v1/jobs", Json("""{"id":"mix","sources":[{"name":"web","source":{"kind":"csv","paths":["web.csv"]},"weight":0.9},{"name":"curated","source":{"kind":"csv","paths":["curated.csv"]},"weight":0.1}],"samplesPerEpoch":2000,"shardSize":100,"shuffle":true,"seed":11}""")), HttpStatusCode.Created);
                for (var attempt = 0; ; attempt++)
                {
                    var created = await http.PostAsync("v1/jobs/mix/runs", Json("""{"run":"r","globalBatchSize":40}"""));
                    if (created.StatusCode != HttpStatusCode.Conflict || attempt > 200)
                    {
                        await Body(created, HttpStatusCode.Created);
                        break;
                    }

                    await Task.Delay(50);
                }

                for (var step = 0; step < 4; step++)
                {
                    served[step] = await Step(http, step);
                    Assert.Equal(4, served[step].Count(r => r.StartsWith("curated:", StringComparison.Ordinal)));
                }

                await Body(await http.PostAsync("v1/jobs/mix/runs/r/mixture", Json("""{"weights":{"web":1,"curated":1},"fromStep":6}""")), HttpStatusCode.OK);
                for (var step = 4; step < 8; step++)
                {
                    served[step] = await Step(http, step);
                }

                Assert.Equal(20, served[6].Count(r => r.StartsWith("curated:", StringComparison.Ordinal)));
                first.Kill();
            }

            await using var second = new SiloProcess("mix-silo-2", root, [$"--Shards:DataDir={dataDir}"]);
            second.Start();
            using var again = new HttpClient { BaseAddress = second.Address, Timeout = TimeSpan.FromSeconds(60) };
            await second.WaitReadyAsync(again, TimeSpan.FromMinutes(2));
            using (var mixture = JsonDocument.Parse(await Body(await again.GetAsync("v1/jobs/mix/runs/r/mixture"), HttpStatusCode.OK)))
            {
                Assert.Equal(7, mixture.RootElement.GetProperty("served").GetProperty("step").GetInt64());
                var entry = Assert.Single(mixture.RootElement.GetProperty("journal").EnumerateArray().ToList());
                Assert.Equal(6, entry.GetProperty("fromStep").GetInt64());
            }

            // The served mark survived: a re-weighting at a served step is still refused.
            await Body(await again.PostAsync("v1/jobs/mix/runs/r/mixture", Json("""{"weights":{"curated":5},"fromStep":7}""")), HttpStatusCode.Conflict);
            foreach (var (step, records) in served)
            {
                Assert.Equal(records, await Step(again, step));
            }
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
