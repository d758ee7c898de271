namespace OrleansShards.Core;

/// <summary>The records a sealed live step draws from one partition: offsets <c>[From, To)</c>.</summary>
/// <param name="Partition">The partition.</param>
/// <param name="From">The first offset.</param>
/// <param name="To">One past the last offset.</param>
[GenerateSerializer, Immutable, Alias("shards.LiveStepRange")]
public readonly record struct LiveStepRange([property: Id(0)] int Partition, [property: Id(1)] long From, [property: Id(2)] long To)
{
    /// <summary>The records of the range.</summary>
    public long Count => To - From;

    /// <summary>
    /// The records of a step in its order: the partitions' ranges interleaved, the k-th record of every partition
    /// (in partition order) before the (k+1)-th of any, so every rank's slice mixes the partitions as they arrived.
    /// Returns the <paramref name="count"/> records from position <paramref name="first"/> as (partition, offset).
    /// </summary>
    public static (int Partition, long Offset)[] Slice(IReadOnlyList<LiveStepRange> ranges, long first, int count)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        var slice = new (int, long)[count];
        var taken = 0;
        var position = 0L; // the step position of record k of the first range still active
        var k = 0L;
        var active = ranges.Where(r => r.Count > 0).ToList();
        while (active.Count > 0 && taken < count)
        {
            // Until the shortest active range ends, every round takes one record of each active range: rounds wholly
            // before the slice are skipped at once, so a slice costs O(count + partitions²), not O(G · partitions).
            var end = active.Min(r => r.Count);
            var skip = taken > 0 ? 0 : Math.Min(end - k, (first - position) / active.Count);
            k += skip;
            position += skip * active.Count;
            for (; k < end && taken < count; k++)
            {
                foreach (var range in active)
                {
                    if (position >= first && taken < count)
                    {
                        slice[taken++] = (range.Partition, range.From + k);
                    }

                    position++;
                }
            }

            active.RemoveAll(r => r.Count <= k);
        }

        return taken == count ? slice : throw new ArgumentOutOfRangeException(nameof(count), count, $"the step holds {position} records, fewer than {first} + {count}");
    }
}
