namespace OrleansShards.Readers.Objects;

/// <summary>A described partition of an object source: its objects in order, with their record counts.</summary>
public sealed class ObjectPartitionLayout
{
    internal ObjectPartitionLayout(ObjectLocator locator, IReadOnlyList<ObjectOffsetEntry> entries, ulong[] localHashes, IReadOnlyList<string> columns)
    {
        Locator = locator;
        Entries = entries;
        LocalHashes = localHashes;
        Columns = columns;
        RecordCount = entries.Count == 0 ? 0 : entries[^1].FirstRecord + entries[^1].Records;
    }

    /// <summary>The partition.</summary>
    public ObjectLocator Locator { get; }

    /// <summary>The offset entries of its objects, in key order.</summary>
    public IReadOnlyList<ObjectOffsetEntry> Entries { get; }

    /// <summary>The records of the partition.</summary>
    public long RecordCount { get; }

    /// <summary>The columns of its first object that has records.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>XxHash3 of each object's bytes as downloaded (0 for the raw transformer, which keeps no copy).</summary>
    internal ulong[] LocalHashes { get; }

    /// <summary>The offset entries of a partition offset (a committed offset, the end of a shard): each object's key and its records read.</summary>
    public IReadOnlyList<ObjectProgress> ProgressAt(long offset) =>
        [.. Entries.Select(e => new ObjectProgress(e.Key, Math.Clamp(offset - e.FirstRecord, 0, e.Records), offset >= e.FirstRecord + e.Records))];

    /// <summary>The index of the object that holds partition record <paramref name="offset"/>.</summary>
    internal int ObjectAt(long offset)
    {
        int lo = 0, hi = Entries.Count - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (Entries[mid].FirstRecord <= offset)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo;
    }
}
