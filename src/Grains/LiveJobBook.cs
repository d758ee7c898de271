using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>The book of a job on a live source: one epoch, partitions that grow as their splitters offer shards.</summary>
internal sealed class LiveJobBook(JobState state, LiveTaskBook book) : IJobBook
{
    private const int LiveRetryAfterMs = 50;

    /// <summary>The live task book, for the splitters' offers.</summary>
    public LiveTaskBook Live => book;

    /// <inheritdoc />
    public ITaskBook Tasks => book;

    /// <inheritdoc />
    public int NothingFreeRetryAfterMs => LiveRetryAfterMs;

    /// <inheritdoc />
    public long RecordsDelivered => book.State.RecordsDelivered;

    /// <inheritdoc />
    public long? TotalRecords => null;

    /// <inheritdoc />
    public IReadOnlyList<EpochStatus> EpochHistory =>
        [new EpochStatus(0, book.State.ShardsDone, book.State.RecordsDelivered, book.State.Expired, book.State.Failed)];

    /// <inheritdoc />
    public IReadOnlyList<DeadLetter> DeadLetters => book.State.DeadLetters;

    /// <inheritdoc />
    // A live dead letter is terminal: the partition's committed offset has moved past it, and re-opening a range
    // behind the committed offset would break what commits mean for the job's readers.
    public DeadLetterRetry RetryDeadLetters(IReadOnlyCollection<string>? taskIds) =>
        throw new ShardsException(ShardsErrorKind.Conflict, "id", "dead letters of a live job cannot be retried: the partition's committed offset has moved past them; read their ranges from the topic instead");

    /// <inheritdoc />
    public JobReadPlan ReadPlan()
    {
        // A live partition has no pinned file: its "file" is the locator, its records the offset split up to.
        var spec = state.Spec!;
        var partitions = state.Paths.Select((path, p) => new PinnedFile(path, book[p].SplitUpTo, 0, 0, 0)).ToList();
        return new JobReadPlan(spec.Source!, partitions, spec.ShardSize, 0, 1, false, spec.Seed, Live: true);
    }

    /// <inheritdoc />
    public PartitionStatus DescribePartition(int partition, string display)
    {
        var live = book[partition];
        var highWatermark = Math.Max(live.HighWatermark, live.SplitUpTo);
        return new PartitionStatus(partition, display, live.SplitUpTo - live.FirstRetained, null, true)
        {
            HighWatermark = highWatermark,
            SplitUpTo = live.SplitUpTo,
            Committed = live.Committed,
            Lag = highWatermark - live.Committed,
        };
    }

    /// <inheritdoc />
    public IEnumerable<CheckpointLease> LeasesInFlight() =>
        book.State.InFlight.Values.Select(l => new CheckpointLease { TaskId = TaskIds.Format(0, l.Shard), LeaseId = l.LeaseId, WorkerId = l.WorkerId, Attempt = l.Attempt, ExpiresAt = l.ExpiresAt });

    /// <summary>Sets the lag gauge of every live partition: records appended and not yet committed.</summary>
    public void PublishGauges(string jobId)
    {
        for (var p = 0; p < book.PartitionCount; p++)
        {
            var partition = book[p];
            ShardsMetrics.SetPartitionLag(jobId, p, Math.Max(partition.HighWatermark, partition.SplitUpTo) - partition.Committed);
        }
    }
}
