using Microsoft.Extensions.Logging;
using OrleansShards.Core;

namespace OrleansShards.Grains;

/// <summary>
/// When the job's state is written: at once in strict durability, on a flush timer in batched
/// durability; and the timers that expire leases and flush.
/// </summary>
public sealed partial class JobGrain
{
    private void StartTimers()
    {
        var spec = State.Spec!;
        var period = TimeSpan.FromMilliseconds(Math.Min(options.Value.ExpiryScanPeriod.TotalMilliseconds, spec.LeaseTimeoutSeconds * 1000 / 4.0));
        _expiryTimer ??= this.RegisterGrainTimer(ExpireLeases, new GrainTimerCreationOptions(period, period) { Interleave = true });
        if (spec.Durability == JobSpec.Batched)
        {
            var flush = TimeSpan.FromMilliseconds(spec.FlushIntervalMs ?? 1000);
            _flushTimer ??= this.RegisterGrainTimer(Flush, new GrainTimerCreationOptions(flush, flush) { Interleave = true });
        }

        if (spec.IsLive)
        {
            _liveTimer ??= this.RegisterGrainTimer(WatchLivePartitions, new GrainTimerCreationOptions(LiveWatchPeriod, LiveWatchPeriod) { Interleave = true });
        }
    }

    private async Task ExpireLeases()
    {
        if (_book is not null && _book.Tasks.ExpireDue() > 0)
        {
            await Persist();
        }
    }

    private async Task Flush()
    {
        if (_dirty)
        {
            await WriteNow();
        }
    }

    private async Task Persist()
    {
        if (_book is null || _book.Tasks.Version == _persistedVersion)
        {
            return;
        }

        ShardsMetrics.SetInFlight(JobId, _book.Tasks.Progress.Doing);
        _book.PublishGauges(JobId);
        if (State.Spec!.Durability == JobSpec.Batched)
        {
            _dirty = true;
            return;
        }

        await WriteNow();
    }

    private async Task WriteNow()
    {
        var version = _book?.Tasks.Version ?? 0;
        _dirty = false;
        try
        {
            await ShardsMetrics.TimeStorageWrite("job", () => state.WriteStateAsync());
            _persistedVersion = Math.Max(_persistedVersion, version);
        }
        catch (Exception e)
        {
            // The book in memory may now hold changes that are not durable: reload it from storage.
            LogWriteFailed(logger, e, JobId);
            this.DeactivateOnIdle();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId}: writing state failed; the grain reloads from storage")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string jobId);
}
