// Serving benchmark: the pages of a shuffled shard (TaskRecordReader, as the records route reads them) against one
// read of the whole shard, side by side in one run. Every record served is written as JSON, as the route does.
// dotnet run -c Release --project bench/Serving.Bench -- [--rows N] [--shard N] [--page N] [--runs N] [--dir DIR]
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Grains;
using OrleansShards.Readers.Csv;

var rows = 200_000;
var shard = 10_000;
var pageSize = 1_000;
var runs = 5;
var dir = Path.Combine(Path.GetTempPath(), "serving-bench");
for (var i = 0; i < args.Length - 1; i += 2)
{
    switch (args[i])
    {
        case "--rows": rows = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--shard": shard = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--page": pageSize = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--runs": runs = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--dir": dir = args[i + 1]; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

Directory.CreateDirectory(dir);
var path = Path.Combine(dir, $"serving-{rows}.csv");
if (!File.Exists(path))
{
    using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
    writer.WriteLine("id,name,text");
    for (var r = 0; r < rows; r++)
    {
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r},name-{r % 977},\"text of row {r}, with a comma\""));
    }
}

var description = await new CsvPartitionReader().DescribeAsync(path);
var source = new SourceSpec { Kind = "csv", Paths = [path], Header = true };
var fingerprint = description.Fingerprint;
var plan = new JobReadPlan(
    source, [new PinnedFile(path, description.RecordCount, fingerprint.Length, fingerprint.LastWriteTimeUtcTicks, fingerprint.ContentHash)],
    shard, CurrentEpoch: 0, Epochs: 1, Shuffle: true, Seed: 42);
var shards = new ShardCatalog([description.RecordCount], shard);
var tasks = Enumerable.Range(0, (int)shards.ShardCount).Select(s => TaskIds.Format(0, shards[s])).ToArray();
Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cpus; {path}: {description.RecordCount:N0} rows, shuffled shards of {shard:N0}, pages of {pageSize:N0}; median of {runs} runs after a warm-up, the cases in turn");

var output = new ArrayBufferWriter<byte>(1 << 22);
var cases = new (string Name, Func<TaskRecordReader, Task<long>> Run, long CacheBytes)[]
{
    ("whole shard, one page", reader => ReadAll(reader, shard), 256L << 20),
    ($"pages of {pageSize:N0}, shard cache on", reader => ReadAll(reader, pageSize), 256L << 20),
    ($"pages of {pageSize:N0}, shard cache off (the whole shard per page)", reader => ReadAll(reader, pageSize), 0),
    ("limit=1 (first page only)", reader => ReadFirst(reader, 1), 256L << 20),
};
// The cases take turns within each run (A B C D, A B C D, ...), so a slower moment of a shared machine falls on all of
// them; each case's ratio to the whole read is taken run by run, and the median of those ratios is reported.
var seconds = cases.Select(_ => new List<double>()).ToArray();
for (var run = -1; run < runs; run++)
{
    for (var c = 0; c < cases.Length; c++)
    {
        // A fresh reader per run: a run does not find the shards the previous run cached.
        var options = Options.Create(new ShardsOptions { DataDir = dir, DataRoots = [dir], ShardCacheBytes = cases[c].CacheBytes });
        var reader = new TaskRecordReader(new SourceReaders(options), options);
        var clock = Stopwatch.StartNew();
        var served = await cases[c].Run(reader);
        if (run >= 0)
        {
            seconds[c].Add(clock.Elapsed.TotalSeconds);
        }

        if (c < 3 && served != description.RecordCount)
        {
            throw new InvalidOperationException($"{cases[c].Name}: served {served} records, not {description.RecordCount}");
        }
    }
}

var ratios = new double[cases.Length];
for (var c = 0; c < cases.Length; c++)
{
    var sorted = seconds[c].Order().ToList();
    var paired = seconds[c].Select((t, run) => t / seconds[0][run]).Order().ToList();
    ratios[c] = paired[paired.Count / 2];
    Console.WriteLine($"{cases[c].Name,-62} median {sorted[sorted.Count / 2] * 1000,9:F1} ms  (min {sorted[0] * 1000:F1}, max {sorted[^1] * 1000:F1})  ratio to whole, median of runs {ratios[c]:F2} (min {paired[0]:F2}, max {paired[^1]:F2})");
}

Console.WriteLine($"pages / whole (target <= 1.2): {ratios[1]:F2}; without the cache: {ratios[2]:F2}");
return 0;

async Task<long> ReadAll(TaskRecordReader reader, int limit)
{
    var served = 0L;
    foreach (var task in tasks)
    {
        long? offset = 0;
        while (offset is { } from)
        {
            using var page = await reader.ReadAsync(plan, task, from, limit, null, CancellationToken.None);
            served += Write(page);
            offset = page.NextOffset;
        }
    }

    return served;
}

async Task<long> ReadFirst(TaskRecordReader reader, int limit)
{
    var served = 0L;
    foreach (var task in tasks)
    {
        using var page = await reader.ReadAsync(plan, task, 0, limit, null, CancellationToken.None);
        served += Write(page);
    }

    return served;
}

long Write(RecordPage page)
{
    output.ResetWrittenCount();
    using var writer = new Utf8JsonWriter(output);
    page.WriteRecords(writer);
    writer.Flush();
    return page.Count;
}
