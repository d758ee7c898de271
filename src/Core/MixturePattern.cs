namespace OrleansShards.Core;

/// <summary>
/// Which source each position of a mixture segment draws from, for whole-number weights <c>w</c> and blocks of
/// <c>G</c> positions (a run's global batch): every aligned block of G holds <c>⌊G·wᵢ/Σw⌋</c> or <c>⌈G·wᵢ/Σw⌉</c> records
/// of source i, and after every prefix of n positions source i has given <c>n·wᵢ/Σw</c> within one.
/// </summary>
/// <remarks>
/// <para>
/// Two levels, both exact integer arithmetic. Each block first gets its quota: every source its
/// <c>⌊G·wᵢ/Σw⌋</c>, and the <c>R = G − Σ⌊…⌋</c> remaining places go to the sources with a fractional share whose
/// count at the block's end would fall furthest below <c>(b+1)·G·wᵢ/Σw</c> (lowest index on ties). Within the block,
/// each position goes to the source with quota left that is furthest behind <c>(n+1)·wᵢ/Σw</c> (smooth weighted
/// round-robin restricted to the quota). Plain smooth weighted round-robin keeps every prefix within one but not every
/// aligned block (weights 9, 5, 13 and G = 5 put 2 records of the second source in a block whose share is 0.93),
/// which is why the quota comes first.
/// </para>
/// <para>
/// The state after a block is the vector of counts, and after <c>L = lcm(G, Σw)</c> positions every count equals its
/// share exactly, so the pattern repeats with period L. Counts at any position are computed without listing the
/// positions: whole blocks advance by their quota in O(k·R) (k sources, R &lt; k), the counts are checkpointed every
/// <see cref="Stride"/> blocks (at most <see cref="MaxCheckpoints"/> checkpoints over a period, grown lazily as far as
/// asked), and only the last partial block is walked position by position. <see cref="CountsAt"/> costs
/// O(Stride·k² + G·k) time; memory is O(k · min(asked, L) / (G·Stride)) longs.
/// </para>
/// </remarks>
public sealed class MixturePattern
{
    /// <summary>The most checkpoints a pattern keeps over one period.</summary>
    public const int MaxCheckpoints = 65_536;

    private const long MinStride = 64;

    private readonly long[] _weights;
    private readonly long _total;
    private readonly int _blockSize;
    private readonly long[] _floor;
    private readonly bool[] _fractional;
    private readonly int _extras;
    private readonly long[] _perPeriod;
    private readonly List<long[]> _checkpoints;
    private readonly Lock _gate = new();

    /// <summary>Creates the pattern of <paramref name="weights"/> (whole, positive) for blocks of <paramref name="blockSize"/>.</summary>
    public MixturePattern(IReadOnlyList<long> weights, int blockSize)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        if (weights.Count == 0 || weights.Any(w => w < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(weights), "weights must be positive whole numbers, at least one");
        }

        _weights = [.. weights];
        _total = _weights.Sum();
        _blockSize = blockSize;
        var k = _weights.Length;
        _floor = new long[k];
        _fractional = new bool[k];
        for (var i = 0; i < k; i++)
        {
            var share = (Int128)blockSize * _weights[i];
            _floor[i] = (long)(share / _total);
            _fractional[i] = share % _total != 0;
        }

