using Microsoft.Extensions.Logging;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>What the job's splitters call back: a static partition acknowledged, live shards offered, a live partition grown.</summary>
public sealed partial class JobGrain : IJobSplitterCallbacks
{
    /// <inheritdoc />
    public async Task AcknowledgePartition(int partition, PinnedFile file)
    {
        EnsureExists();
        if (partition < 0 || partition >= State.Files.Count)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "partition", $"job '{JobId}' has no partition {partition}");
        }

        if (State.Files[partition] is { } known)
        {
            if (known != file)
            {
                throw new ShardsException(ShardsErrorKind.Conflict, "partition", $"partition {partition} of job '{JobId}' was acknowledged with another fingerprint of '{known.Path}'");
            }

            return;
        }

        State.Files[partition] = file;
        OpenBook();
        // The splitter persists its offset after this returns: the acknowledgement must be durable first.
        await WriteNow();
    }

    /// <inheritdoc />
    public Task<PinnedFile?> GetAcknowledgedPartition(int partition) =>
        Task.FromResult(Exists && partition >= 0 && partition < State.Files.Count ? State.Files[partition] : null);

    /// <inheritdoc />
    public async Task<long> OfferShards(int partition, IReadOnlyList<OffsetRange> shards, PartitionBounds? bounds)
    {
        EnsureExists();
        if (_book is not LiveJobBook { Live: var live })
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "source", $"job '{JobId}' does not read a live source: its splitters do not offer shards");
        }

        if (partition < 0 || partition >= live.PartitionCount)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "partition", $"job '{JobId}' has no partition {partition}");
        }

        if (State.Lifecycle == JobStates.Cancelled)
        {
            // Nothing will be leased again: the splitters stop watching (a paused job goes on cutting).
            throw new ShardsException(ShardsErrorKind.Conflict, "state", $"job '{JobId}' is cancelled: its splitters stop");
        }

        long splitUpTo;
        var version = live.Version;
        try
        {
            splitUpTo = live.Offer(partition, shards, bounds);
        }
        catch (ArgumentException e)
        {
            throw new ShardsException(ShardsErrorKind.Conflict, "shards", e.Message);
        }

        if (live.Version != version)
        {
            _book.PublishGauges(JobId);
            // The splitter adopts the offset we return: it must be durable before the splitter sees it.
            await WriteNow();
        }

        return splitUpTo;
    }

    /// <inheritdoc />
    public async Task<string> GrowPartition(int partition, string from, string to)
    {
        EnsureExists();
        if (_book is not LiveJobBook || partition < 0 || partition >= State.Paths.Count)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, "partition", $"job '{JobId}' has no live partition {partition}");
        }

        if (State.Paths[partition] == from)
        {
            State.Paths[partition] = to;
            LogPartitionGrew(logger, JobId, partition);
            await WriteNow();
        }

        return State.Paths[partition];
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: partition {Partition} grew: the source added to it")]
    private static partial void LogPartitionGrew(ILogger logger, string jobId, int partition);
}
