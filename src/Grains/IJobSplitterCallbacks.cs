using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>
/// What the splitters of a job call back on it (keyed by job id, implemented by <see cref="JobGrain"/>):
/// a partition acknowledged, live shards offered, a partition grown. Not part of the public contract:
/// only <see cref="SplitterGrain"/> calls it.
/// </summary>
[Alias("shards.IJobSplitterCallbacks")]
internal interface IJobSplitterCallbacks : IGrainWithStringKey
{
    /// <summary>
    /// Called by a splitter: the partition's file has <paramref name="file"/>'s records. The job
    /// records it durably before returning, so the splitter may then persist its own offset.
    /// </summary>
    [Alias("AcknowledgePartition")]
    Task AcknowledgePartition(int partition, PinnedFile file);

    /// <summary>The file the job acknowledged for <paramref name="partition"/>, or null: a splitter that lost its own write catches up from it.</summary>
    [Alias("GetAcknowledgedPartition")]
    Task<PinnedFile?> GetAcknowledgedPartition(int partition);

    /// <summary>
    /// Called by the splitter of a live partition: the shards it cut, in offset order, and the
    /// partition's bounds. The job holds them durably before it returns the offset split up to,
    /// which the splitter then adopts; shards the job holds already are ignored, so an offer
    /// repeated after a crash changes nothing. An empty offer asks for the offset only.
    /// </summary>
    /// <exception cref="ShardsException">The shards leave a gap or overlap (conflict), or the job is not live (invalid).</exception>
    [Alias("OfferShards")]
    Task<long> OfferShards(int partition, IReadOnlyList<OffsetRange> shards, PartitionBounds? bounds);

    /// <summary>
    /// Called by the splitter of a live partition whose locator names what it holds (a watched object prefix): the
    /// partition grew from <paramref name="from"/> to <paramref name="to"/>. The job stores it durably and answers the
    /// locator it holds, which the splitter then reads from (a stale splitter learns the newer one).
    /// </summary>
    [Alias("GrowPartition")]
    Task<string> GrowPartition(int partition, string from, string to);
}
