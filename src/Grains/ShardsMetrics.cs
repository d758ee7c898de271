using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>
/// The metrics of OrleansShards, on the <see cref="Meter"/> named <see cref="MeterName"/>: leases
/// granted, reports taken and records delivered (counters, so a scraper derives the rates), leases
/// in flight and lag per live partition (gauges of the jobs this silo hosts), and the latency of
/// grain state writes (a histogram). Every measurement carries the job id.
/// </summary>
/// <remarks>
/// The grains call the static methods; the host decides whether anything listens (the silo exports
/// the meter for Prometheus). A meter nobody listens to costs a branch per call. Job ids are tags:
/// a deployment runs tens of jobs, not millions, so the number of series stays small.
/// </remarks>
public static partial class ShardsMetrics
{
    /// <summary>The name of the meter, for <c>AddMeter</c> in a metrics pipeline.</summary>
    public const string MeterName = "OrleansShards";

    /// <summary>The tag that carries the job id.</summary>
    public const string JobTag = "job.id";

    /// <summary>The tag that carries the partition of a live partition gauge.</summary>
    public const string PartitionTag = "partition";

    /// <summary>The tag of a report's outcome: <c>done</c> or <c>failed</c>.</summary>
    public const string OutcomeTag = "outcome";

    /// <summary>The tag of the kind of grain whose state was written, e.g. <c>job</c>.</summary>
    public const string GrainTag = "grain";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> LeasesCounter = Meter.CreateCounter<long>(
        "orleansshards.leases.granted", "{lease}", "Leases handed out to workers.");

    private static readonly Counter<long> ReportsCounter = Meter.CreateCounter<long>(
        "orleansshards.reports", "{report}", "Reports of leased tasks that the job accepted, by outcome.");

    private static readonly Counter<long> RecordsCounter = Meter.CreateCounter<long>(
        "orleansshards.records.delivered", "{record}", "Records of the tasks reported done.");

    private static readonly Histogram<double> WriteLatency = Meter.CreateHistogram<double>(
        "orleansshards.storage.write.duration", "s", "How long a grain state write took, failed writes included.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });

    private static readonly ConcurrentDictionary<string, long> InFlightByJob = new(StringComparer.Ordinal);

    private static readonly ConcurrentDictionary<(string Job, int Partition), long> LagByPartition = new();

    static ShardsMetrics()
    {
        Meter.CreateObservableGauge("orleansshards.leases.in_flight", ObserveInFlight, "{lease}", "Leases in flight of the jobs active on this silo.");
        Meter.CreateObservableGauge("orleansshards.partition.lag", ObserveLag, "{record}", "Records of a live partition past its committed offset, of the jobs active on this silo.");
    }

    /// <summary>Counts <paramref name="count"/> leases handed out by <paramref name="jobId"/>.</summary>
    public static void LeasesGranted(string jobId, int count)
    {
        if (count > 0)
        {
            LeasesCounter.Add(count, new KeyValuePair<string, object?>(JobTag, jobId));
        }
    }

    /// <summary>
    /// Counts a report the job accepted and, when it says done, the records of its task (the task id
    /// names the shard's offset range, so the count needs no lookup).
    /// </summary>
    public static void Reported(string jobId, TaskReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var job = new KeyValuePair<string, object?>(JobTag, jobId);
        ReportsCounter.Add(1, job, new KeyValuePair<string, object?>(OutcomeTag, report.Done ? "done" : "failed"));
        if (report.Done && TaskIds.TryParse(report.TaskId, out _, out var shard))
        {
            RecordsCounter.Add(shard.Length, job);
        }
    }

    /// <summary>Counts the reports of a batch whose outcome (at the same index) says the job accepted them.</summary>
    public static void Reported(string jobId, IReadOnlyList<TaskReport> reports, IReadOnlyList<ReportVerdict> outcomes)
    {
        ArgumentNullException.ThrowIfNull(reports);
        ArgumentNullException.ThrowIfNull(outcomes);
        for (var i = 0; i < Math.Min(reports.Count, outcomes.Count); i++)
        {
            if (outcomes[i].Accepted)
            {
                Reported(jobId, reports[i]);
            }
        }
    }

    /// <summary>Sets the number of leases in flight of <paramref name="jobId"/>, reported until <see cref="Forget"/>.</summary>
    public static void SetInFlight(string jobId, long count) => InFlightByJob[jobId] = count;

    /// <summary>
    /// Sets the lag of a live partition: its high-water mark minus its committed offset (the end of
    /// its contiguous done prefix), reported until <see cref="Forget"/>.
    /// </summary>
    public static void SetPartitionLag(string jobId, int partition, long lag) => LagByPartition[(jobId, partition)] = lag;

    /// <summary>Stops reporting the gauges of <paramref name="jobId"/>: it was deactivated on this silo or deleted.</summary>
    public static void Forget(string jobId)
    {
        InFlightByJob.TryRemove(jobId, out _);
        foreach (var key in LagByPartition.Keys.Where(k => k.Job == jobId))
        {
            LagByPartition.TryRemove(key, out _);
        }
    }

    /// <summary>Runs a grain state write and records how long it took under the grain kind <paramref name="grain"/>.</summary>
    public static async Task TimeStorageWrite(string grain, Func<Task> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await write();
        }
        finally
        {
            WriteLatency.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>(GrainTag, grain));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveInFlight() =>
        InFlightByJob.Select(pair => new Measurement<long>(pair.Value, new KeyValuePair<string, object?>(JobTag, pair.Key)));

    private static IEnumerable<Measurement<long>> ObserveLag() =>
        LagByPartition.Select(pair => new Measurement<long>(
            pair.Value,
            new KeyValuePair<string, object?>(JobTag, pair.Key.Job),
            new KeyValuePair<string, object?>(PartitionTag, pair.Key.Partition)));
}
