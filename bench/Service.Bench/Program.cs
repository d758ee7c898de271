// Service benchmark: lease + report cycles through a real in-process Orleans silo on SQLite (FULL, strict
// durability), beside the machine's baselines (a 2 KiB-state grain, non-reentrant and reentrant), the job state
// size for 1,000 vs 1,000,000 shards, strict vs batched durability, state bytes written per cycle, and an in-memory
// TaskBook loop as the upper bound. See README.md.
// dotnet run -c Release --project bench/Service.Bench -- [--runs 5] [--seconds 2] [--rows 2000000]
//     [--only memory,baseline,cycles,size,durability,bytes,storage] [--durability-runs 3] [--durability-seconds 1.5] [--dir DIR] [--normal] [--keep]
using System.Diagnostics;
using System.Globalization;
using OrleansShards.Service.Bench;

var options = BenchOptions.Parse(args);
if (options is null)
{
    return 2;
}

Console.WriteLine("command: dotnet run -c Release --project bench/Service.Bench --" + (args.Length == 0 ? "" : " " + string.Join(' ', args)));
Console.WriteLine($"process: {Environment.CommandLine}");
Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cpus, server GC {System.Runtime.GCSettings.IsServerGC}, " +
    $"{(Debugger.IsAttached ? "debugger attached, " : "")}{BuildConfiguration()} build, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
Console.WriteLine($"each figure: median of {options.Runs} timed runs of {options.Seconds.ToString(CultureInfo.InvariantCulture)} s after a warm-up of {options.WarmupSeconds.ToString(CultureInfo.InvariantCulture)} s");
Console.WriteLine();

var results = new Results(options.Normal);
var sw = Stopwatch.StartNew();

if (options.Has("memory"))
{
    MemoryBench.Run(options, results);
}

if (options.Has("baseline") || options.Has("cycles") || options.Has("size") || options.Has("durability") || options.Has("bytes"))
{
    await using var service = await ServiceHost.StartAsync(options);
    var bench = new ServiceBench(service, options, results);
    if (options.Has("baseline"))
    {
        await bench.BaselineAsync();
    }

    if (options.Has("cycles"))
    {
        await bench.CyclesAsync();
    }

    if (options.Has("size"))
    {
        await bench.SizeAsync();
    }

    if (options.Has("durability"))
    {
        await bench.DurabilityAsync();
    }

    if (options.Has("bytes"))
    {
        await bench.BytesAsync();
    }
}

if (options.Has("storage"))
{
    await StorageBench.RunAsync(options, results);
}

Console.WriteLine();
Console.WriteLine($"total time {sw.Elapsed.TotalSeconds:F0} s");
Console.WriteLine();
results.PrintSummary();
return 0;

static string BuildConfiguration() =>
#if DEBUG
    "DEBUG";
#else
    "Release";
#endif
