namespace OrleansShards.GrainInterfaces;

/// <summary>
/// One partition of a job, keyed <c>{jobId}/{partition}</c>: describes the partition, offers its
/// shards to the job and persists its offset only after the job acknowledged them.
/// </summary>
[Alias("shards.ISplitterGrain")]
public interface ISplitterGrain : IGrainWithStringKey
{
    /// <summary>Describes the partition and offers it to the job, unless the job acknowledged it already.</summary>
    [Alias("Start")]
    Task<SplitterStatus> Start(SplitterAssignment assignment);

    /// <summary>
    /// Watches a live partition: cuts a shard when <paramref name="shardSize"/> records have arrived,
    /// or when <paramref name="maxWaitMs"/> passed with at least one, and offers it to the job. Idempotent.
    /// </summary>
    [Alias("StartLive")]
    Task<SplitterStatus> StartLive(SplitterAssignment assignment, long shardSize, int maxWaitMs);

    /// <summary>The splitter's offsets.</summary>
    [Alias("GetStatus")]
    Task<SplitterStatus> GetStatus();

    /// <summary>Removes the splitter's stored state.</summary>
    [Alias("Delete")]
    Task Delete();

    /// <summary>Takes on the state of an imported job's partition: <paramref name="file"/> described and acknowledged.</summary>
    [Alias("Adopt")]
    Task<SplitterStatus> Adopt(SplitterAssignment assignment, PinnedFile file);
}
