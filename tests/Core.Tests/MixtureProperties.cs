using FsCheck;
using FsCheck.Xunit;

namespace OrleansShards.Core.Tests;

/// <summary>
/// The promises of mixtures (issue 15): shares within one for every prefix and every aligned block of G, positions
/// carried across epochs (downsampling goes on where it stopped, upsampling starts the next pass, no repeat before a
/// full pass), and a journal replay that leaves every position before a re-weighting unchanged.
/// </summary>
public class MixtureProperties
{
    private static long[] WeightsOf(byte[] raw) =>
        raw.Length == 0 ? [1] : [.. raw.Take(5).Select(b => (long)(1 + (b % 30)))];

    private static int[] Walk(MixturePattern pattern, int n)
    {
        var sources = new int[n];
        pattern.Fill(0, sources, new long[pattern.Sources]);
        return sources;
    }

    [Property(MaxTest = 300)]
    public bool Every_prefix_is_within_one_of_its_share_and_exact_to_rounding_at_block_ends(byte[] rawWeights, PositiveInt block, PositiveInt length)
    {
        var weights = WeightsOf(rawWeights);
        var g = 1 + (block.Get % 40);
        var n = 1 + (length.Get % 400);
        var total = weights.Sum();
        var sources = Walk(new MixturePattern(weights, g), n);
        var counts = new long[weights.Length];
        for (var m = 1; m <= n; m++)
        {
            counts[sources[m - 1]]++;
            for (var i = 0; i < weights.Length; i++)
            {
                var error = (counts[i] * total) - (m * weights[i]);
                if (Math.Abs(error) > total)
                {
                    return false;
                }

                // At a block's end the count is the share rounded down or up.
                if (m % g == 0 && (counts[i] < m * weights[i] / total || counts[i] > ((m * weights[i]) + total - 1) / total))
                {
                    return false;
                }
            }
        }

        return true;
    }

    [Property(MaxTest = 300)]
    public bool Every_aligned_block_holds_its_share_rounded_down_or_up(byte[] rawWeights, PositiveInt block, PositiveInt blocks)
    {
        var weights = WeightsOf(rawWeights);
        var g = 1 + (block.Get % 40);
        var total = weights.Sum();
        var sources = Walk(new MixturePattern(weights, g), g * (1 + (blocks.Get % 30)));
        for (var start = 0; start < sources.Length; start += g)
        {
            for (var i = 0; i < weights.Length; i++)
            {
                var inBlock = sources.Skip(start).Take(g).Count(s => s == i);
                if (inBlock < g * weights[i] / total || inBlock > ((g * weights[i]) + total - 1) / total)
                {
                    return false;
                }
            }
        }

        return true;
    }

    [Property(MaxTest = 200)]
    public bool Counts_and_fills_from_anywhere_agree_with_the_walk_from_the_start(byte[] rawWeights, PositiveInt block, PositiveInt from, PositiveInt length)
    {
        var weights = WeightsOf(rawWeights);
        var g = 1 + (block.Get % 40);
        var pattern = new MixturePattern(weights, g);
        var start = from.Get % 3000;
        var count = 1 + (length.Get % 100);
        var walk = Walk(new MixturePattern(weights, g), start + count);
        var counts = new long[weights.Length];
        var filled = new int[count];
        pattern.Fill(start, filled, counts);
        for (var i = 0; i < weights.Length; i++)
        {
            if (counts[i] != walk.Take(start).Count(s => s == i))
            {
                return false;
            }
        }

        return filled.SequenceEqual(walk.Skip(start));
    }

    private static MixtureDefinition Mixture(byte[] sizes, byte[] rawWeights, bool shuffle, ulong seed, int samples)
    {
        var weights = WeightsOf(rawWeights);
        var sources = weights.Select((w, i) =>
        {
            var size = 1 + (i < sizes.Length ? sizes[i] % 60 : 7);
            // Two partitions per source, so a source's order crosses partitions and short shards.
            return new MixtureSourceDefinition($"s{i}", [size / 2, size - (size / 2)], w);
        }).ToList();
        return new MixtureDefinition(sources, 4, shuffle, seed, samples);
    }

    private static List<MixtureSlot> Epoch(MixtureDefinition mixture, int g, IReadOnlyList<MixtureReweighting> journal, int epoch)
    {
        var order = new MixtureOrder(mixture, g, journal, epoch);
        var slots = new MixtureSlot[order.Count];
        order.Fill(0, slots);
        return [.. slots];
    }

