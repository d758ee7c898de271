namespace OrleansShards.Core;

/// <summary>
/// The global order of one epoch of a static job for training runs: which record comes at each position
/// <c>[0, N)</c>, computed position by position in O(log shards) time and O(partitions) memory, never a list of N.
/// </summary>
/// <remarks>
/// <para>
/// The order depends only on the job (its pinned partitions' record counts, shard size, shuffle flag, seed) and the
/// epoch, never on a run, a world size or timing, so every rank of every run that asks for position p of epoch e
/// gets the same record.
/// </para>
/// <para>
/// Without shuffle it is source order: partition by partition, record by record. With shuffle it is three seeded
/// layers (docs/runs.md):
/// </para>
/// <list type="number">
/// <item>the epoch's shard permutation, the very one leases follow (<c>SeededPermutation(shards, Mix(seed, epoch))</c>);</item>
/// <item>the records of each shard in the seeded order a leased shuffled shard is read in
/// (<c>SeededPermutation(length, Mix(seed, epoch, shardIndex))</c>, as in the task record reader);</item>
/// <item>a window: the stream of layers 1-2 is cut into blocks of <see cref="WindowShards"/> × shard size positions, and
/// each block is permuted with its own seed, so a step mixes records of about that many consecutive shards instead of
/// coming from one shard, while a step still needs only a few shards in memory.</item>
/// </list>
/// <para>
/// Every layer is a bijection, so the order is a permutation of the job's records. Shards of a partition's tail are
/// shorter than the shard size; the start of the k-th shard of the permuted order is <c>k·S</c> minus the shortfalls of
/// the short shards placed before it, and there is at most one short shard per partition, so a sorted table of
/// them (O(partitions)) and a binary search give the shard of a position.
/// </para>
/// </remarks>
public sealed class RunOrder
{
    /// <summary>The shards a shuffle window mixes, unless a caller says otherwise.</summary>
    public const int DefaultWindowShards = 4;

    private const ulong WindowSalt = 0x57494E444F57UL; // "WINDOW": keeps window seeds apart from shard seeds.

    private readonly ShardCatalog _catalog;
    private readonly long[] _recordCounts;
    private readonly long[] _firstRecord;
    private readonly bool _shuffle;
    private readonly ulong _seed;
    private readonly int _epoch;
    private readonly SeededPermutation _shards;

    // Shuffled order only: order positions of the short shards, ascending, and the shortfall before each.
    private readonly long[] _shortPositions = [];
    private readonly long[] _shortfallBefore = [0];
    private readonly long _windowLength;

    /// <summary>Creates the order of <paramref name="epoch"/>.</summary>
    /// <param name="partitionRecordCounts">The records of each pinned partition, in partition order.</param>
    /// <param name="shardSize">The job's shard size.</param>
    /// <param name="shuffle">The job's shuffle flag.</param>
    /// <param name="seed">The job's seed.</param>
    /// <param name="epoch">The epoch.</param>
    /// <param name="windowShards">The shards a window mixes (shuffle only).</param>
    public RunOrder(IReadOnlyList<long> partitionRecordCounts, long shardSize, bool shuffle, ulong seed, int epoch, int windowShards = DefaultWindowShards)
    {
        ArgumentNullException.ThrowIfNull(partitionRecordCounts);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfLessThan(windowShards, 1);
        _catalog = new ShardCatalog(partitionRecordCounts, shardSize);
        _recordCounts = [.. partitionRecordCounts];
        _firstRecord = new long[_recordCounts.Length + 1];
        for (var p = 0; p < _recordCounts.Length; p++)
        {
            _firstRecord[p + 1] = _firstRecord[p] + _recordCounts[p];
        }

        _shuffle = shuffle;
        _seed = seed;
        _epoch = epoch;
        WindowShards = windowShards;
        _windowLength = checked(windowShards * shardSize);
        _shards = new SeededPermutation(_catalog.ShardCount, DeterministicHash.Mix(seed, (ulong)epoch), identity: !shuffle);
        if (shuffle)
        {
            var shorts = new List<(long Position, long Shortfall)>();
            for (var p = 0; p < _recordCounts.Length; p++)
            {
                var tail = _recordCounts[p] % shardSize;
                if (tail != 0)
                {
                    var index = _catalog.IndexOf(new ShardRange(p, _recordCounts[p] - tail, _recordCounts[p]));
                    shorts.Add((_shards.IndexOf(index), shardSize - tail));
                }
            }

            shorts.Sort();
            _shortPositions = [.. shorts.Select(s => s.Position)];
            _shortfallBefore = new long[shorts.Count + 1];
            for (var i = 0; i < shorts.Count; i++)
            {
                _shortfallBefore[i + 1] = _shortfallBefore[i] + shorts[i].Shortfall;
            }
        }
    }

    /// <summary>The number of records in the order (every record of the job once).</summary>
    public long Count => _firstRecord[^1];

    /// <summary>The shards a shuffle window mixes.</summary>
    public int WindowShards { get; }

    /// <summary>The job's shard catalogue.</summary>
    public ShardCatalog Catalog => _catalog;

    /// <summary>The record at <paramref name="position"/> of the epoch's order.</summary>
    public RunSlot At(long position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(position, Count);
        if (!_shuffle)
        {
            var found = Array.BinarySearch(_firstRecord, position);
            var partition = found >= 0 ? found : ~found - 1;
            // Empty partitions share their first record with the next one: take the last of them.
            while (_firstRecord[partition + 1] == position)
            {
                partition++;
            }

            var offset = position - _firstRecord[partition];
            var start = offset / _catalog.ShardSize * _catalog.ShardSize;
            var shard = new ShardRange(partition, start, Math.Min(start + _catalog.ShardSize, _recordCounts[partition]));
            return new RunSlot(_catalog.IndexOf(shard), shard, offset - start);
        }

        // Layer 3: the window block the position falls in, permuted with the block's own seed.
        var block = position / _windowLength;
        var blockStart = block * _windowLength;
        var blockLength = Math.Min(_windowLength, Count - blockStart);
        var window = new SeededPermutation(blockLength, DeterministicHash.Mix(_seed ^ WindowSalt, (ulong)_epoch, (ulong)block));
        var streamPosition = blockStart + window.At(position - blockStart);

        // Layer 1: the shard of the permuted shard order that holds the stream position.
        var low = 0L;
        var high = _catalog.ShardCount - 1;
        while (low < high)
        {
            var middle = low + ((high - low + 1) / 2);
            if (StartOf(middle) <= streamPosition)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        var index = _shards.At(low);
        var range = _catalog[index];

        // Layer 2: the record of the shard, in the order a leased shuffled shard is read.
        var inShard = SeededPermutation.WithinShard(range.Length, _seed, _epoch, index);
        return new RunSlot(index, range, inShard.At(streamPosition - StartOf(low)));
    }

    /// <summary>The first stream position of the shard at <paramref name="orderPosition"/> of the shard permutation.</summary>
    private long StartOf(long orderPosition)
    {
        var found = Array.BinarySearch(_shortPositions, orderPosition);
        var before = found >= 0 ? found : ~found;
        return (orderPosition * _catalog.ShardSize) - _shortfallBefore[before];
    }
}
