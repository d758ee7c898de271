namespace OrleansShards.Core;

/// <summary>
/// The persisted part of a live task book. Per partition it holds the committed offset, the offset
/// split up to, the shards cut and not yet leased as runs, and what is out of order (re-queued
/// shards, shards done ahead of the committed offset): O(in flight), never O(shards cut).
/// </summary>
[GenerateSerializer, Alias("shards.LiveBookState")]
public sealed class LiveBookState
{
    /// <summary>The partitions, by index.</summary>
    [Id(0)] public List<LivePartitionState> Partitions { get; set; } = [];

    /// <summary>The sequence number of the next lease; lease ids are derived from it.</summary>
    [Id(1)] public long NextLeaseSequence { get; set; }

    /// <summary>Leases in flight, by lease id.</summary>
    [Id(2)] public Dictionary<string, LiveLease> InFlight { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Shards that failed <c>maxAttempts</c> times, with their last error. The committed offset moves past them.</summary>
    [Id(3)] public List<DeadLetter> DeadLetters { get; set; } = [];

    /// <summary>Shards leased more than once and not committed yet, by <see cref="LiveTaskBook.ShardKey"/>.</summary>
    [Id(4)] public Dictionary<string, RetryRecord> Retries { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Shards cut so far.</summary>
    [Id(5)] public long ShardsCut { get; set; }

    /// <summary>Shards reported done.</summary>
    [Id(6)] public long ShardsDone { get; set; }

    /// <summary>Records of the shards reported done.</summary>
    [Id(7)] public long RecordsDelivered { get; set; }

    /// <summary>Leases that expired.</summary>
    [Id(8)] public long Expired { get; set; }

    /// <summary>Attempts reported failed.</summary>
    [Id(9)] public long Failed { get; set; }

    /// <summary>The partition the next lease search starts at, so partitions are served in turn.</summary>
    [Id(10)] public int NextPartition { get; set; }

    /// <summary>Leases that completed retried shards, newest last, so a late report of a losing lease is told apart from a duplicate.</summary>
    [Id(11)] public List<string> RecentCompletions { get; set; } = [];
}

/// <summary>One partition of a live task book.</summary>
[GenerateSerializer, Alias("shards.LivePartitionState")]
public sealed class LivePartitionState
{
    /// <summary>The end of the contiguous prefix of done (or dead-lettered) shards.</summary>
    [Id(0)] public long Committed { get; set; }

    /// <summary>The end of the last shard cut.</summary>
    [Id(1)] public long SplitUpTo { get; set; }

    /// <summary>Shards cut and never leased, as runs in offset order; a run is cut into pieces of the job's shard size.</summary>
    [Id(2)] public List<OffsetRange> Fresh { get; set; } = [];

    /// <summary>Shards leased before and waiting to be leased again, in offset order.</summary>
    [Id(3)] public List<OffsetRange> Requeued { get; set; } = [];

    /// <summary>Shards done or dead-lettered above <see cref="Committed"/>, in offset order.</summary>
    [Id(4)] public List<OffsetRange> DoneAhead { get; set; } = [];

    /// <summary>The high-water mark last reported by the partition's splitter (for status only).</summary>
    [Id(5)] public long HighWatermark { get; set; }

    /// <summary>The first offset the source still holds, as last reported by the splitter (for status only).</summary>
    [Id(6)] public long FirstRetained { get; set; }
}

/// <summary>A range of offsets <c>[Start, End)</c>.</summary>
/// <param name="Start">The first offset.</param>
/// <param name="End">One past the last offset.</param>
[GenerateSerializer, Immutable, Alias("shards.OffsetRange")]
public readonly record struct OffsetRange([property: Id(0)] long Start, [property: Id(1)] long End)
{
    /// <summary>The number of offsets in the range.</summary>
    public long Length => End - Start;
}

/// <summary>A lease in flight of a live job.</summary>
[GenerateSerializer, Alias("shards.LiveLease")]
public sealed class LiveLease : IHeldLease
{
    /// <summary>The lease id.</summary>
    [Id(0)] public string LeaseId { get; set; } = "";

    /// <summary>The shard.</summary>
    [Id(1)] public ShardRange Shard { get; set; }

    /// <summary>The attempt this lease is, from 1.</summary>
    [Id(2)] public int Attempt { get; set; }

    /// <summary>The worker that holds the lease.</summary>
    [Id(3)] public string WorkerId { get; set; } = "";

    /// <summary>When the lease expires.</summary>
    [Id(4)] public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>The client's request id, so a retried lease request gets the same leases.</summary>
    [Id(5)] public string? RequestId { get; set; }
}
