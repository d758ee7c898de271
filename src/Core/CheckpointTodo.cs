namespace OrleansShards.Core;

/// <summary>What is still to do in the current epoch: the positions <c>[cursor, shards)</c> of the epoch's order and the re-queued shards.</summary>
[GenerateSerializer, Immutable, Alias("shards.CheckpointTodo")]
public sealed record CheckpointTodo
{
    /// <summary>The next position of the epoch's order to hand out.</summary>
    [Id(0)] public long Cursor { get; init; }

    /// <summary>Shards waiting to be leased again, oldest first.</summary>
    [Id(1)] public IReadOnlyList<string>? Requeued { get; init; }
}
