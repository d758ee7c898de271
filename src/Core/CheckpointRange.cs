namespace OrleansShards.Core;

/// <summary>A range of offsets <c>[Start, End)</c> in a checkpoint.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointRange")]
public sealed record CheckpointRange
{
    /// <summary>The first offset.</summary>
    [Id(0)] public long Start { get; init; }

    /// <summary>One past the last offset.</summary>
    [Id(1)] public long End { get; init; }
}
