namespace OrleansShards.Core;

/// <summary>The offsets given to an append: <c>[FirstOffset, NextOffset)</c>.</summary>
/// <param name="FirstOffset">The offset of the first appended record.</param>
/// <param name="NextOffset">One past the last appended record: the new high-water mark.</param>
[GenerateSerializer, Immutable, Alias("shards.AppendResult")]
public readonly record struct AppendResult([property: Id(0)] long FirstOffset, [property: Id(1)] long NextOffset);
