namespace OrleansShards.GrainInterfaces;

/// <summary>A splitter's offsets.</summary>
[GenerateSerializer, Immutable, Alias("shards.SplitterStatus")]
public sealed record SplitterStatus([property: Id(0)] int Partition, [property: Id(1)] string? Path, [property: Id(2)] long SplitUpTo, [property: Id(3)] bool Acknowledged);
