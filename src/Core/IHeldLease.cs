namespace OrleansShards.Core;

/// <summary>A lease in flight as both task books keep it: who holds it, until when, which attempt it is.</summary>
public interface IHeldLease
{
    /// <summary>The lease id.</summary>
    string LeaseId { get; }

    /// <summary>The worker that holds the lease.</summary>
    string WorkerId { get; }

    /// <summary>When the lease expires unless renewed.</summary>
    DateTimeOffset ExpiresAt { get; set; }

    /// <summary>The attempt this lease is, from 1.</summary>
    int Attempt { get; set; }

    /// <summary>The client's request id, so a retried lease request gets the same leases.</summary>
    string? RequestId { get; }
}
