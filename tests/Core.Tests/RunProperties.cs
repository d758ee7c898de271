using FsCheck;
using FsCheck.Xunit;

namespace OrleansShards.Core.Tests;

/// <summary>
/// The promises of training runs (issue 14) for arbitrary jobs, batch sizes and world sizes: ranks' batches
/// concatenate to the global batch, the order does not depend on the world size, dropRemainder delivers every record
/// at most once and exactly ⌊N/G⌋·G of them, without it every record at least once; commits are monotone; rewind.
/// </summary>
public class RunProperties
{
    private static (long[] Counts, long ShardSize, bool Shuffle, ulong Seed) Job(byte[] partitions, int shardSize, bool shuffle, ulong seed)
    {
        // Up to 6 partitions of up to 120 records (empty ones included), shards of 1 to 40 records.
        var counts = partitions.Take(6).Select(b => (long)(b % 121)).ToArray();
        return (counts.Length == 0 ? [7] : counts, 1 + (Math.Abs(shardSize) % 40), shuffle, seed);
    }

    private static (int Partition, long Offset) RecordAt(RunOrder order, long position)
    {
        var slot = order.At(position);
        return (slot.Shard.Partition, slot.Shard.Start + slot.Row);
    }

    private static List<(int, long)> RankBatch(RunOrder order, RunSteps steps, long step, int rank, int worldSize)
    {
        var size = steps.GlobalBatchSize / worldSize;
        return [.. Enumerable.Range(0, size).Select(i => RecordAt(order, steps.PositionOf(step, rank, worldSize, i)))];
    }

    private static int[] Divisors(int g) => [.. Enumerable.Range(1, g).Where(w => g % w == 0)];

    [Property(MaxTest = 200)]
    public bool The_order_is_a_permutation_of_the_job_records(byte[] partitions, int shardSize, bool shuffle, ulong seed, byte epoch)
    {
        var (counts, size, doShuffle, s) = Job(partitions, shardSize, shuffle, seed);
        var order = new RunOrder(counts, size, doShuffle, s, epoch % 5);
        var seen = new HashSet<(int, long)>();
        for (long p = 0; p < order.Count; p++)
        {
            var slot = order.At(p);
            var catalogShard = order.Catalog[slot.ShardIndex];
            if (catalogShard != slot.Shard || slot.Row < 0 || slot.Row >= slot.Shard.Length || !seen.Add((slot.Shard.Partition, slot.Shard.Start + slot.Row)))
            {
                return false;
            }
        }

        return order.Count == counts.Sum() && seen.Count == counts.Sum();
    }

    [Property(MaxTest = 200)]
    public bool Ranks_concatenate_to_the_global_batch_whatever_the_world_size(byte[] partitions, int shardSize, bool shuffle, ulong seed, PositiveInt batch, bool dropRemainder)
    {
        var (counts, size, doShuffle, s) = Job(partitions, shardSize, shuffle, seed);
        var g = 1 + (batch.Get % 48);
        var order = new RunOrder(counts, size, doShuffle, s, 1);
        var steps = new RunSteps(order.Count, g, dropRemainder);
        for (long step = 0; step < steps.StepsPerEpoch; step++)
        {
            var global = RankBatch(order, steps, step, 0, 1);
            foreach (var w in Divisors(g))
            {
                // A fresh order object: the order depends on the job and the epoch only, never on W.
                var again = new RunOrder(counts, size, doShuffle, s, 1);
                var joined = Enumerable.Range(0, w).SelectMany(r => RankBatch(again, steps, step, r, w)).ToList();
                if (!joined.SequenceEqual(global) || Enumerable.Range(0, w).Any(r => RankBatch(again, steps, step, r, w).Count != g / w))
                {
                    return false;
                }
            }
        }

        return true;
    }

