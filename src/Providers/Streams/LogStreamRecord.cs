using System.Text;

namespace OrleansShards.Providers.Streams;

/// <summary>
/// A record of the log as a stream item. The value is the record's UTF-8 JSON exactly as stored (no decoding or
/// re-encoding on the way; <see cref="Json"/> gives it as text). A producer's <c>OnNextAsync</c> appends
/// <see cref="Value"/>; the topic, partition and offset it carries are ignored then (the stream names the
/// partition, the log assigns the offset).
/// </summary>
/// <param name="Topic">The topic.</param>
/// <param name="Partition">The partition.</param>
/// <param name="Offset">The record's offset in the partition.</param>
/// <param name="Value">The record's UTF-8 JSON value.</param>
/// <param name="AppendedAt">When it was appended.</param>
[GenerateSerializer, Immutable]
public sealed record LogStreamRecord(
    [property: Id(0)] string Topic,
    [property: Id(1)] int Partition,
    [property: Id(2)] long Offset,
    [property: Id(3)] ReadOnlyMemory<byte> Value,
    [property: Id(4)] DateTimeOffset AppendedAt)
{
    /// <summary>The value as JSON text.</summary>
    public string Json => Encoding.UTF8.GetString(Value.Span);

    /// <summary>A record to produce with <c>OnNextAsync</c>: only the value matters.</summary>
    public static LogStreamRecord FromJson(string json) => new(string.Empty, 0, 0, Encoding.UTF8.GetBytes(json), default);
}
