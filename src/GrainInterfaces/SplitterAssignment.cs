using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>What a splitter is asked to cut.</summary>
[GenerateSerializer, Immutable, Alias("shards.SplitterAssignment")]
public sealed record SplitterAssignment([property: Id(0)] string JobId, [property: Id(1)] int Partition, [property: Id(2)] string Path, [property: Id(3)] SourceSpec Source);
