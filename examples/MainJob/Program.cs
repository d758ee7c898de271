using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Apache.Arrow.Ipc;
using Microsoft.Extensions.Logging;
using OrleansShards.Client;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.MainJob;
using OrleansShards.Silo.Hosting;
using Spectre.Console;
using CH = CsvHelper;
using StringArray = Apache.Arrow.StringArray;

// The main job: a sample dataset, the embedded silo on SQLite, a 2-epoch shuffled job, 4 workers
// through the HTTP API every worker uses, and a summary computed from what the workers received.
var settings = MainJobSettings.Parse(args);
if (Console.IsOutputRedirected)
{
    // Logs and CI capture the output: keep the summary lines whole instead of wrapped at 80 columns.
    AnsiConsole.Profile.Width = 160;
}

var dataDir = Path.GetFullPath(settings.DataDir);
var sourceDir = Path.Combine(dataDir, "sample");
AnsiConsole.MarkupLine($"[bold]OrleansShards main job[/]: {settings.Rows:N0} rows in {settings.Files} CSV files, {settings.Epochs} epochs, {settings.Workers} workers, shards of {settings.ShardSize:N0}, records as {settings.Format}");

var generate = Stopwatch.StartNew();
var files = SampleData.Ensure(sourceDir, settings.Rows, settings.Files);
var bytes = files.Sum(f => new FileInfo(f).Length);
AnsiConsole.MarkupLine($"dataset: {bytes / 1e6:F1} MB under {Markup.Escape(sourceDir)} ({generate.Elapsed.TotalSeconds:F1} s)");

// A fresh state file each run: the job id is new, but old state would only grow the file.
var stateFile = Path.Combine(dataDir, "state", "main-job.db");
Directory.CreateDirectory(Path.GetDirectoryName(stateFile)!);
foreach (var stale in new[] { stateFile, stateFile + "-wal", stateFile + "-shm" })
{
    File.Delete(stale);
}

var app = ShardsServer.Build(
    [
        "--urls", "http://127.0.0.1:0",
        $"--Shards:DataDir={dataDir}",
        $"--Shards:SqliteFile={stateFile}",
        $"--Shards:SiloPort={FreePort()}",
        $"--Shards:GatewayPort={FreePort()}",
    ],
    builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
await app.StartAsync();
var address = app.ListeningAddress();
AnsiConsole.MarkupLine($"silo: listening on {address} with grain state in {Markup.Escape(stateFile)}");

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = address, Timeout = TimeSpan.FromMinutes(5) };
var client = new ShardsClient(http);
var jobId = "main-" + DateTimeOffset.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
var spec = new JobSpec
{
    Id = jobId,
    Source = new SourceSpec { Kind = "csv", Paths = ["sample/part-*.csv"], Header = true },
    ShardSize = settings.ShardSize,
    Epochs = settings.Epochs,
    Shuffle = true,
    Seed = 20261124,
    LeaseTimeoutSeconds = 60,
    MaxAttempts = 3,
    Durability = JobSpec.Strict,
};

var run = Stopwatch.StartNew();
var created = await client.CreateJobAsync(spec);
var describeSeconds = run.Elapsed.TotalSeconds;
var seen = Enumerable.Range(0, settings.Epochs).Select(_ => new int[settings.Rows]).ToArray();
var delivered = new long[settings.Epochs];
var badIds = 0L;
var workers = Enumerable.Range(0, settings.Workers).Select(w => Task.Run(() => RunWorker($"worker-{w}"))).ToArray();

await AnsiConsole.Progress()
    .AutoClear(false)
    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
    .StartAsync(async progress =>
    {
        var bars = Enumerable.Range(0, settings.Epochs).Select(e => progress.AddTask($"epoch {e}", maxValue: settings.Rows)).ToArray();
        while (!workers.All(t => t.IsCompleted))
        {
            for (var e = 0; e < bars.Length; e++)
            {
                bars[e].Value = Interlocked.Read(ref delivered[e]);
                var rate = Interlocked.Read(ref delivered[e]) / Math.Max(0.001, run.Elapsed.TotalSeconds);
                bars[e].Description = $"epoch {e}: {bars[e].Value:N0} records";
            }

            await Task.WhenAny(Task.WhenAll(workers), Task.Delay(200));
        }

        for (var e = 0; e < bars.Length; e++)
        {
            bars[e].Value = Interlocked.Read(ref delivered[e]);
            bars[e].Description = $"epoch {e}: {bars[e].Value:N0} records";
        }
    });
