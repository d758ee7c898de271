using Orleans.Streams;

namespace OrleansShards.Providers.Streams;

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
