// dotnet run -c Release --project bench/Runs.Bench -- [--rows 200000] [--runs 5] [--steps 40] [--dir DIR]
//
// Training runs (issue 14): the records/s one rank receives over loopback HTTP at W = 1, 4, 16 with G = 1024, JSON and
// Arrow, with the silo's read-ahead (prefetch: consecutive steps) and cold (one step of an epoch nothing read yet),
// against a bare reader pass over the same file (StaticIterator: the readers, no service); and the time from a silo
// restart on the same data directory to the first batch at the run's resumeAt. Medians of --runs, ratios of one run.
// --mixture (issue 15): instead, the cost of the mixture order per step (MixtureOrder for the epoch and its G draws, as
// the silo computes them for every batch) against serving a step of a run over a mixture (JSON, W = 1, prefetched).
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using OrleansShards.Client;
using OrleansShards.Core;
using OrleansShards.Silo.Hosting;
using OrleansShards.StaticIteration;

const int G = 1024;
var rows = Option("--rows", 200_000);
var runs = Option("--runs", 5);
var steps = Option("--steps", 40);
var dir = Value("--dir") ?? Path.Combine(Path.GetTempPath(), "shards-runs-bench-" + Guid.NewGuid().ToString("N")[..8]);
var dataDir = Path.Combine(dir, "data");
Directory.CreateDirectory(dataDir);
WriteCsv(Path.Combine(dataDir, "rows.csv"), rows);
string[] columns = ["id", "x1", "x2", "y", "text"];
if (args.Contains("--mixture"))
{
    return await MixtureBench.RunAsync(dataDir, rows, runs, steps, G, columns, StartAsync, Median, WriteCsv);
}

var epochs = 3 * 2 * (runs + 1) + runs + 2;

// Bare reader: the same records through the readers alone, shuffled as a job shuffles, in batches of G.
var bare = new List<double>();
var iterator = StaticIterator.FromSource(new SourceSpec { Kind = "csv", Paths = ["rows.csv"] }, dataDir);
for (var run = 0; run < runs; run++)
{
    var clock = Stopwatch.StartNew();
    long count = 0;
    await foreach (var batch in iterator.ReadAsync(new StaticIteratorOptions { BatchSize = G, Shuffle = true, Seed = run, Columns = columns }))
    {
        count += batch.Count;
        batch.Dispose();
    }

    bare.Add(count / clock.Elapsed.TotalSeconds);
}

var app = await StartAsync(dataDir);
var client = new ShardsClient(new HttpClient { BaseAddress = app.Address });
await client.CreateJobAsync(new JobSpec { Id = "bench", Source = new SourceSpec { Kind = "csv", Paths = ["rows.csv"] }, ShardSize = 10_000, Epochs = epochs, Shuffle = true, Seed = 3 });
await client.CreateRunAsync("bench", new RunCreateRequest("r", G));
var stepsPerEpoch = (await client.GetRunAsync("bench", "r")).StepsPerEpoch ?? 0;
steps = (int)Math.Min(steps, stepsPerEpoch);

Console.WriteLine($"rows {rows}, G {G}, {steps} steps a measure, {runs} runs; medians");
Console.WriteLine($"bare reader (StaticIterator, shuffled, batches of {G}): {Median(bare):N0} records/s");
Console.WriteLine();
Console.WriteLine($"{"W",3} {"format",6} {"prefetch rec/s",15} {"vs bare",8} {"prefetched step ms",19} {"cold step ms",13} {"cold/prefetched",16}");
var epoch = 0;
foreach (var w in new[] { 1, 4, 16 })
{
    foreach (var format in new[] { BatchFormat.Json, BatchFormat.Arrow })
    {
        var rates = new List<double>();
        var stepMs = new List<double>();
        var coldMs = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            // Cold: the middle step of an epoch nothing has read; then the steps after it, which the silo reads ahead.
            var e = epoch++;
            var first = stepsPerEpoch / 2 - steps / 2;
            var clock = Stopwatch.StartNew();
            (await client.GetBatchAsync("bench", "r", e, first, 0, w, columns, format)).Dispose();
            coldMs.Add(clock.Elapsed.TotalMilliseconds);

            long received = 0;
            clock.Restart();
            for (var s = first + 1; s < first + 1 + steps && s < stepsPerEpoch; s++)
            {
                using var batch = await client.GetBatchAsync("bench", "r", e, s, 0, w, columns, format);
                received += batch.Count;
            }

            var elapsed = clock.Elapsed;
            rates.Add(received / elapsed.TotalSeconds);
            stepMs.Add(elapsed.TotalMilliseconds / Math.Max(1, received / (G / w)));
        }

        Console.WriteLine(
            $"{w,3} {format.ToString().ToLowerInvariant(),6} {Median(rates),15:N0} {Median(rates) / Median(bare),8:P0} {Median(stepMs),19:F2} {Median(coldMs),13:F2} {Median(coldMs) / Median(stepMs),16:F2}");
    }
}

// Restart: commit a step in the middle of an epoch, stop the silo, start it again on the same data directory, and
// time until rank 0's first batch at resumeAt has arrived.
var restart = new List<double>();
for (var run = 0; run < runs; run++)
{
    var e = epoch++;
    await client.CommitAsync("bench", "r", e, stepsPerEpoch / 2, $"c{run}");
    await app.DisposeAsync();
    var clock = Stopwatch.StartNew();
    app = await StartAsync(dataDir);
    using var http = new HttpClient { BaseAddress = app.Address };
    client = new ShardsClient(http);
    var resume = (await client.GetRunAsync("bench", "r")).ResumeAt;
    (await client.GetBatchAsync("bench", "r", resume.Epoch, resume.Step, 0, 1, columns)).Dispose();
    restart.Add(clock.Elapsed.TotalMilliseconds);
    client = new ShardsClient(new HttpClient { BaseAddress = app.Address });
}

Console.WriteLine();
Console.WriteLine($"restart to first batch (silo start included): median {Median(restart):N0} ms (of {string.Join(", ", restart.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))})");
await app.DisposeAsync();
if (Value("--dir") is null)
{
    Directory.Delete(dir, recursive: true);
}

return 0;

static async Task<Silo> StartAsync(string dataDir)
{
    var app = ShardsServer.Build(
    [
        "--urls", "http://127.0.0.1:0",
        $"--Shards:DataDir={dataDir}",
        $"--Shards:SiloPort={FreePort()}",
        $"--Shards:GatewayPort={FreePort()}",
        "--Logging:LogLevel:Default=Warning",
    ]);
    await app.StartAsync();
    return new Silo(app);
}

static int FreePort()
{
    using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
    listener.Start();
    return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
}

static void WriteCsv(string path, int count)
{
    using var writer = new StreamWriter(path);
    writer.WriteLine("id,x1,x2,y,text");
    var random = new Random(1);
    for (var i = 0; i < count; i++)
    {
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{i},{random.NextDouble():F6},{random.NextDouble():F6},{random.NextDouble():F6},row number {i} with some text"));
    }
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

int Option(string name, int fallback) => Value(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

string? Value(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

/// <summary>The in-process server and its HTTP address.</summary>
internal sealed class Silo(Microsoft.AspNetCore.Builder.WebApplication app) : IAsyncDisposable
{
    public Uri Address { get; } = app.ListeningAddress();

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
