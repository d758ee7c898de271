namespace OrleansShards.Core;

/// <summary>A shard: the records <c>[Start, End)</c> of one partition.</summary>
/// <param name="Partition">The partition index.</param>
/// <param name="Start">The first record offset.</param>
/// <param name="End">One past the last record offset.</param>
[GenerateSerializer, Immutable, Alias("shards.ShardRange")]
public readonly record struct ShardRange([property: Id(0)] int Partition, [property: Id(1)] long Start, [property: Id(2)] long End)
{
    /// <summary>The number of records in the shard.</summary>
    public long Length => End - Start;
}