await Task.WhenAll(workers);
run.Stop();
var status = await client.GetJobAsync(jobId);
await app.StopAsync();

// The same rows through a bare pipeline with no service: CSV parse, JSON write, JSON parse.
var bare = BarePipeline(files, settings.ShardSize);

var ok = status.State == JobStates.Completed && badIds == 0;
var table = new Table().AddColumns("epoch", "records delivered", "server counted", "ids exactly once", "missing", "duplicates");
for (var e = 0; e < settings.Epochs; e++)
{
    var counts = seen[e];
    long missing = 0, duplicates = 0;
    for (var i = 0; i < counts.Length; i++)
    {
        missing += counts[i] == 0 ? 1 : 0;
        duplicates += counts[i] > 1 ? counts[i] - 1 : 0;
    }

    var exactlyOnce = missing == 0 && duplicates == 0;
    ok &= exactlyOnce;
    var server = status.EpochHistory.FirstOrDefault(h => h.Epoch == e)?.RecordsDelivered ?? 0;
    ok &= server == settings.Rows;
    table.AddRow($"{e}", $"{delivered[e]:N0}", $"{server:N0}", exactlyOnce ? "[green]yes[/]" : "[red]NO[/]", $"{missing:N0}", $"{duplicates:N0}");
}

AnsiConsole.Write(table);
var total = delivered.Sum();
var serviceRate = total / run.Elapsed.TotalSeconds;
AnsiConsole.MarkupLine($"job {jobId}: state [bold]{status.State}[/], {status.Shards.Total:N0} shards an epoch, source described in {describeSeconds:F2} s");
AnsiConsole.MarkupLine($"end to end: {total:N0} records in {run.Elapsed.TotalSeconds:F2} s = [bold]{serviceRate:N0} records/s[/] ({total * (bytes / (double)settings.Rows) / run.Elapsed.TotalSeconds / 1e6:F0} MB/s of CSV)");
AnsiConsole.MarkupLine($"bare pipeline (CSV parse -> JSON write -> JSON parse, {settings.Files} threads, no service): {bare:N0} records/s");
AnsiConsole.MarkupLine($"service / bare pipeline: [bold]{serviceRate / bare:F2}[/]");
AnsiConsole.MarkupLine(ok ? "[green]CHECK PASSED[/]: every id arrived exactly once in every epoch" : "[red]CHECK FAILED[/]: see the table above");
return ok ? 0 : 1;

