using FsCheck.Xunit;

namespace OrleansShards.Core.Tests;

/// <summary>
/// The promises of live runs (issue 14) for arbitrary arrivals: every step holds exactly G records, steps tile each
/// partition's offsets without gap or overlap in arrival order, ranks' slices concatenate to the step for every W
/// dividing G, commits advance the committed offsets to the committed step's ends and drop only seals no kept commit needs.
/// </summary>
public class LiveRunProperties
{
    private static int[] Divisors(int g) => [.. Enumerable.Range(1, g).Where(w => g % w == 0)];

    [Property(MaxTest = 200)]
    public bool Steps_hold_G_records_and_tile_every_partition_in_offset_order(byte[] arrivals, byte size)
    {
        // Appends arrive in rounds: round i adds arrivals[i] % 7 records to partition i % 3.
        var g = 1 + (size % 12);
        var live = new LiveRunState();
        var book = new LiveRunBook(live, new RunBookState(), g);
        book.Begin([0, 0, 0]);
        var high = new long[3];
        var delivered = new List<(int Partition, long Offset)>();
        foreach (var (count, i) in arrivals.Take(40).Select((a, i) => (a % 7, i)))
        {
            high[i % 3] += count;
            while (book.TrySeal(book.Sealed, high))
            {
                var ranges = book.RangesOf(book.Sealed - 1);
                if (ranges.Sum(r => r.Count) != g || ranges.Any(r => r.To > high[r.Partition]))
                {
                    return false;
                }

                var whole = LiveStepRange.Slice(ranges, 0, g);
                foreach (var w in Divisors(g))
                {
                    var ranks = Enumerable.Range(0, w).SelectMany(r => LiveStepRange.Slice(ranges, (long)r * (g / w), g / w));
                    if (!ranks.SequenceEqual(whole))
                    {
                        return false;
                    }
                }

                delivered.AddRange(whole);
            }
        }

        // Every partition is delivered from 0 in offset order, each offset once; what is left is less than a step.
        var tiled = Enumerable.Range(0, 3).All(p => delivered.Where(d => d.Partition == p).Select(d => d.Offset).SequenceEqual(Enumerable.Range(0, (int)book.EndOf(book.Sealed - 1, p)).Select(o => (long)o)));
        return tiled && high.Sum() - delivered.Count < g;
    }

    [Property(MaxTest = 300)]
    public bool A_slice_is_that_part_of_the_partitions_interleaved_round_by_round(byte[] counts, ushort first, byte count)
    {
        var ranges = counts.Take(8).Select((c, p) => new LiveStepRange(p, 1_000 * p, (1_000 * p) + (c % 40))).ToList();
        var interleaved = new List<(int, long)>();
        for (var k = 0; k < 40; k++)
        {
            interleaved.AddRange(ranges.Where(r => k < r.Count).Select(r => (r.Partition, r.From + k)));
        }

        var from = interleaved.Count == 0 ? 0 : first % interleaved.Count;
        var size = Math.Min(count, interleaved.Count - from);
        return LiveStepRange.Slice(ranges, from, size).SequenceEqual(interleaved.Skip(from).Take(size));
    }

    [Property(MaxTest = 100)]
    public bool Commits_advance_the_committed_offsets_and_keep_the_seals_a_rewind_needs(byte steps, byte[] commits)
    {
        var live = new LiveRunState();
        var book = new LiveRunBook(live, new RunBookState(), 4);
        book.Begin([0, 0]);
        var sealedSteps = 1 + (steps % 30);
        if (!book.TrySeal(sealedSteps - 1, [4L * sealedSteps, 3]))
        {
            return false;
        }

        var ends = Enumerable.Range(0, sealedSteps).Select(s => book.OffsetsAfter(s)).ToList();
        var committed = -1L;
        foreach (var c in commits.Take(20).Select(b => (long)(b % sealedSteps)))
        {
            if (c < committed)
            {
                continue;
            }

            book.Commit(0, c, "ck" + c);
            committed = c;
            if (!book.CommittedOffsets().SequenceEqual(ends[(int)c]) || book.FirstStep != book.Commits[0].Step + 1)
            {
                return false;
            }
        }

        // A rewind to the oldest kept commit finds every later step with the ranges it had.
        if (book.Commits.Count > 0)
        {
            var oldest = book.Commits[0];
            book.RewindTo(oldest.Checkpoint!);
            for (var s = oldest.Step + 1; s < sealedSteps; s++)
            {
                if (!book.OffsetsAfter(s).SequenceEqual(ends[(int)s]))
                {
                    return false;
                }
            }
        }

        return true;
    }
}
