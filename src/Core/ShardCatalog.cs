namespace OrleansShards.Core;

/// <summary>
/// The shards of a static source: every partition cut into <c>shardSize</c> records, the last shard
/// of a partition shorter. Shards are numbered globally, partition by partition, so a shard is an
/// index and the catalogue is O(partitions) no matter how many shards it holds.
/// </summary>
public sealed class ShardCatalog
{
    private readonly long[] _recordCounts;
    private readonly long[] _firstShard;
    private readonly long _shardSize;

    /// <summary>Cuts partitions of the given record counts into shards of <paramref name="shardSize"/> records.</summary>
    public ShardCatalog(IReadOnlyList<long> partitionRecordCounts, long shardSize)
    {
        ArgumentNullException.ThrowIfNull(partitionRecordCounts);
        ArgumentOutOfRangeException.ThrowIfLessThan(shardSize, 1);
        _shardSize = shardSize;
        _recordCounts = [.. partitionRecordCounts];
        _firstShard = new long[_recordCounts.Length + 1];
        for (var p = 0; p < _recordCounts.Length; p++)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(_recordCounts[p]);
            // Rounded up without adding shardSize - 1 first, which overflows for a shard size near long.MaxValue.
            _firstShard[p + 1] = _firstShard[p] + (_recordCounts[p] == 0 ? 0 : ((_recordCounts[p] - 1) / shardSize) + 1);
        }
    }

    /// <summary>The number of shards.</summary>
    public long ShardCount => _firstShard[^1];

    /// <summary>The number of partitions.</summary>
    public int PartitionCount => _recordCounts.Length;

    /// <summary>The records per shard (the last shard of a partition may hold fewer).</summary>
    public long ShardSize => _shardSize;

    /// <summary>The number of shards of <paramref name="partition"/>.</summary>
    public long ShardsOf(int partition) => _firstShard[partition + 1] - _firstShard[partition];

    /// <summary>The shard with global index <paramref name="index"/>.</summary>
    public ShardRange this[long index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, ShardCount);
            var found = Array.BinarySearch(_firstShard, index);
            // Partitions without records share a first index with the next one: take the last of them.
            var partition = found >= 0 ? found : ~found - 1;
            while (partition + 1 < _firstShard.Length - 1 && _firstShard[partition + 1] == index)
            {
                partition++;
            }

            var start = (index - _firstShard[partition]) * _shardSize;
            var end = Math.Min(start + _shardSize, _recordCounts[partition]);
            return new ShardRange(partition, start, end);
        }
    }

    /// <summary>The global index of <paramref name="shard"/>, or -1 when it is not a shard of this catalogue.</summary>
    public long IndexOf(ShardRange shard)
    {
        if (shard.Partition < 0 || shard.Partition >= _recordCounts.Length || shard.Start < 0 || shard.Start % _shardSize != 0)
        {
            return -1;
        }

        var local = shard.Start / _shardSize;
        if (local >= ShardsOf(shard.Partition) || shard.End != Math.Min(shard.Start + _shardSize, _recordCounts[shard.Partition]))
        {
            return -1;
        }

        return _firstShard[shard.Partition] + local;
    }
}
