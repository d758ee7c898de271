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
}

/// <summary>A lease in flight.</summary>
[GenerateSerializer, Alias("shards.LeaseRecord")]
public sealed class LeaseRecord : IHeldLease
{
    /// <summary>The lease id.</summary>
    [Id(0)] public string LeaseId { get; set; } = "";

    /// <summary>The global shard index.</summary>
    [Id(1)] public long Shard { get; set; }

    /// <summary>The epoch the lease belongs to.</summary>
    [Id(2)] public int Epoch { get; set; }

    /// <summary>The attempt this lease is, from 1.</summary>
    [Id(3)] public int Attempt { get; set; }

    /// <summary>The worker that holds the lease.</summary>
    [Id(4)] public string WorkerId { get; set; } = "";

    /// <summary>When the lease expires.</summary>
    [Id(5)] public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>The client's request id, so a retried lease request gets the same leases.</summary>
    [Id(6)] public string? RequestId { get; set; }
}

/// <summary>A shard that was leased more than once in an epoch.</summary>
[GenerateSerializer, Alias("shards.RetryRecord")]
public sealed class RetryRecord
{
    /// <summary>The key of a shard in an epoch.</summary>
    public static string KeyOf(int epoch, long shard) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{epoch}:{shard}");

    /// <summary>The epoch.</summary>
    [Id(0)] public int Epoch { get; set; }

    /// <summary>The global shard index.</summary>
    [Id(1)] public long Shard { get; set; }

    /// <summary>Failed or expired attempts so far.</summary>
    [Id(2)] public int FailedAttempts { get; set; }

    /// <summary>Leases handed out for the shard so far, released ones included.</summary>
    [Id(3)] public int Leases { get; set; }

    /// <summary>The last error reported, if any.</summary>
    [Id(4)] public string? LastError { get; set; }

    /// <summary>The lease whose report completed the shard, once done.</summary>
    [Id(5)] public string? CompletedBy { get; set; }

    /// <summary>The key of this record.</summary>
    public string Key => KeyOf(Epoch, Shard);
}

/// <summary>A shard given up on after <c>maxAttempts</c> failures.</summary>
[GenerateSerializer, Alias("shards.DeadLetter")]
public sealed class DeadLetter
{
    /// <summary>The epoch.</summary>
    [Id(0)] public int Epoch { get; set; }

    /// <summary>The global shard index.</summary>
    [Id(1)] public long Shard { get; set; }

    /// <summary>The shard.</summary>
    [Id(2)] public ShardRange Range { get; set; }

    /// <summary>How many attempts failed.</summary>
    [Id(3)] public int Attempts { get; set; }

    /// <summary>The last error reported or the reason of the last failure.</summary>
    [Id(4)] public string LastError { get; set; } = "";
}

/// <summary>Counters of one epoch.</summary>
[GenerateSerializer, Alias("shards.EpochCounters")]
public sealed class EpochCounters
{
    /// <summary>Shards reported done.</summary>
    [Id(0)] public long ShardsDone { get; set; }

    /// <summary>Records of the shards reported done.</summary>
    [Id(1)] public long RecordsDelivered { get; set; }

    /// <summary>Leases that expired.</summary>
    [Id(2)] public long Expired { get; set; }

    /// <summary>Attempts reported failed.</summary>
    [Id(3)] public long Failed { get; set; }

    /// <summary>The epoch these counters belong to.</summary>
    [Id(4)] public int Epoch { get; set; }
}
