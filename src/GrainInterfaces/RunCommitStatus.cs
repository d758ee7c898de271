namespace OrleansShards.GrainInterfaces;

/// <summary>A commit as the run's status shows it.</summary>
[GenerateSerializer, Immutable, Alias("OrleansShards.RunCommitStatus")]
public sealed record RunCommitStatus([property: Id(0)] int Epoch, [property: Id(1)] long Step, [property: Id(2)] string? Checkpoint);
