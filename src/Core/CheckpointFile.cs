namespace OrleansShards.Core;

/// <summary>A source file (a partition) as the job pinned it.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointFile")]
public sealed record CheckpointFile
{
    /// <summary>The partition index.</summary>
    [Id(0)] public int Partition { get; init; }

    /// <summary>The path as users name it: relative to the data directory when inside it.</summary>
    [Id(1)] public string? Path { get; init; }

    /// <summary>The number of records.</summary>
    [Id(2)] public long Records { get; init; }

    /// <summary>The size in bytes.</summary>
    [Id(3)] public long Length { get; init; }

    /// <summary>The modification time, UTC ticks (informative: it may differ on another machine).</summary>
    [Id(4)] public long LastWriteTimeUtcTicks { get; init; }

    /// <summary>XxHash3 of the file's bytes, 16 hexadecimal digits.</summary>
    [Id(5)] public string? ContentHash { get; init; }
}
