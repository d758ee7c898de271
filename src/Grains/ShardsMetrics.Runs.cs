using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace OrleansShards.Grains;

/// <summary>The metrics of training runs (issue 14), on the same meter as the rest.</summary>
public static partial class ShardsMetrics
{
    /// <summary>The tag that carries the run name.</summary>
    public const string RunTag = "run";

    /// <summary>The tag that says where a batch came from: <c>memory</c> (every shard read ahead or cached) or <c>source</c>.</summary>
    public const string ServedFromTag = "from";

    /// <summary>Counts a commit of a run and remembers its committed step for the gauge.</summary>
    public static void RunCommitted(string jobId, string run, int epoch, long step)
    {
        RunInstruments.RunCommitsCounter.Add(1, new(JobTag, jobId), new(RunTag, run));
        RunInstruments.CommittedByRun[(jobId, run)] = (epoch, step);
    }

    /// <summary>Counts a rank batch served and records how long it took.</summary>
    public static void RunBatchServed(string jobId, string run, int records, TimeSpan elapsed, bool fromMemory)
    {
        var job = new KeyValuePair<string, object?>(JobTag, jobId);
        var name = new KeyValuePair<string, object?>(RunTag, run);
        RunInstruments.RunBatchesCounter.Add(1, job, name, new(ServedFromTag, fromMemory ? "memory" : "source"));
        RunInstruments.RunRecordsCounter.Add(records, job, name);
        RunInstruments.RunBatchLatency.Record(elapsed.TotalSeconds, job, name);
    }

    /// <summary>Stops reporting the committed step of a deleted run.</summary>
    public static void ForgetRun(string jobId, string run) => RunInstruments.CommittedByRun.TryRemove((jobId, run), out _);

    internal static IEnumerable<Measurement<long>> ObserveCommitted() =>
        RunInstruments.CommittedByRun.Select(pair => new Measurement<long>(
            pair.Value.Step,
            new KeyValuePair<string, object?>(JobTag, pair.Key.Job),
            new KeyValuePair<string, object?>(RunTag, pair.Key.Run),
            new KeyValuePair<string, object?>("epoch", pair.Value.Epoch)));

    /// <summary>
    /// The run instruments, created on first use: static fields of a partial class in two files have no guaranteed
    /// initialisation order, and these need the meter of the other file.
    /// </summary>
    private static class RunInstruments
    {
        internal static readonly Counter<long> RunCommitsCounter = ShardsMetrics.Meter.CreateCounter<long>(
                "orleansshards.run.commits", "{commit}", "Commits of training runs (a scraper derives committed steps per second).");

        internal static readonly Counter<long> RunBatchesCounter = ShardsMetrics.Meter.CreateCounter<long>(
                "orleansshards.run.batches", "{batch}", "Rank batches served, by where they came from (memory: a prefetch hit).");

        internal static readonly Counter<long> RunRecordsCounter = ShardsMetrics.Meter.CreateCounter<long>(
                "orleansshards.run.records", "{record}", "Records of the rank batches served.");

        internal static readonly Histogram<double> RunBatchLatency = ShardsMetrics.Meter.CreateHistogram<double>(
                "orleansshards.run.batch.duration", "s", "How long a rank batch took to assemble (p50/p99 from the buckets).",
                advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });

        internal static readonly ConcurrentDictionary<(string Job, string Run), (int Epoch, long Step)> CommittedByRun = new();

        internal static readonly ObservableGauge<long> RunCommittedGauge = ShardsMetrics.Meter.CreateObservableGauge(
                "orleansshards.run.committed_step", ShardsMetrics.ObserveCommitted, "{step}", "The committed step of each run active on this silo (tag epoch).");
    }
}