    [Property(MaxTest = 200)]
    public bool Drop_remainder_delivers_each_record_at_most_once_and_floor_N_over_G_times_G_records(byte[] partitions, int shardSize, bool shuffle, ulong seed, PositiveInt batch, byte epoch)
    {
        var (counts, size, doShuffle, s) = Job(partitions, shardSize, shuffle, seed);
        var order = new RunOrder(counts, size, doShuffle, s, epoch % 3);
        var g = 1 + (batch.Get % 64);
        var steps = new RunSteps(order.Count, g, DropRemainder: true);
        var divisors = Divisors(g);
        var w = divisors[divisors.Length - 1 - (epoch % divisors.Length)];
        var delivered = new List<(int, long)>();
        for (long step = 0; step < steps.StepsPerEpoch; step++)
        {
            for (var r = 0; r < w; r++)
            {
                delivered.AddRange(RankBatch(order, steps, step, r, w));
            }
        }

        return delivered.Count == order.Count / g * g && delivered.Distinct().Count() == delivered.Count;
    }

    [Property(MaxTest = 200)]
    public bool Without_drop_remainder_every_record_arrives_at_least_once(byte[] partitions, int shardSize, bool shuffle, ulong seed, PositiveInt batch)
    {
        var (counts, size, doShuffle, s) = Job(partitions, shardSize, shuffle, seed);
        var order = new RunOrder(counts, size, doShuffle, s, 0);
        var g = 1 + (batch.Get % 64);
        var steps = new RunSteps(order.Count, g, DropRemainder: false);
        var w = Divisors(g)[Divisors(g).Length / 2];
        var delivered = new HashSet<(int, long)>();
        var total = 0L;
        for (long step = 0; step < steps.StepsPerEpoch; step++)
        {
            for (var r = 0; r < w; r++)
            {
                var part = RankBatch(order, steps, step, r, w);
                total += part.Count;
                delivered.UnionWith(part);
            }
        }

        var all = counts.Select((c, p) => Enumerable.Range(0, (int)c).Select(o => (p, (long)o))).SelectMany(x => x);
        return delivered.SetEquals(all) && total == steps.StepsPerEpoch * g;
    }

    [Fact]
    public void Shuffled_orders_differ_by_epoch_and_steps_mix_several_shards()
    {
        long[] counts = [1000, 1000, 1000, 1000];
        var first = new RunOrder(counts, 100, true, 7, 0);
        var second = new RunOrder(counts, 100, true, 7, 1);
        var a = Enumerable.Range(0, 4000).Select(p => RecordAt(first, p)).ToList();
        var b = Enumerable.Range(0, 4000).Select(p => RecordAt(second, p)).ToList();
        Assert.NotEqual(a, b);

        // A step of 64 draws from several shards (the window), not from one.
        var shards = Enumerable.Range(0, 64).Select(p => first.At(p).ShardIndex).Distinct().Count();
        Assert.InRange(shards, 3, RunOrder.DefaultWindowShards + 1);

        // Without shuffle the order is source order.
        var plain = new RunOrder(counts, 100, false, 7, 3);
        Assert.Equal(Enumerable.Range(0, 4000).Select(p => (p / 1000, (long)(p % 1000))), Enumerable.Range(0, 4000).Select(p => RecordAt(plain, p)));
    }

    [Fact]
    public void A_position_of_a_billion_record_job_maps_without_materialising_the_order()
    {
        var order = new RunOrder([600_000_000, 400_000_001], 10_000, true, 99, 2);
        var slot = order.At(order.Count - 1);
        Assert.InRange(slot.Row, 0, slot.Shard.Length - 1);
        Assert.Equal(slot.Shard, order.Catalog[slot.ShardIndex]);
    }

