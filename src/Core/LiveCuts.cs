namespace OrleansShards.Core;

/// <summary>How the splitter of a live partition cuts the records that arrived into shards.</summary>
public static class LiveCuts
{
    /// <summary>
    /// The shards to cut from <c>[splitUpTo, highWatermark)</c>: every full shard, then, when
    /// <paramref name="waitedLongEnough"/>, the partial rest. At most <paramref name="maxShards"/>.
    /// </summary>
    public static IReadOnlyList<OffsetRange> Cut(long splitUpTo, long highWatermark, long shardSize, bool waitedLongEnough, int maxShards = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shardSize, 1);
        var cuts = new List<OffsetRange>();
        var start = splitUpTo;
        while (cuts.Count < maxShards && highWatermark - start >= shardSize)
        {
            cuts.Add(new OffsetRange(start, start + shardSize));
            start += shardSize;
        }

        if (cuts.Count < maxShards && waitedLongEnough && highWatermark > start)
        {
            cuts.Add(new OffsetRange(start, highWatermark));
        }

        return cuts;
    }
}