    [Property(MaxTest = 150)]
    public bool Sources_carry_their_positions_across_epochs_with_no_repeat_before_a_full_pass(byte[] sizes, byte[] rawWeights, bool shuffle, ulong seed, PositiveInt samples, PositiveInt block)
    {
        var mixture = Mixture(sizes, rawWeights, shuffle, seed, 1 + (samples.Get % 150));
        var g = 1 + (block.Get % 16);
        var draws = Enumerable.Range(0, mixture.Sources.Count).Select(_ => new List<MixtureSlot>()).ToList();
        for (var epoch = 0; epoch < 4; epoch++)
        {
            foreach (var slot in Epoch(mixture, g, [], epoch))
            {
                draws[slot.Source].Add(slot);
            }
        }

        for (var i = 0; i < draws.Count; i++)
        {
            var records = mixture.Sources[i].RecordCount;
            for (var d = 0; d < draws[i].Count; d++)
            {
                // The d-th draw of a source (over all epochs) is of pass d / n: positions carry over.
                if (draws[i][d].Pass != d / records)
                {
                    return false;
                }
            }

            foreach (var pass in draws[i].GroupBy(s => s.Pass))
            {
                var keys = pass.Select(s => (s.Slot.Shard.Partition, s.Slot.Shard.Start + s.Slot.Row)).ToList();
                // No repeat within a pass; a complete pass holds every record of the source.
                if (keys.Distinct().Count() != keys.Count || (keys.Count < records && pass.Key < draws[i][^1].Pass))
                {
                    return false;
                }
            }
        }

        return true;
    }

    [Property(MaxTest = 150)]
    public bool Epoch_orders_are_pure_functions_of_the_epoch_and_the_journal(byte[] sizes, byte[] rawWeights, ulong seed, PositiveInt samples, byte epochByte)
    {
        var mixture = Mixture(sizes, rawWeights, true, seed, 1 + (samples.Get % 120));
        var epoch = epochByte % 6;
        MixtureReweighting[] journal = [new() { FromEpoch = 1, FromPosition = 0, Weights = [.. mixture.Sources.Select((_, i) => (double)(i + 1))] }];
        var before = new long[mixture.Sources.Count];
        for (var e = 0; e < epoch; e++)
        {
            var counts = new MixtureOrder(mixture, 8, journal, e).DrawsAt(mixture.SamplesPerEpoch);
            before = counts;
        }

        return new MixtureOrder(mixture, 8, journal, epoch).DrawsBefore.SequenceEqual(before)
            && Epoch(mixture, 8, journal, epoch).SequenceEqual(Epoch(mixture, 8, journal, epoch));
    }

    [Property(MaxTest = 150)]
    public bool Replay_with_reweightings_keeps_every_step_before_them(byte[] sizes, byte[] rawWeights, ulong seed, PositiveInt block, PositiveInt steps, byte[] changes)
    {
        var g = 1 + (block.Get % 12);
        var stepsPerEpoch = 1 + (steps.Get % 10);
        var mixture = Mixture(sizes, rawWeights, true, seed, g * stepsPerEpoch);
        var k = mixture.Sources.Count;
        const int Epochs = 3;
        var journal = new List<MixtureReweighting>();
        var served = Enumerable.Range(0, Epochs).Select(e => Epoch(mixture, g, journal, e)).ToList();
        // Re-weight at random later steps, one after another, as a trainer would.
        var at = 0L;
        foreach (var change in changes.Take(4))
        {
            at += 1 + (change % (Epochs * stepsPerEpoch / 2 + 1));
            if (at >= Epochs * stepsPerEpoch)
            {
                break;
            }

            var entry = new MixtureReweighting
            {
                FromEpoch = (int)(at / stepsPerEpoch),
                FromPosition = at % stepsPerEpoch * g,
                Weights = [.. Enumerable.Range(0, k).Select(i => (double)(1 + ((change + (7 * i)) % 9)))],
            };
            journal.Add(entry);
            var replayed = Enumerable.Range(0, Epochs).Select(e => Epoch(mixture, g, journal, e)).ToList();
            for (var e = 0; e < Epochs; e++)
            {
                for (var p = 0; p < mixture.SamplesPerEpoch; p++)
                {
                    var before = e < entry.FromEpoch || (e == entry.FromEpoch && p < entry.FromPosition);
                    if (before && replayed[e][p] != served[e][p])
                    {
                        return false;
                    }
                }
            }

            // The first step under the new weights holds each source's new share within one.
            var total = MixtureWeights.ToIntegers(entry.Weights);
            var step = replayed[entry.FromEpoch].Skip((int)entry.FromPosition).Take(g).ToList();
            for (var i = 0; i < k; i++)
            {
                var count = step.Count(s => s.Source == i);
                if (count < g * total[i] / total.Sum() || count > ((g * total[i]) + total.Sum() - 1) / total.Sum())
                {
                    return false;
                }
            }

            served = replayed;
        }

        return true;
    }
}
