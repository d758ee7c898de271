namespace OrleansShards.Core;

/// <summary>A commit of a run in a checkpoint document.</summary>
/// <param name="Epoch">The epoch.</param>
/// <param name="Step">The step.</param>
/// <param name="Checkpoint">The trainer's checkpoint name, when it gave one.</param>
[GenerateSerializer, Immutable]
public sealed record CheckpointRunCommit([property: Id(0)] int Epoch, [property: Id(1)] long Step, [property: Id(2)] string? Checkpoint);
