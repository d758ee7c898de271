namespace OrleansShards.Core;

/// <summary>
/// What a job grain asks of its task book, static (<see cref="TaskBook"/>) or live
/// (<see cref="LiveTaskBook"/>): leases, reports, heartbeats, releases and expiry.
/// Not thread-safe: the owning grain serialises calls.
/// </summary>
public interface ITaskBook
{
    /// <summary>The current epoch (always 0 for a live book).</summary>
    int Epoch { get; }

    /// <summary>Whether every epoch has ended (never, for a live book).</summary>
    bool IsCompleted { get; }

    /// <summary>Increases with every change of the persisted state: callers persist when it moved.</summary>
    long Version { get; }

    /// <summary>The earliest expiry of a lease in flight, if any.</summary>
    DateTimeOffset? NextExpiry { get; }

    /// <summary>Progress of the current epoch, in shards.</summary>
    ShardProgress Progress { get; }

    /// <summary>Leases up to <paramref name="maxTasks"/> shards; a retried <paramref name="requestId"/> gets the leases it got before.</summary>
    IReadOnlyList<GrantedLease> Lease(string workerId, int maxTasks, string? requestId = null);

    /// <summary>Records the outcome of a lease.</summary>
    ReportAnswer Report(string taskId, string leaseId, string workerId, bool done, string? error = null);

    /// <summary>Extends the leases of <paramref name="workerId"/>; a lease it no longer holds maps to <see langword="null"/>.</summary>
    IReadOnlyList<(string LeaseId, DateTimeOffset? ExpiresAt)> Heartbeat(string workerId, IReadOnlyList<string> leaseIds);

    /// <summary>Ends leases now and re-queues their shards without counting a failed attempt.</summary>
    int Release(string workerId, IReadOnlyList<string> leaseIds);

    /// <summary>Ends every lease whose expiry has passed and re-queues (or dead-letters) its shard.</summary>
    int ExpireDue();
}
