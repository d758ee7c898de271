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

    /// <summary>The secret of this job incarnation's lease ids (<see cref="LeaseIds"/>); drawn by the owning grain, never exported.</summary>
    [Id(12)] public string? LeaseKey { get; set; }
}
