using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>
/// The task book of a job as the job grain drives it: <see cref="StaticJobBook"/> over a
/// <see cref="TaskBook"/>, or <see cref="LiveJobBook"/> over a <see cref="LiveTaskBook"/>. What differs
/// between a static and a live job (read plan, partition status, counters, the retry advice of an
/// empty lease) lives behind this seam, so the grain does not branch on the kind of job.
/// </summary>
internal interface IJobBook
{
    /// <summary>The leases, reports, heartbeats, releases and expiry.</summary>
    ITaskBook Tasks { get; }

    /// <summary>When no shard is free now but the job goes on: how long a worker waits before asking again.</summary>
    int NothingFreeRetryAfterMs { get; }

    /// <summary>Records of the shards reported done, over every epoch.</summary>
    long RecordsDelivered { get; }

    /// <summary>Records the job delivers over every epoch, when known in advance.</summary>
    long? TotalRecords { get; }

    /// <summary>Counters of the latest epochs, oldest first.</summary>
    IReadOnlyList<EpochStatus> EpochHistory { get; }

    /// <summary>Shards given up on, with their last error.</summary>
    IReadOnlyList<DeadLetter> DeadLetters { get; }

    /// <summary>What a reader needs to read the job's shards.</summary>
    JobReadPlan ReadPlan();

    /// <summary>Re-queues dead letters of the current epoch (all when <paramref name="taskIds"/> is null).</summary>
    DeadLetterRetry RetryDeadLetters(IReadOnlyCollection<string>? taskIds);

    /// <summary>The status of partition <paramref name="partition"/>, shown as <paramref name="display"/>.</summary>
    PartitionStatus DescribePartition(int partition, string display);

    /// <summary>The leases in flight, as a checkpoint lists them.</summary>
    IEnumerable<CheckpointLease> LeasesInFlight();

    /// <summary>Publishes the gauges that follow the book (the lag of live partitions).</summary>
    void PublishGauges(string jobId);
}
