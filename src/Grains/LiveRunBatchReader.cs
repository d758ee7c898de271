using System.Diagnostics;
using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;

namespace OrleansShards.Grains;

/// <summary>
/// Serves the batches of live runs outside the run grain: a rank's slice of a sealed step is read from the partitions'
/// offset ranges the seal names; a step not sealed yet is waited for (woken by appends where the source wakes) up to the
/// request's <c>waitMs</c>, bounded by <see cref="RunOptions.LiveMaxWaitMs"/>.
/// </summary>
public sealed class LiveRunBatchReader(SourceReaders readers, RunBatchReader runs, IOptions<RunOptions> options, TimeProvider time)
{
    /// <summary>The longest a request may wait for its step.</summary>
    public TimeSpan MaxWait => TimeSpan.FromMilliseconds(options.Value.LiveMaxWaitMs);

    /// <summary>What a request whose step is not full after its wait is told to wait before asking again.</summary>
    public int RetryAfterMs => options.Value.LiveRetryAfterMs;

    /// <summary>
    /// Asks the run to seal <paramref name="step"/> until it is sealed or <paramref name="wait"/> (bounded by
    /// <see cref="MaxWait"/>) has passed, waiting for appends in between. Null when the step is still not full.
    /// </summary>
    public async Task<LiveStepPlan?> SealAsync(IRunGrain run, long step, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        var deadline = time.GetUtcNow() + (wait < MaxWait ? wait : MaxWait);
        while (true)
        {
            var plan = await run.SealLiveStep(step);
            var remaining = deadline - time.GetUtcNow();
            if (plan.Sealed)
            {
                return plan;
            }

            if (remaining <= TimeSpan.Zero)
            {
                return null;
            }

            await WaitForRecordsAsync(plan, remaining, cancellationToken);
        }
    }

    /// <summary>Reads rank <paramref name="rank"/> of <paramref name="worldSize"/>'s slice of a sealed step.</summary>
    /// <exception cref="ShardsException">Records of the step no longer retained (conflict, names the first retained offset); a projection naming an unknown column (invalid).</exception>
    public async Task<RunBatch> ReadAsync(string jobId, string run, LiveStepPlan plan, long step, int rank, int worldSize, IReadOnlyList<string>? columns, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var started = Stopwatch.GetTimestamp();
        var count = plan.GlobalBatchSize / worldSize;
        var slice = LiveStepRange.Slice(plan.Ranges, (long)rank * count, count);
        var reader = readers.For(plan.Job.Source);
        var batches = new Dictionary<int, (RecordBatch Batch, long From)>();
        foreach (var part in slice.GroupBy(r => r.Partition))
        {
            var from = part.Min(r => r.Offset);
            var to = part.Max(r => r.Offset) + 1;
            batches[part.Key] = (await ReadRangeAsync(reader, plan.Job, step, part.Key, from, to, columns, cancellationToken), from);
        }

        var sources = new RecordBatch[count];
        var rows = new int[count];
        for (var i = 0; i < count; i++)
        {
            var (batch, from) = batches[slice[i].Partition];
            sources[i] = batch;
            rows[i] = (int)(slice[i].Offset - from);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        runs.RecordServed(jobId, run, elapsed, fromMemory: false);
        ShardsMetrics.RunBatchServed(jobId, run, count, elapsed, fromMemory: false);
        return new RunBatch(sources, rows, fromMemory: false);
    }

    private static async Task<RecordBatch> ReadRangeAsync(
        IPartitionReader reader, JobReadPlan job, long step, int partition, long from, long to, IReadOnlyList<string>? columns, CancellationToken cancellationToken)
    {
        var locator = job.Files[partition].Path;
        try
        {
            return await reader.ReadAsync(new ShardReadRequest(locator, new FileFingerprint(0, 0, 0), from, to, columns), cancellationToken);
        }
        catch (LogTruncatedException e)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "step", $"step {step} reads partition {partition} from offset {from}, but its first retained offset is {e.FirstRetained}: those records are gone");
        }
        catch (ArgumentException e) when (columns is not null && e is not ArgumentOutOfRangeException)
        {
            // The readers refuse a projection naming a column the source does not have.
            throw new ShardsException(ShardsErrorKind.Invalid, "columns", e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal));
        }
    }

    /// <summary>Waits until any partition's high-water mark passes what the run saw, or <paramref name="timeout"/>.</summary>
    private async Task WaitForRecordsAsync(LiveStepPlan plan, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var adapter = readers.LiveFor(plan.Job.Source);
        if (!adapter.WakesOnAppend || plan.HighWatermarks.Count == 0)
        {
            // A polled source (watched objects, Redis): ask again after a short pause.
            await Task.Delay(timeout < TimeSpan.FromMilliseconds(100) ? timeout : TimeSpan.FromMilliseconds(100), time, cancellationToken);
            return;
        }

        using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var waits = plan.HighWatermarks
            .Select((highWatermark, p) => adapter.WaitForRecordsAsync(plan.Job.Source, plan.Job.Files[p].Path, highWatermark, timeout, done.Token).AsTask())
            .ToList();
        try
        {
            await Task.WhenAny(waits);
        }
        finally
        {
            await done.CancelAsync();
            foreach (var wait in waits)
            {
                _ = wait.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }
}
