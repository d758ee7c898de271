namespace OrleansShards.Core;

/// <summary>The retained range of a partition: <c>[FirstRetained, HighWatermark)</c>.</summary>
/// <param name="FirstRetained">The lowest offset still readable.</param>
/// <param name="HighWatermark">The offset the next append gets.</param>
[GenerateSerializer, Immutable, Alias("shards.PartitionBounds")]
public readonly record struct PartitionBounds([property: Id(0)] long FirstRetained, [property: Id(1)] long HighWatermark);
