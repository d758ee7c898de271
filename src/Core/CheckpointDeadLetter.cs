namespace OrleansShards.Core;

/// <summary>A shard given up on.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointDeadLetter")]
public sealed record CheckpointDeadLetter
{
    /// <summary>The task.</summary>
    [Id(0)] public string? TaskId { get; init; }

    /// <summary>How many attempts failed.</summary>
    [Id(1)] public int Attempts { get; init; }

    /// <summary>The last error.</summary>
    [Id(2)] public string? LastError { get; init; }
}
