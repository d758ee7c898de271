namespace OrleansShards.Core;

/// <summary>
/// The persisted part of a task book. It holds the todo cursor and only what is in flight or has
/// failed: done shards and the shards still to do are derived, so its size does not grow with the
/// number of shards.
/// </summary>
[GenerateSerializer, Alias("shards.TaskBookState")]
public sealed class TaskBookState
{
    /// <summary>The current epoch, from 0.</summary>
    [Id(0)] public int Epoch { get; set; }

    /// <summary>The next position of this epoch's permutation to hand out.</summary>
    [Id(1)] public long Cursor { get; set; }

    /// <summary>The sequence number of the next lease; lease ids are derived from it.</summary>
    [Id(2)] public long NextLeaseSequence { get; set; }

    /// <summary>Leases in flight, by lease id.</summary>
    [Id(3)] public Dictionary<string, LeaseRecord> InFlight { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Shards (global indexes) of this epoch waiting to be leased again, oldest first.</summary>
    [Id(4)] public List<long> Requeued { get; set; } = [];

    /// <summary>Shards of this and the previous epoch that were leased more than once, by <see cref="RetryRecord.Key"/>.</summary>
    [Id(5)] public Dictionary<string, RetryRecord> Retries { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Shards that failed <c>maxAttempts</c> times, with their last error.</summary>
    [Id(6)] public List<DeadLetter> DeadLetters { get; set; } = [];

    /// <summary>Counters of the latest epochs, oldest first, the current one last; at most <see cref="TaskBook.EpochHistoryLimit"/>.</summary>
    [Id(7)] public List<EpochCounters> Epochs { get; set; } = [new EpochCounters()];

    /// <summary>Whether every epoch has ended.</summary>
    [Id(8)] public bool Completed { get; set; }

    /// <summary>Records of the shards reported done, over every epoch.</summary>
    [Id(9)] public long TotalRecordsDelivered { get; set; }

    /// <summary>Shards reported done, over every epoch.</summary>
    [Id(10)] public long TotalShardsDone { get; set; }

    /// <summary>The secret of this job incarnation's lease ids (<see cref="LeaseIds"/>); drawn by the owning grain, never exported.</summary>
    [Id(11)] public string? LeaseKey { get; set; }
}
