using System.Globalization;
using Orleans.Streams;

namespace OrleansShards.Providers.Streams;

/// <summary>
/// The position of a record in its partition's stream: the sequence number is the record's offset. Subscribe with
/// <c>new LogSequenceToken(offset)</c> to receive every record from that offset on.
/// </summary>
[GenerateSerializer, Immutable]
public sealed class LogSequenceToken : StreamSequenceToken
{
    /// <summary>The token of the record at <paramref name="offset"/>.</summary>
    public LogSequenceToken(long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        SequenceNumber = offset;
    }

    /// <summary>The record's offset in its partition.</summary>
    public long Offset => SequenceNumber;

    /// <inheritdoc/>
    [Id(0)]
    public override long SequenceNumber { get; protected set; }

    /// <summary>Always 0: a record is one event.</summary>
    [Id(1)]
    public override int EventIndex { get; protected set; }

    /// <inheritdoc/>
    /// <remarks>Equal to any token at the same position, whatever its type, so a subscriber may pass Orleans' own tokens.</remarks>
    public override bool Equals(StreamSequenceToken? other) =>
        other is not null && other.SequenceNumber == SequenceNumber && other.EventIndex == EventIndex;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is StreamSequenceToken token && Equals(token);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(SequenceNumber, EventIndex);

    /// <inheritdoc/>
    public override int CompareTo(StreamSequenceToken? other)
    {
        if (other is null)
        {
            return 1;
        }

        var difference = SequenceNumber.CompareTo(other.SequenceNumber);
        return difference != 0 ? difference : EventIndex.CompareTo(other.EventIndex);
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"[LogSequenceToken: Offset={SequenceNumber}]");
}
