using Microsoft.Extensions.Logging;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>
/// The splitter of a live partition: watches the high-water mark, cuts a shard when a shard's worth
/// of records arrived or when the oldest uncut record waited <c>maxWaitMs</c>, and offers the cuts to
/// the job. The job holds them durably and answers the offset split up to, which the splitter then
/// stores: the job is the truth, so a splitter that crashed before or after its own write catches
/// up from the job and cuts nothing twice and nothing never.
/// </summary>
public sealed partial class SplitterGrain
{
    private static readonly TimeSpan IdleWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FirstPollDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan LongestPollDelay = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(1);
    private IGrainTimer? _watchTimer;
    private Task? _watch;
    private CancellationTokenSource? _stop;

    /// <inheritdoc />
    public async Task<SplitterStatus> StartLive(SplitterAssignment assignment, long shardSize, int maxWaitMs)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        var live = state.State.Live;
        // A job's source never changes, and its spec's lists compare by reference: what may change is the partition's locator.
        if (live is null || live.Assignment.JobId != assignment.JobId || live.Assignment.Partition != assignment.Partition
            || live.Assignment.Path != assignment.Path || live.ShardSize != shardSize || live.MaxWaitMs != maxWaitMs)
        {
            state.State.Partition = assignment.Partition;
            state.State.Live = new LiveSplitterAssignment { Assignment = assignment, ShardSize = shardSize, MaxWaitMs = maxWaitMs };
            state.State.SplitUpTo = await GrainFactory.GetGrain<IJobSplitterCallbacks>(assignment.JobId).OfferShards(assignment.Partition, [], null);
            await state.WriteStateAsync();
        }

        EnsureWatching();
        return Status();
    }

    private void EnsureWatching()
    {
        // The timer only keeps the grain active and restarts the watch if it ended; the watch itself waits for appends.
        _watchTimer ??= this.RegisterGrainTimer(
            () =>
            {
                if (_watch is null || _watch.IsCompleted)
                {
                    _stop ??= new CancellationTokenSource();
                    _watch = Watch(_stop.Token);
                }

                return Task.CompletedTask;
            },
            new GrainTimerCreationOptions(TimeSpan.Zero, TimeSpan.FromSeconds(1)) { Interleave = true, KeepAlive = true });
    }

    private void StopWatching()
    {
        _watchTimer?.Dispose();
        _watchTimer = null;
        _stop?.Cancel();
        _stop?.Dispose();
        _stop = null;
    }

    private async Task Watch(CancellationToken cancellationToken)
    {
        var live = state.State.Live!;
        var assignment = live.Assignment;
        var job = GrainFactory.GetGrain<IJobSplitterCallbacks>(assignment.JobId);
        var maxWait = TimeSpan.FromMilliseconds(live.MaxWaitMs);
        DateTimeOffset? pendingSince = null;
        var pollDelay = FirstPollDelay;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var source = readers.LiveFor(assignment.Source);
                var path = assignment.Path;
                var splitUpTo = await job.OfferShards(assignment.Partition, [], null);
                var lastHighWatermark = -1L;
                while (!cancellationToken.IsCancellationRequested)
                {
                    if (await source.GrowAsync(assignment.Source, path, cancellationToken) is { } grown)
                    {
                        // The job holds the grown partition durably before we read from it; its answer is the truth.
                        path = await job.GrowPartition(assignment.Partition, path, grown);
                        state.State.Live = new LiveSplitterAssignment { Assignment = assignment with { Path = path }, ShardSize = live.ShardSize, MaxWaitMs = live.MaxWaitMs };
                        await state.WriteStateAsync(cancellationToken);
                    }

                    var bounds = await source.GetBoundsAsync(assignment.Source, path, cancellationToken);
                    var now = time.GetUtcNow();
                    if (!source.WakesOnAppend)
                    {
                        // A polled source: back off while nothing arrives, up to a few seconds.
                        pollDelay = bounds.HighWatermark > lastHighWatermark ? FirstPollDelay : TimeSpan.FromTicks(Math.Min(pollDelay.Ticks * 2, LongestPollDelay.Ticks));
                        lastHighWatermark = bounds.HighWatermark;
                    }

                    if (bounds.HighWatermark > splitUpTo)
                    {
                        pendingSince ??= now;
                    }
                    else
                    {
                        pendingSince = null;
                    }

                    var cuts = LiveCuts.Cut(splitUpTo, bounds.HighWatermark, live.ShardSize, pendingSince is { } since && now - since >= maxWait);
                    if (cuts.Count > 0)
                    {
                        splitUpTo = await job.OfferShards(assignment.Partition, cuts, bounds);
                        state.State.SplitUpTo = splitUpTo;
                        await state.WriteStateAsync(cancellationToken);
                        pendingSince = bounds.HighWatermark > splitUpTo ? now : null;
                        continue;
                    }

                    var wait = pendingSince is { } waiting ? maxWait - (now - waiting) : IdleWait;
                    if (source.WakesOnAppend)
                    {
                        await source.WaitForRecordsAsync(assignment.Source, path, bounds.HighWatermark, wait, cancellationToken);
                    }
                    else
                    {
                        await Task.Delay(wait < pollDelay ? wait : pollDelay, time, cancellationToken);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (ShardsException e) when (e.Kind == ShardsErrorKind.NotFound || (e.Kind == ShardsErrorKind.Conflict && e.Field == "state"))
            {
                // The job was deleted or cancelled: nothing is left to cut for.
                LogJobGone(logger, assignment.JobId, assignment.Partition);
                StopWatching();
                this.DeactivateOnIdle();
                return;
            }
            catch (Exception e)
            {
                LogWatchFailed(logger, e, assignment.JobId, assignment.Partition);
                try
                {
                    await Task.Delay(RetryAfterFailure, time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Splitter {JobId}/{Partition}: watching the partition failed; retrying")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, string jobId, int partition);

    [LoggerMessage(Level = LogLevel.Information, Message = "Splitter {JobId}/{Partition}: the job is gone or cancelled; the splitter stops")]
    private static partial void LogJobGone(ILogger logger, string jobId, int partition);
}
