using OrleansShards.Core;

namespace OrleansShards.Readers.Live;

/// <summary>
/// A live partitioned source: its partitions never end, and shards are cut from them as records
/// arrive. The splitter of a partition asks for its bounds and waits for appends.
/// </summary>
public interface ILiveSourceAdapter : ISourceAdapter
{
    /// <summary>Whether <see cref="WaitForRecordsAsync"/> wakes when records arrive; otherwise the splitter polls with back-off.</summary>
    bool WakesOnAppend { get; }

    /// <summary>The first retained offset and the high-water mark of the partition at <paramref name="locator"/>.</summary>
    ValueTask<PartitionBounds> GetBoundsAsync(SourceSpec source, string locator, CancellationToken cancellationToken = default);

    /// <summary>Completes with <see langword="true"/> once the partition's high-water mark is above <paramref name="afterOffset"/>, or <see langword="false"/> after <paramref name="timeout"/>.</summary>
    ValueTask<bool> WaitForRecordsAsync(SourceSpec source, string locator, long afterOffset, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>
    /// For sources whose locator names what a partition holds (a list of objects): the locator of the partition grown by
    /// what was added since, with everything of <paramref name="locator"/> first and in the same order (so offsets stay),
    /// or <see langword="null"/> when nothing was added. A log's locator never changes.
    /// </summary>
    ValueTask<string?> GrowAsync(SourceSpec source, string locator, CancellationToken cancellationToken = default) => ValueTask.FromResult<string?>(null);
}
