namespace OrleansShards.Core;

/// <summary>
/// The order of one epoch of a mixture (issue 15): which source, pass and record each position <c>[0, M)</c> of epoch
/// e draws, as a pure function of the job's <see cref="MixtureDefinition"/>, e, the block size G and the journal of
/// re-weightings. No list of M positions is built.
/// </summary>
/// <remarks>
/// <para>
/// The sources are drawn in the pattern of <see cref="MixturePattern"/> for the weights in effect; the pattern starts
/// afresh at every epoch and at every journal entry (at a block boundary: for a run, a step). Each source keeps its own
/// count of draws across epochs: its d-th draw is record <c>d mod nᵢ</c> of pass <c>⌊d / nᵢ⌋</c>, and a pass is
/// ordered as a single-source job orders an epoch (<see cref="RunOrder"/>, seeded from the job's seed and the source's
/// name, with the pass as the epoch). So a source not run out goes on in the next epoch where it stopped
/// (downsampling, no repeat before a full pass) and a source run out starts its next pass (upsampling).
/// </para>
/// <para>
/// The draws before epoch e are summed per span of epochs with the same weights (those epochs draw alike), so
/// building the order of epoch e costs O(J² + J · cost of <see cref="MixturePattern.CountsAt"/>) for J journal entries,
/// whatever e; <see cref="Fill"/> then walks its positions in order, O(k) per position plus the source's
/// <see cref="RunOrder.At"/>.
/// </para>
/// </remarks>
public sealed class MixtureOrder
{
    private readonly MixtureDefinition _definition;
    private readonly Func<long[], MixturePattern> _patterns;
    private readonly List<(long Start, MixturePattern Pattern)> _segments;
    private readonly long[] _drawsBefore;
    private readonly Dictionary<(int Source, long Pass), RunOrder> _passes = [];

    /// <summary>Creates the order of <paramref name="epoch"/>.</summary>
    /// <param name="definition">The job's mixture.</param>
    /// <param name="blockSize">G, the block whose shares are kept within one (a run's global batch size).</param>
    /// <param name="journal">The re-weightings, ordered by (fromEpoch, fromPosition).</param>
    /// <param name="epoch">The epoch.</param>
    /// <param name="patterns">Where patterns come from (a cache); a new one each time when null.</param>
    public MixtureOrder(MixtureDefinition definition, int blockSize, IReadOnlyList<MixtureReweighting> journal, int epoch, Func<long[], MixturePattern>? patterns = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(journal);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfLessThan(definition.SamplesPerEpoch, 1);
        if (definition.Sources.Count == 0 || definition.Sources.Any(s => s.RecordCount < 1))
        {
            throw new ArgumentException("a mixture needs at least one source, and every source at least one record", nameof(definition));
        }

        for (var j = 1; j < journal.Count; j++)
        {
            if ((journal[j].FromEpoch, journal[j].FromPosition).CompareTo((journal[j - 1].FromEpoch, journal[j - 1].FromPosition)) <= 0)
            {
                throw new ArgumentException("journal entries must be ordered by (fromEpoch, fromPosition), each after the one before", nameof(journal));
            }
        }

        _definition = definition;
        BlockSize = blockSize;
        Epoch = epoch;
        Journal = journal;
        _patterns = patterns ?? (w => new MixturePattern(w, blockSize));
        _segments = SegmentsOf(epoch);
        _drawsBefore = DrawsBeforeEpoch(epoch);
    }

    /// <summary>M, the positions of the epoch.</summary>
    public long Count => _definition.SamplesPerEpoch;

    /// <summary>G.</summary>
    public int BlockSize { get; }

    /// <summary>The epoch.</summary>
    public int Epoch { get; }

    /// <summary>The journal the order follows.</summary>
    public IReadOnlyList<MixtureReweighting> Journal { get; }

    /// <summary>The mixture.</summary>
    public MixtureDefinition Definition => _definition;

    /// <summary>Each source's draws before this epoch (its position carried across epochs).</summary>
    public IReadOnlyList<long> DrawsBefore => _drawsBefore;

    /// <summary>Each source's draws before <paramref name="position"/> of this epoch, counted from the job's start.</summary>
    public long[] DrawsAt(long position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(position, Count);
        var draws = (long[])_drawsBefore.Clone();
        var counts = new long[draws.Length];
        for (var s = 0; s < _segments.Count && _segments[s].Start < position; s++)
        {
            var end = Math.Min(position, EndOf(s));
            _segments[s].Pattern.CountsAt(end - _segments[s].Start, counts);
            Add(draws, counts, 1);
        }

        return draws;
    }

