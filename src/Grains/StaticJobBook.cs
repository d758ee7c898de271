using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>The book of a job over files or tables: epochs over a fixed catalogue of shards.</summary>
internal sealed class StaticJobBook(JobState state, ShardCatalog catalog, TaskBook book) : IJobBook
{
    // No shard is free but some are in flight: the epoch ends (or a shard is re-queued) as soon as
    // one is reported, so ask again soon.
    private const int DrainingRetryAfterMs = 25;

    /// <summary>Opens the book of a job whose partitions are all acknowledged.</summary>
    public static StaticJobBook Open(JobState state, TimeProvider time)
    {
        var catalog = new ShardCatalog(state.Files.Select(f => f!.RecordCount).ToArray(), state.Spec!.ShardSize);
        return new StaticJobBook(state, catalog, new TaskBook(state.Book, state.Spec.ToTaskBookSettings(), catalog, time));
    }

    /// <summary>The shards of the job's files.</summary>
    public ShardCatalog Catalog => catalog;

    /// <inheritdoc />
    public ITaskBook Tasks => book;

    /// <inheritdoc />
    public int NothingFreeRetryAfterMs => DrainingRetryAfterMs;

    /// <inheritdoc />
    public long RecordsDelivered => state.Book.TotalRecordsDelivered;

    /// <inheritdoc />
    public long? TotalRecords => state.Files.Sum(f => f!.RecordCount) * state.Spec!.Epochs;

    /// <inheritdoc />
    public IReadOnlyList<EpochStatus> EpochHistory => Epochs(state.Book);

    /// <inheritdoc />
    public IReadOnlyList<DeadLetter> DeadLetters => state.Book.DeadLetters;

    /// <inheritdoc />
    public DeadLetterRetry RetryDeadLetters(IReadOnlyCollection<string>? taskIds) => book.RetryDeadLetters(taskIds);

    /// <summary>The epoch counters of a static book's state (also of a job still describing its files).</summary>
    public static IReadOnlyList<EpochStatus> Epochs(TaskBookState book) =>
        [.. book.Epochs.Select(e => new EpochStatus(e.Epoch, e.ShardsDone, e.RecordsDelivered, e.Expired, e.Failed))];

    /// <inheritdoc />
    public JobReadPlan ReadPlan()
    {
        var spec = state.Spec!;
        var mixture = MixturePlans.Of(state);
        return new JobReadPlan(spec.Source ?? mixture!.Sources[0].Source, [.. state.Files!], spec.ShardSize, book.Epoch, spec.Epochs, spec.Shuffle, spec.Seed, Mixture: mixture);
    }

    /// <inheritdoc />
    public PartitionStatus DescribePartition(int partition, string display)
    {
        var file = state.Files[partition];
        return new PartitionStatus(partition, display, file?.RecordCount, file is null ? null : catalog.ShardsOf(partition), file is not null);
    }

    /// <inheritdoc />
    public IEnumerable<CheckpointLease> LeasesInFlight() =>
        state.Book.InFlight.Values.Select(l => new CheckpointLease { TaskId = TaskIds.Format(l.Epoch, catalog[l.Shard]), LeaseId = l.LeaseId, WorkerId = l.WorkerId, Attempt = l.Attempt, ExpiresAt = l.ExpiresAt });

    /// <inheritdoc />
    public void PublishGauges(string jobId)
    {
    }
}
