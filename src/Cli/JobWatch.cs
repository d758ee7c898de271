using System.CommandLine;
using System.Globalization;
using OrleansShards.Client;
using OrleansShards.GrainInterfaces;
using Spectre.Console;

namespace OrleansShards.Cli;

/// <summary>
/// <c>shards job watch ID</c>: polls the job's status and shows live progress (one bar per epoch,
/// one per partition, record rate and ETA) until the job completes, fails or is cancelled. Exit
/// code 0 when it completed, 1 when it failed or was cancelled.
/// </summary>
internal static class JobWatch
{
    public static Command Build()
    {
        var id = new Argument<string>("id") { Description = "The job" };
        var interval = new Option<int>("--interval") { Description = "Milliseconds between status polls", DefaultValueFactory = _ => 500 };
        var watch = new Command("watch", "Show a job's progress live until it completes, fails or is cancelled") { id, interval };
        watch.SetAction(async (context, cancellationToken) =>
        {
            var jobId = context.Parse.GetRequiredValue(id);
            var every = TimeSpan.FromMilliseconds(Math.Max(50, context.Parse.GetValue(interval)));
            // Polls keep going through a passing outage of the server: retry as a worker would.
            var client = context.Client(retries: 6);
            var first = await client.GetJobAsync(jobId, cancellationToken);
            var last = AnsiConsole.Profile.Capabilities.Interactive
                ? await WatchLive(client, first, every, cancellationToken)
                : await WatchAsLines(client, first, every, cancellationToken);
            return Finish(last);
        });
        return watch;
    }

    private static int Finish(JobStatus job)
    {
        switch (job.State)
        {
            case JobStates.Completed:
                Console.Out.WriteLine($"job {job.Id}: completed, {JobTables.N(job.Records.Delivered)} records delivered");
                return 0;
            case JobStates.Failed:
                Console.Error.WriteLine($"error: job {job.Id} failed: {job.DeadLetters.Count} shard(s) dead-lettered{(job.DeadLetters.Count > 0 ? $", last error: {CliErrors.OneLine(job.DeadLetters[^1].LastError)}" : "")}");
                return 1;
            default:
                Console.Error.WriteLine($"error: job {job.Id} was {job.State}");
                return 1;
        }
    }

    private static bool Ended(JobStatus job) => job.State is JobStates.Completed or JobStates.Failed or JobStates.Cancelled;