    /// <summary>The draw at <paramref name="position"/>.</summary>
    public MixtureSlot At(long position)
    {
        Span<MixtureSlot> one = stackalloc MixtureSlot[1];
        Fill(position, one);
        return one[0];
    }

    /// <summary>The draws at positions <c>[from, from + slots.Length)</c>, all inside the epoch.</summary>
    public void Fill(long from, Span<MixtureSlot> slots)
    {
        var sources = new int[slots.Length];
        var draws = FillSources(from, sources);
        for (var j = 0; j < slots.Length; j++)
        {
            var source = sources[j];
            var records = _definition.Sources[source].RecordCount;
            var draw = draws[j];
            var pass = draw / records;
            slots[j] = new MixtureSlot(source, pass, PassOf(source, pass).At(draw % records));
        }
    }

    /// <summary>
    /// The mixture layer alone: the source of each position <c>[from, from + sources.Length)</c> and, returned, each
    /// position's draw number of its source (counted from the job's start), without mapping draws to records.
    /// </summary>
    public long[] FillSources(long from, Span<int> sources)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(from + sources.Length, Count);
        var draws = DrawsAt(from);
        var countsBefore = new long[draws.Length];
        var numbers = new long[sources.Length];
        var done = 0;
        while (done < sources.Length)
        {
            var position = from + done;
            var segment = _segments.FindLastIndex(s => s.Start <= position);
            var length = (int)Math.Min(sources.Length - done, EndOf(segment) - position);
            _segments[segment].Pattern.Fill(position - _segments[segment].Start, sources.Slice(done, length), countsBefore);
            for (var j = done; j < done + length; j++)
            {
                numbers[j] = draws[sources[j]]++;
            }

            done += length;
        }

        return numbers;
    }

    /// <summary>The weights (as given) in effect at <paramref name="position"/> of epoch <paramref name="epoch"/>.</summary>
    public static IReadOnlyList<double> WeightsAt(MixtureDefinition definition, IReadOnlyList<MixtureReweighting> journal, int epoch, long position)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(journal);
        var weights = definition.Weights;
        foreach (var entry in journal)
        {
            if (entry.AppliesAt(epoch, position))
            {
                weights = entry.Weights;
            }
        }

        return weights;
    }

    private RunOrder PassOf(int source, long pass)
    {
        if (!_passes.TryGetValue((source, pass), out var order))
        {
            var definition = _definition.Sources[source];
            order = new RunOrder(definition.PartitionRecordCounts, _definition.ShardSize, _definition.Shuffle, _definition.SeedOf(source), checked((int)pass));
            _passes[(source, pass)] = order;
        }

        return order;
    }

    private long EndOf(int segment) => segment + 1 < _segments.Count ? _segments[segment + 1].Start : Count;

    private List<(long Start, MixturePattern Pattern)> SegmentsOf(int epoch)
    {
        var segments = new List<(long, MixturePattern)> { (0, PatternOf(WeightsAt(_definition, Journal, epoch, 0))) };
        foreach (var entry in Journal)
        {
            if (entry.FromEpoch == epoch && entry.FromPosition > 0 && entry.FromPosition < Count)
            {
                segments.Add((entry.FromPosition, PatternOf(entry.Weights)));
            }
        }

        return segments;
    }

    private MixturePattern PatternOf(IReadOnlyList<double> weights)
    {
        if (weights.Count != _definition.Sources.Count)
        {
            throw new ArgumentException($"a journal entry has {weights.Count} weights for {_definition.Sources.Count} sources");
        }

        return _patterns(MixtureWeights.ToIntegers(weights));
    }

    private long[] DrawsBeforeEpoch(int epoch)
    {
        var draws = new long[_definition.Sources.Count];
        var counts = new long[draws.Length];
        var x = 0;
        while (x < epoch)
        {
            var segments = SegmentsOf(x);
            if (segments.Count == 1)
            {
                // Epochs up to the next one a journal entry names draw alike.
                var next = epoch;
                foreach (var entry in Journal)
                {
                    if (entry.FromEpoch > x)
                    {
                        next = Math.Min(next, entry.FromEpoch);
                        break;
                    }
                }

                segments[0].Pattern.CountsAt(Count, counts);
                Add(draws, counts, next - x);
                x = next;
                continue;
            }

            for (var s = 0; s < segments.Count; s++)
            {
                var end = s + 1 < segments.Count ? segments[s + 1].Start : Count;
                segments[s].Pattern.CountsAt(end - segments[s].Start, counts);
                Add(draws, counts, 1);
            }

            x++;
        }

        return draws;
    }

    private static void Add(long[] draws, long[] counts, long times)
    {
        for (var i = 0; i < draws.Length; i++)
        {
            draws[i] = checked(draws[i] + (counts[i] * times));
        }
    }
}
