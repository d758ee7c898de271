namespace OrleansShards.Core;

/// <summary>One record of the log.</summary>
/// <param name="Offset">Its offset in the partition.</param>
/// <param name="Value">Its UTF-8 JSON value.</param>
/// <param name="AppendedAt">When it was appended.</param>
[GenerateSerializer, Immutable, Alias("shards.LogRecord")]
public readonly record struct LogRecord([property: Id(0)] long Offset, [property: Id(1)] ReadOnlyMemory<byte> Value, [property: Id(2)] DateTimeOffset AppendedAt);