    [Property(MaxTest = 300)]
    public bool Commits_are_monotone_and_rewind_forgets_later_commits(byte[] operations, PositiveInt stepsPerEpoch, byte epochs)
    {
        var steps = new RunSteps(stepsPerEpoch.Get % 20 + 1, 1, true);
        var epochCount = 1 + (epochs % 3);
        var book = new RunBook(new RunBookState(), steps, epochCount);
        var accepted = new List<RunPosition>();
        var names = 0;
        foreach (var op in operations)
        {
            var epoch = op % epochCount;
            var step = (op / 4) % steps.StepsPerEpoch;
            var before = book.ResumeAt;
            if (op % 5 == 4 && book.Commits.Count > 0)
            {
                var target = book.Commits[op % book.Commits.Count];
                book.RewindTo(target.Checkpoint!);
                while (accepted[^1] != target.Position)
                {
                    accepted.RemoveAt(accepted.Count - 1);
                }

                if (book.ResumeAt != steps.After(target.Epoch, target.Step))
                {
                    return false;
                }

                continue;
            }

            try
            {
                var position = new RunPosition(epoch, step);
                var result = book.Commit(epoch, step, position == book.Committed?.Position ? null : "c" + names++);
                if (result == RunBookResult.Changed)
                {
                    accepted.Add(position);
                }

                if (book.ResumeAt < before || book.ResumeAt != steps.After(epoch, step))
                {
                    return false;
                }
            }
            catch (RunBookException e) when (e.Problem == RunBookProblem.Backwards)
            {
                // A backwards commit changes nothing and names the committed step.
                if (book.ResumeAt != before || !e.Message.Contains(book.Committed!.Position.ToString(), StringComparison.Ordinal))
                {
                    return false;
                }
            }
        }

        var kept = accepted.TakeLast(RunBook.KeptCommits).ToList();
        return kept.SequenceEqual(book.Commits.Select(c => c.Position))
            && kept.Zip(kept.Skip(1)).All(pair => pair.First < pair.Second)
            && book.ResumeAt == (kept.Count == 0 ? new RunPosition(0, 0) : steps.After(kept[^1].Epoch, kept[^1].Step));
    }

    [Fact]
    public void Resume_points_follow_the_issue()
    {
        var steps = new RunSteps(10, 3, DropRemainder: true);
        var book = new RunBook(new RunBookState(), steps, epochs: 2);
        Assert.Equal(new RunPosition(0, 0), book.ResumeAt);
        book.Commit(0, 1, "a");
        Assert.Equal(new RunPosition(0, 2), book.ResumeAt);
        book.Commit(0, 2, "b");
        Assert.Equal(new RunPosition(1, 0), book.ResumeAt);
        Assert.Equal(RunBookResult.Unchanged, book.Commit(0, 2, "b"));
        var backwards = Assert.Throws<RunBookException>(() => book.Commit(0, 1, null));
        Assert.Contains("epoch 0 step 2 is committed", backwards.Message, StringComparison.Ordinal);
        book.Commit(1, 2, "end");
        Assert.True(book.Finished);
        Assert.Equal(new RunPosition(2, 0), book.ResumeAt);
        book.RewindTo("a");
        Assert.Equal(new RunPosition(0, 2), book.ResumeAt);
        Assert.False(book.Finished);
        Assert.Throws<RunBookException>(() => book.RewindTo("b"));
        Assert.Throws<RunBookException>(() => book.Commit(0, 3, null));
        for (var i = 0; i < 250; i++)
        {
            book.Commit(1, 0, null);
        }

        Assert.Equal(2, book.Commits.Count);
    }

    [Fact]
    public void A_run_keeps_its_last_hundred_commits()
    {
        var steps = new RunSteps(1000, 1, DropRemainder: true);
        var book = new RunBook(new RunBookState(), steps, epochs: 1);
        for (var s = 0; s < 250; s++)
        {
            book.Commit(0, s, "ck" + s);
        }

        Assert.Equal(RunBook.KeptCommits, book.Commits.Count);
        book.RewindTo("ck150");
        Assert.Equal(new RunPosition(0, 151), book.ResumeAt);
        Assert.Throws<RunBookException>(() => book.RewindTo("ck149"));
    }
}
