namespace OrleansShards.GrainInterfaces;

/// <summary>
/// A thin worker inside the silo, keyed by worker id: leases tasks of a job and reads their
/// records for callers that want records, not leases. A task is reported done when the caller
/// asks for the batch after its last one, so a caller that vanishes leaves the lease to expire.
/// </summary>
[Alias("shards.IWorkerGrain")]
public interface IWorkerGrain : IGrainWithStringKey
{
    /// <summary>The next batch of at most <paramref name="maxRecords"/> records of <paramref name="jobId"/>; empty when none is available now.</summary>
    [Alias("Next")]
    Task<WorkerBatch> Next(string jobId, int maxRecords);
}
