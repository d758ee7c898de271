namespace OrleansShards.Core;

/// <summary>A range of offsets <c>[Start, End)</c>.</summary>
/// <param name="Start">The first offset.</param>
/// <param name="End">One past the last offset.</param>
[GenerateSerializer, Immutable, Alias("shards.OffsetRange")]
public readonly record struct OffsetRange([property: Id(0)] long Start, [property: Id(1)] long End)
{
    /// <summary>The number of offsets in the range.</summary>
    public long Length => End - Start;
}