    private static async Task<JobStatus> WatchLive(ShardsClient client, JobStatus first, TimeSpan every, CancellationToken cancellationToken)
    {
        var job = first;
        var rate = new RateMeter(client.Options.TimeProvider);
        await AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var epochs = new Dictionary<int, ProgressTask>();
                var partitions = new Dictionary<int, ProgressTask>();
                var summary = progress.AddTask("records", maxValue: 1);
                while (true)
                {
                    rate.Add(job.Records.Delivered, job.Shards.Done);
                    var shown = JobProgress.Of(job, client.Options.TimeProvider.GetUtcNow());
                    // A live job has no epochs to fill: its partitions' committed offsets are its progress.
                    for (var e = 0; e < (shown.Live ? 0 : job.Epochs); e++)
                    {
                        if (!epochs.TryGetValue(e, out var bar))
                        {
                            bar = epochs[e] = progress.AddTask($"epoch {e + 1}/{job.Epochs}", maxValue: Math.Max(1, job.Shards.Total));
                        }

                        bar.MaxValue = Math.Max(1, job.Shards.Total);
                        bar.Value = EpochDone(job, e);
                    }

                    foreach (var p in job.Partitions.Where(_ => shown.Live))
                    {
                        // Live partitions: committed of appended. (A static job's status gives each partition's size,
                        // not its progress, so static jobs show epochs and records only, no bar that would sit at 0%.)
                        if (!partitions.TryGetValue(p.Partition, out var bar))
                        {
                            bar = partitions[p.Partition] = progress.AddTask(Markup.Escape($"  p{p.Partition}"), maxValue: 1);
                        }

                        bar.MaxValue = Math.Max(1, p.HighWatermark ?? 0);
                        bar.Value = Math.Min(bar.MaxValue, p.Committed ?? 0);
                        bar.Description = Markup.Escape($"  p{p.Partition} {Path.GetFileName(p.Path)}: committed {JobTables.N(p.Committed ?? 0)} of {JobTables.N(p.HighWatermark ?? 0)}, lag {JobTables.N(p.Lag ?? 0)}");
                    }

                    summary.Description = Markup.Escape(
                        $"records {JobTables.N(job.Records.Delivered)}{(job.Records.Total is { } all ? $" of {JobTables.N(all)}" : "")} · {rate.RecordsPerSecond:N0}/s"
                        + (shown.Live ? $" · lag {JobTables.N(shown.Lag ?? 0)}" : "")
                        + (shown.AttemptsFailed > 0 ? $" · {JobTables.N(shown.AttemptsFailed)} attempts failed" : "")
                        + $" · {JobProgress.Duration(shown.Elapsed)} · {job.State}");
                    // Records.Total already counts every epoch.
                    summary.MaxValue = Math.Max(1, job.Records.Total ?? 1);
                    summary.Value = job.Records.Total is null ? 0 : job.Records.Delivered;
                    summary.IsIndeterminate = shown.Live && !Ended(job);
                    if (Ended(job))
                    {
                        if (job.State == JobStates.Completed)
                        {
                            foreach (var bar in epochs.Values.Concat(partitions.Values).Append(summary))
                            {
                                bar.Value = bar.MaxValue;
                            }
                        }

                        return;
                    }

                    await Task.Delay(every, cancellationToken);
                    job = await client.GetJobAsync(first.Id, cancellationToken);
                }
            });
        return job;
    }

    private static async Task<JobStatus> WatchAsLines(ShardsClient client, JobStatus first, TimeSpan every, CancellationToken cancellationToken)
    {
        // No terminal to redraw (a pipe, a log): one line whenever something changed.
        var job = first;
        var rate = new RateMeter(client.Options.TimeProvider);
        string? previous = null;
        while (true)
        {
            rate.Add(job.Records.Delivered, job.Shards.Done);
            var progress = JobProgress.Of(job, client.Options.TimeProvider.GetUtcNow());
            var line = progress.Live ? LiveLine(job, progress, rate.RecordsPerSecond) : StaticLine(job, progress, rate.RecordsPerSecond);
            if (line != previous)
            {
                Console.Out.WriteLine(line);
                previous = line;
            }

            if (Ended(job))
            {
                return job;
            }

            await Task.Delay(every, cancellationToken);
            job = await client.GetJobAsync(first.Id, cancellationToken);
        }
    }

    private static string StaticLine(JobStatus job, JobProgress progress, double recordsPerSecond)
    {
        var done = EpochDone(job, job.Epoch);
        var percent = job.Shards.Total == 0 ? 0 : 100.0 * done / job.Shards.Total;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{job.State} epoch {Math.Min(job.Epoch + 1, job.Epochs)}/{job.Epochs} shards {done}/{job.Shards.Total} ({percent:F0}%) all epochs {JobProgress.Percent(progress.Fraction)} doing {job.Shards.Doing} dead-lettered {job.Shards.Failed} attempts failed {progress.AttemptsFailed} records {job.Records.Delivered} {recordsPerSecond:F0}/s elapsed {JobProgress.Duration(progress.Elapsed)} eta {JobProgress.Duration(progress.Eta(job, recordsPerSecond))}");
    }

    private static string LiveLine(JobStatus job, JobProgress progress, double recordsPerSecond) => string.Create(
        CultureInfo.InvariantCulture,
        $"{job.State} live partitions {job.Partitions.Count} appended {progress.HighWatermark} committed {progress.Committed} lag {progress.Lag} shards done {job.Shards.Done} doing {job.Shards.Doing} dead-lettered {job.Shards.Failed} attempts failed {progress.AttemptsFailed} records {job.Records.Delivered} {recordsPerSecond:F0}/s elapsed {JobProgress.Duration(progress.Elapsed)}");

    /// <summary>Shards done in epoch <paramref name="epoch"/>: the history for past epochs, the counters for the current one.</summary>
    private static long EpochDone(JobStatus job, int epoch) =>
        epoch < job.Epoch ? job.Shards.Total
        : epoch > job.Epoch ? 0
        : job.State == JobStates.Completed ? job.Shards.Total
        : job.Shards.Done;

    /// <summary>Rates over the last samples, for records per second and an ETA.</summary>
    private sealed class RateMeter(TimeProvider clock)
    {
        private readonly Queue<(long Ticks, long Records, long Shards)> _samples = new();
        private long _shardsSeen;
        private long _shardsBase;
        private long _lastShards;

        public double RecordsPerSecond { get; private set; }

        private double ShardsPerSecond { get; set; }

        public void Add(long records, long shardsDone)
        {
            // Shard counters restart with each epoch: keep a running total.
            if (shardsDone < _lastShards)
            {
                _shardsBase += _lastShards;
            }

            _lastShards = shardsDone;
            _shardsSeen = _shardsBase + shardsDone;
            var now = clock.GetTimestamp();
            _samples.Enqueue((now, records, _shardsSeen));
            while (_samples.Count > 20)
            {
                _samples.Dequeue();
            }

            var (ticks, oldRecords, oldShards) = _samples.Peek();
            var seconds = clock.GetElapsedTime(ticks, now).TotalSeconds;
            if (seconds > 0)
            {
                RecordsPerSecond = (records - oldRecords) / seconds;
                ShardsPerSecond = (_shardsSeen - oldShards) / seconds;
            }
        }

        public TimeSpan? Eta(long shardsLeft) =>
            shardsLeft <= 0 ? TimeSpan.Zero : ShardsPerSecond > 0 ? TimeSpan.FromSeconds(Math.Min(shardsLeft / ShardsPerSecond, TimeSpan.FromDays(1).TotalSeconds)) : null;
    }
}
