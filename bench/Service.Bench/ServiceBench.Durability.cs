using System.Diagnostics;
using System.Globalization;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Service.Bench;

/// <summary>A durability mode of a job, as the durability section runs it.</summary>
/// <param name="Key">Short name, for result keys and job ids.</param>
/// <param name="Label">Name printed.</param>
/// <param name="Durability"><see cref="JobSpec.Durability"/>.</param>
/// <param name="FlushIntervalMs"><see cref="JobSpec.FlushIntervalMs"/>.</param>
public sealed record DurabilityMode(string Key, string Label, string Durability, int? FlushIntervalMs)
{
    public static readonly IReadOnlyList<DurabilityMode> All =
    [
        new("strict", "strict", JobSpec.Strict, null),
        new("batched100", "batched, flush 100 ms", JobSpec.Batched, 100),
        new("batched1000", "batched, flush 1000 ms", JobSpec.Batched, 1000),
    ];

    public static readonly int[] Workers = [1, 8, 64];

    public static readonly int[] MaxTasks = [1, 16];
}

/// <summary>The durability section (strict vs batched) and the bytes section (state bytes written per cycle, 1k vs 1M shards).</summary>
public sealed partial class ServiceBench
{
    /// <summary>
    /// Cycles/s, writes and transactions per cycle for strict and batched durability, 1, 8 and 64 workers, maxTasks 1 and 16,
    /// with fewer, shorter runs than the other sections (18 configurations). The three modes of one (workers, maxTasks) and
    /// the 2 KiB one-write-per-call grain run in rotating order so that they see the same machine.
    /// </summary>
    public async Task DurabilityAsync()
    {
        var section = Stopwatch.StartNew();
        var o = options.WithRuns(options.DurabilityRuns, options.DurabilitySeconds, options.DurabilityWarmupSeconds);
        Console.WriteLine($"[durability] JobGrain lease + report, strict vs batched, a fresh job per run over {options.Rows:N0} rows, shardSize 1, shuffled; " +
            $"median of {o.Runs} runs of {S(o.Seconds)} s after a {S(o.WarmupSeconds)} s warm-up, the three modes and the reference in rotating order");
        Console.WriteLine("  after each run the job is paused (a batched job writes what it held back) and deleted, outside the timed window, so its flush timer cannot write into the next run");

        // The reference, one storage write per call, runs in the same rotation as the three modes of every group, so
        // the "vs 2 KiB grain" ratio compares figures taken within seconds of each other (fsync rates drift by minutes).
        var blob = service.Grains.GetGrain<IBlobGrain>(1);
        await blob.Write();
        Console.WriteLine($"  reference in every group: the 2 KiB grain, non-reentrant, {Callers} callers (one storage write per call), in the same rotation");
        foreach (var workers in DurabilityMode.Workers)
        {
            foreach (var maxTasks in DurabilityMode.MaxTasks)
            {
                var configurations = DurabilityMode.All
                    .Select(mode => ($"{workers} worker{(workers == 1 ? "" : "s")}, maxTasks {maxTasks}, {mode.Label}",
                        (Func<double, Task<RunResult>>)(s => DurabilityRunAsync(mode, workers, maxTasks, s))))
                    .Append(("  reference: 2 KiB grain, non-reentrant, 64 callers (calls)", s => CallersRun(_ => blob.Write(), s)))
                    .ToList();
                var reference = configurations.Count - 1;
                var measured = await Runner.MeasureSetAsync(o, configurations, (all, k) =>
                {
                    var m = all[k];
                    if (k == reference)
                    {
                        return "";
                    }

                    var writesPerSecond = m.WritesPerOp is { } w ? $"  writes/s {w * m.Rate:F0}" : "";
                    return writesPerSecond + (k == 0
                        ? $"  vs 2 KiB grain {Fmt.Ratio(m.Rate / all[reference].Rate)}"
                        : $"  vs strict {Fmt.Ratio(m.Rate / all[0].Rate)}");
                });
                for (var k = 0; k < DurabilityMode.All.Count; k++)
                {
                    results.Add(Keys.Durability(DurabilityMode.All[k].Key, workers, maxTasks), measured[k]);
                }

                results.Add(Keys.DurabilityReference(workers, maxTasks), measured[reference]);
            }
        }

        Console.WriteLine($"  (durability section: {section.Elapsed.TotalSeconds:F0} s)");
        Console.WriteLine();

        static string S(double seconds) => seconds.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Serialized state bytes written per lease + report cycle (strict), 1,000 vs 1,000,000 shards over the same file,
    /// 1 and 64 workers, maxTasks 1; the two sizes in alternating runs.
    /// </summary>
    public async Task BytesAsync()
    {
        Console.WriteLine($"[bytes] JobGrain state bytes written per lease + report cycle, strict, {SmallJob:N0} vs {LargeJob:N0} shards over the same {options.Rows:N0}-row file, maxTasks 1");
        Console.WriteLine("  counted at the provider's serializer (wrapped by the bench): the length of every state of the run's job serialized for writing,");
        Console.WriteLine("  i.e. the row data SQLite is handed; the figure in brackets estimates the same as length(data) of the row after the run x the job's writes");
        var section = Stopwatch.StartNew();
        Func<double, Task<RunResult>> Run(long shards, int workers) => async s =>
        {
            var id = await CreateJobAsync(shards == SmallJob ? "bytes1k" : "bytes1m", options.Rows / shards, Epochs(shards));
            return await CycleRunAsync(id, workers, 1, s, latency: false, bytes: true);
        };

        foreach (var workers in new[] { 1, 64 })
        {
            var w = $"{workers} worker{(workers == 1 ? "" : "s")}";
            var (small, large) = await Runner.MeasurePairAsync($"{SmallJob:N0} shards, {w}, maxTasks 1", $"{LargeJob:N0} shards, {w}, maxTasks 1", options, Run(SmallJob, workers), Run(LargeJob, workers));
            results.Add(Keys.Bytes(SmallJob, workers), small);
            results.Add(Keys.Bytes(LargeJob, workers), large);
        }

        Console.WriteLine($"  (bytes section: {section.Elapsed.TotalSeconds:F0} s)");
        Console.WriteLine();
    }

    private async Task<RunResult> DurabilityRunAsync(DurabilityMode mode, int workers, int maxTasks, double seconds)
    {
        var id = await CreateJobAsync($"dur-{mode.Key}", shardSize: 1, epochs: 1, mode.Durability, mode.FlushIntervalMs);
        var result = await CycleRunAsync(id, workers, maxTasks, seconds, latency: maxTasks == 1);
        await RetireAsync(id);
        return result;
    }

    /// <summary>
    /// Ends a job after its timed run: pausing writes it now (so a batched job's flush timer finds nothing to write in the
    /// next run's window), deleting frees the activation and its timers.
    /// </summary>
    private async Task RetireAsync(string jobId)
    {
        var job = service.Grains.GetGrain<IJobGrain>(jobId);
        try
        {
            await job.Pause();
            await job.Delete();
        }
        catch (Exception e)
        {
            Console.WriteLine($"  (warning: retiring job {jobId} failed: {e.GetType().Name}: {e.Message})");
        }
    }
}
