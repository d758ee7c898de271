namespace OrleansShards.Core;

/// <summary>A splitter's offsets: how far its partition is cut into shards the job acknowledged.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointSplitter")]
public sealed record CheckpointSplitter
{
    /// <summary>The partition.</summary>
    [Id(0)] public int Partition { get; init; }

    /// <summary>The partition's file, as users name it.</summary>
    [Id(1)] public string? Path { get; init; }

    /// <summary>The offset the partition is cut up to.</summary>
    [Id(2)] public long SplitUpTo { get; init; }

    /// <summary>Whether the job acknowledged the partition's shards.</summary>
    [Id(3)] public bool Acknowledged { get; init; }
}
