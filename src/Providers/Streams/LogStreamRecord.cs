using System.Text;
using Orleans.Runtime;
using Orleans.Streams;

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

/// <summary>One record of the log on its way from a receiver to the subscribers of its partition's stream.</summary>
[GenerateSerializer, Immutable]
public sealed class LogBatchContainer : IBatchContainer
{
    /// <summary>Wraps <paramref name="record"/>.</summary>
    public LogBatchContainer(StreamId streamId, LogStreamRecord record)
    {
        StreamId = streamId;
        Record = record;
        Token = new LogSequenceToken(record.Offset);
    }

    /// <summary>The record.</summary>
    [Id(0)]
    public LogStreamRecord Record { get; }

    /// <inheritdoc/>
    [Id(1)]
    public StreamId StreamId { get; }

    /// <summary>The record's position.</summary>
    [Id(2)]
    public LogSequenceToken Token { get; }

    /// <inheritdoc/>
    public StreamSequenceToken SequenceToken => Token;

    /// <inheritdoc/>
    /// <remarks>Subscribers of <see cref="LogStreamRecord"/> (or <see cref="object"/>) get the record; others get nothing.</remarks>
    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>()
    {
        if (Record is T item)
        {
            yield return Tuple.Create(item, (StreamSequenceToken)Token);
        }
    }

    /// <inheritdoc/>
    /// <remarks>Records come from the log, which keeps no request context.</remarks>
    public bool ImportRequestContext() => false;
}
