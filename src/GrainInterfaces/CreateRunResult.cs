namespace OrleansShards.GrainInterfaces;

/// <summary>The answer to creating a run.</summary>
[GenerateSerializer, Immutable, Alias("OrleansShards.CreateRunResult")]
public sealed record CreateRunResult([property: Id(0)] bool Created, [property: Id(1)] RunStatus Status);