        _extras = blockSize - (int)_floor.Sum();
        var period = (Int128)(blockSize / MixtureWeights.Gcd(blockSize, _total)) * _total;
        Period = period > long.MaxValue / 4 ? long.MaxValue : (long)period;
        _perPeriod = [.. _weights.Select(w => Period == long.MaxValue ? 0 : (long)(Period * (Int128)w / _total))];
        var blocksPerPeriod = Period / blockSize;
        Stride = Math.Max(MinStride, (blocksPerPeriod + MaxCheckpoints - 1) / MaxCheckpoints);
        _checkpoints = [new long[k]];
    }

    /// <summary>The number of sources.</summary>
    public int Sources => _weights.Length;

    /// <summary>G, the block size.</summary>
    public int BlockSize => _blockSize;

    /// <summary>The weights (whole numbers).</summary>
    public IReadOnlyList<long> Weights => _weights;

    /// <summary>L = lcm(G, Σw): the pattern repeats every L positions (<see cref="long.MaxValue"/> when that is too large to matter).</summary>
    public long Period { get; }

    /// <summary>Blocks between two checkpoints of counts.</summary>
    public long Stride { get; }

    /// <summary>Writes into <paramref name="counts"/> how many of the first <paramref name="n"/> positions each source drew.</summary>
    public void CountsAt(long n, Span<long> counts)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var periods = Period == long.MaxValue ? 0 : n / Period;
        var within = n - (periods * Period);
        var block = within / _blockSize;
        var state = BlockStart(block);
        var quota = new long[_weights.Length];
        QuotaOf(block, state, quota);
        var position = block * _blockSize;
        for (var rest = within - position; rest > 0; rest--, position++)
        {
            var i = Next(position, state, quota);
            state[i]++;
            quota[i]--;
        }

        for (var i = 0; i < _weights.Length; i++)
        {
            counts[i] = (periods * _perPeriod[i]) + state[i];
        }
    }

    /// <summary>
    /// Writes the source of positions <c>[from, from + sources.Length)</c> into <paramref name="sources"/> and the
    /// counts before <paramref name="from"/> into <paramref name="countsBefore"/>, walking the positions in order.
    /// </summary>
    public void Fill(long from, Span<int> sources, Span<long> countsBefore)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        CountsAt(from, countsBefore);
        var periods = Period == long.MaxValue ? 0 : from / Period;
        var position = from - (periods * Period);
        var state = new long[_weights.Length];
        for (var i = 0; i < state.Length; i++)
        {
            state[i] = countsBefore[i] - (periods * _perPeriod[i]);
        }

        var quota = new long[_weights.Length];
        var block = position / _blockSize;
        QuotaLeft(block, state, quota);
        for (var j = 0; j < sources.Length; j++)
        {
            if (position == Period)
            {
                position = 0;
                Array.Clear(state);
            }

            if (position % _blockSize == 0)
            {
                QuotaOf(position / _blockSize, state, quota);
            }

            var i = Next(position, state, quota);
            sources[j] = i;
            state[i]++;
            quota[i]--;
            position++;
        }
    }

    // The quota left in the block of `position` given the counts at `position`.
    private void QuotaLeft(long block, long[] state, long[] quota)
    {
        var start = BlockStart(block);
        QuotaOf(block, start, quota);
        for (var i = 0; i < quota.Length; i++)
        {
            quota[i] -= state[i] - start[i];
        }
    }

    // The counts at the start of `block` (within the period): from the nearest checkpoint, whole blocks at a time.
    private long[] BlockStart(long block)
    {
        var index = block / Stride;
        long[] state;
        lock (_gate)
        {
            while (_checkpoints.Count <= index)
            {
                var next = (long[])_checkpoints[^1].Clone();
                AdvanceBlocks(next, (_checkpoints.Count - 1) * Stride, Stride);
                _checkpoints.Add(next);
            }

            state = (long[])_checkpoints[(int)index].Clone();
        }

        AdvanceBlocks(state, index * Stride, block - (index * Stride));
        return state;
    }

    private void AdvanceBlocks(long[] state, long firstBlock, long blocks)
    {
        var quota = new long[state.Length];
        for (var b = firstBlock; b < firstBlock + blocks; b++)
        {
            QuotaOf(b, state, quota);
            for (var i = 0; i < state.Length; i++)
            {
                state[i] += quota[i];
            }
        }
    }

    // The records each source gives in `block` when the counts at its start are `state`.
    private void QuotaOf(long block, ReadOnlySpan<long> state, Span<long> quota)
    {
        var k = _weights.Length;
        for (var i = 0; i < k; i++)
        {
            quota[i] = _floor[i];
        }

        if (_extras == 0)
        {
            return;
        }

        // The R sources with a fractional share furthest below their share at the block's end get one more
        // (R < k, so picking the largest R times is cheap).
        var end = (Int128)(block + 1) * _blockSize;
        Span<bool> taken = k <= 256 ? stackalloc bool[k] : new bool[k];
        for (var extra = 0; extra < _extras; extra++)
        {
            var best = -1;
            Int128 bestDeficit = 0;
            for (var i = 0; i < k; i++)
            {
                if (!_fractional[i] || taken[i])
                {
                    continue;
                }

                var deficit = (end * _weights[i]) - ((state[i] + _floor[i]) * (Int128)_total);
                if (best < 0 || deficit > bestDeficit)
                {
                    best = i;
                    bestDeficit = deficit;
                }
            }

            taken[best] = true;
            quota[best]++;
        }
    }

    // The source of `position` (within the period): among those with quota left, the one furthest behind its share.
    private int Next(long position, ReadOnlySpan<long> state, ReadOnlySpan<long> quota)
    {
        var n = (Int128)(position + 1);
        var best = -1;
        Int128 bestDeficit = 0;
        for (var i = 0; i < _weights.Length; i++)
        {
            if (quota[i] <= 0)
            {
                continue;
            }

            var deficit = (n * _weights[i]) - (state[i] * (Int128)_total);
            if (best < 0 || deficit > bestDeficit)
            {
                best = i;
                bestDeficit = deficit;
            }
        }

        return best;
    }
}
