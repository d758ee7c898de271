namespace OrleansShards.Core;

/// <summary>
/// A pseudo-random permutation of <c>[0, n)</c> computed position by position, in O(1) memory.
/// </summary>
/// <remarks>
/// A four-round Feistel network over the smallest power-of-four domain that holds <c>n</c>, with
/// cycle walking to stay inside <c>[0, n)</c>. It is a bijection for every seed, so the todo list of
/// an epoch can be a cursor over it instead of a stored list: the same seed always gives the same
/// order, and <see cref="IndexOf"/> inverts it without a table.
/// </remarks>
public readonly struct SeededPermutation
{
    private const int Rounds = 4;
    private readonly long _count;
    private readonly int _halfBits;
    private readonly ulong _halfMask;
    private readonly ulong _seed;
    private readonly bool _identity;

    /// <summary>Creates the permutation of <c>[0, count)</c> for <paramref name="seed"/>.</summary>
    /// <param name="count">The size of the domain.</param>
    /// <param name="seed">The seed; derive it with <see cref="DeterministicHash.Mix(ulong, ulong)"/>.</param>
    /// <param name="identity">When <see langword="true"/>, positions map to themselves (no shuffle).</param>
    public SeededPermutation(long count, ulong seed, bool identity = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _count = count;
        _seed = seed;
        _identity = identity || count <= 1;
        var bits = count <= 1 ? 2 : 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)(count - 1));
        _halfBits = Math.Max(1, (bits + 1) / 2);
        _halfMask = (1UL << _halfBits) - 1;
    }

    /// <summary>
    /// The order of a shuffled shard's records in <paramref name="epoch"/>: the one a leased shard is read in and the one
    /// a training run's global order uses, so the two never drift apart.
    /// </summary>
    /// <param name="length">The shard's number of records.</param>
    /// <param name="seed">The job's seed.</param>
    /// <param name="epoch">The epoch.</param>
    /// <param name="shardIndex">The shard's index in the job's shard catalogue (or its partition for live shards).</param>
    public static SeededPermutation WithinShard(long length, ulong seed, long epoch, long shardIndex) =>
        new(length, DeterministicHash.Mix(seed, (ulong)epoch, (ulong)shardIndex));

    /// <summary>The size of the domain.</summary>
    public long Count => _count;

    /// <summary>The element at <paramref name="position"/> of the permuted order.</summary>
    public long this[long position] => At(position);

    /// <summary>The element at <paramref name="position"/> of the permuted order.</summary>
    public long At(long position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(position, _count);
        if (_identity)
        {
            return position;
        }

        var x = (ulong)position;
        do
        {
            x = Forward(x);
        }
        while (x >= (ulong)_count);
        return (long)x;
    }

    /// <summary>The position of <paramref name="element"/> in the permuted order (the inverse of <see cref="At"/>).</summary>
    public long IndexOf(long element)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(element);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(element, _count);
        if (_identity)
        {
            return element;
        }

        var x = (ulong)element;
        do
        {
            x = Backward(x);
        }
        while (x >= (ulong)_count);
        return (long)x;
    }

    private ulong Forward(ulong x)
    {
        var left = x >> _halfBits;
        var right = x & _halfMask;
        for (var round = 0; round < Rounds; round++)
        {
            var next = left ^ (RoundFunction(right, round) & _halfMask);
            left = right;
            right = next;
        }

        return (left << _halfBits) | right;
    }

    private ulong Backward(ulong x)
    {
        var left = x >> _halfBits;
        var right = x & _halfMask;
        for (var round = Rounds - 1; round >= 0; round--)
        {
            var previous = right ^ (RoundFunction(left, round) & _halfMask);
            right = left;
            left = previous;
        }

        return (left << _halfBits) | right;
    }

    private ulong RoundFunction(ulong value, int round) => DeterministicHash.Mix(_seed + (ulong)round, value);
}