async Task RunWorker(string workerId)
{
    while (true)
    {
        var batch = await client.LeaseAsync(jobId, workerId, maxTasks: 2);
        if (batch.Leases.Count == 0)
        {
            if (batch.State is JobStates.Completed or JobStates.Failed or JobStates.Cancelled)
            {
                return;
            }

            await Task.Delay(batch.RetryAfterMs ?? 100);
            continue;
        }

        foreach (var lease in batch.Leases)
        {
            var counts = seen[lease.Epoch];
            long? offset = 0;
            var records = 0L;
            while (offset is { } from)
            {
                if (settings.Format == "arrow")
                {
                    (var read, offset) = await ReadArrowPage(lease.TaskId, from, counts);
                    records += read;
                    continue;
                }

                using var page = await client.GetRecordsAsync(jobId, lease.TaskId, from);
                foreach (var record in page.Records.EnumerateArray())
                {
                    if (long.TryParse(record.GetProperty("id").GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id < counts.Length)
                    {
                        Interlocked.Increment(ref counts[id]);
                    }
                    else
                    {
                        Interlocked.Increment(ref badIds);
                    }

                    records++;
                }

                offset = page.NextOffset;
            }

            await client.ReportAsync(jobId, new TaskReport(lease.TaskId, lease.LeaseId, workerId, Done: true));
            Interlocked.Add(ref delivered[lease.Epoch], records);
        }
    }
}

// A page as an Arrow IPC stream (format=arrow): the ids are read from the utf8 column as they arrived.
async Task<(long Records, long? NextOffset)> ReadArrowPage(string taskId, long from, int[] counts)
{
    using var response = await http.GetAsync(
        $"v1/jobs/{Uri.EscapeDataString(jobId)}/tasks/{Uri.EscapeDataString(taskId)}/records?offset={from}&format=arrow", HttpCompletionOption.ResponseHeadersRead);
    response.EnsureSuccessStatusCode();
    await using var body = await response.Content.ReadAsStreamAsync();
    using var reader = new ArrowStreamReader(body);
    var records = 0L;
    while (await reader.ReadNextRecordBatchAsync() is { } batch)
    {
        using (batch)
        {
            var bad = CountIds((StringArray)batch.Column("id"), counts);
            Interlocked.Add(ref badIds, bad);
            records += batch.Length;
        }
    }

    long? next = response.Headers.TryGetValues("X-Next-Offset", out var values) ? long.Parse(values.First(), CultureInfo.InvariantCulture) : null;
    return (records, next);
}

static long CountIds(StringArray ids, int[] counts)
{
    var bad = 0L;
    for (var i = 0; i < ids.Length; i++)
    {
        var text = ids.GetBytes(i);
        if (Utf8Parser.TryParse(text, out long id, out var consumed) && consumed == text.Length && id >= 0 && id < counts.Length)
        {
            Interlocked.Increment(ref counts[id]);
        }
        else
        {
            bad++;
        }
    }

    return bad;
}

static double BarePipeline(IReadOnlyList<string> files, long chunk)
{
    var rows = 0L;
    var clock = Stopwatch.StartNew();
    Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = files.Count }, path =>
    {
        using var stream = File.OpenRead(path);
        using var csv = CH.CsvReader.Create(stream, CH.CsvReaderOptions.Default with { HasHeader = true, AllowLineBreaksInQuotes = true });
        var names = csv.Headers.Select(h => JsonEncodedText.Encode(h)).ToArray();
        var buffer = new ArrayBufferWriter<byte>(1 << 20);
        var local = 0L;
        var more = true;
        while (more)
        {
            buffer.ResetWrittenCount();
            var inChunk = 0;
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartArray();
                while (inChunk < chunk && (more = csv.Read()))
                {
                    writer.WriteStartObject();
                    for (var i = 0; i < names.Length; i++)
                    {
                        writer.WriteString(names[i], csv.GetSpan(i));
                    }

                    writer.WriteEndObject();
                    inChunk++;
                }

                writer.WriteEndArray();
            }

            using var document = JsonDocument.Parse(buffer.WrittenMemory);
            foreach (var record in document.RootElement.EnumerateArray())
            {
                _ = long.Parse(record.GetProperty("id").GetString()!, CultureInfo.InvariantCulture);
                local++;
            }
        }

        Interlocked.Add(ref rows, local);
    });
    return rows / clock.Elapsed.TotalSeconds;
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

internal sealed record MainJobSettings(long Rows, int Files, int Workers, int Epochs, long ShardSize, string DataDir, string Format)
{
    public static MainJobSettings Parse(string[] args)
    {
        var settings = new MainJobSettings(1_000_000, 4, 4, 2, 10_000, "data/main-job", "json");
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            settings = args[i] switch
            {
                "--rows" => settings with { Rows = long.Parse(Value(), CultureInfo.InvariantCulture) },
                "--files" => settings with { Files = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--workers" => settings with { Workers = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--epochs" => settings with { Epochs = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--shard-size" => settings with { ShardSize = long.Parse(Value(), CultureInfo.InvariantCulture) },
                "--data" => settings with { DataDir = Value() },
                "--format" => settings with { Format = Value() is "json" or "arrow" ? args[i] : throw new ArgumentException($"--format '{args[i]}': use json or arrow") },
                _ => throw new ArgumentException($"unknown option '{args[i]}': use --rows, --files, --workers, --epochs, --shard-size, --data, --format json|arrow"),
            };
        }

        return settings;
    }
}
