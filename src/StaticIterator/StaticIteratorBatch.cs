using System.Buffers;
using System.Text.Json;
using OrleansShards.Readers;
using OrleansShards.Readers.Arrow;

namespace OrleansShards.StaticIteration;

/// <summary>One block read by the static iterator, shared by the batches that hold its rows; disposed with the last of them.</summary>
internal sealed class SharedBlock(RecordBatch batch, long firstRecord)
{
    private int _references = 1;

    public RecordBatch Batch { get; } = batch;

    /// <summary>The source index of the block's first record.</summary>
    public long FirstRecord { get; } = firstRecord;

    public void AddRef() => Interlocked.Increment(ref _references);

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Batch.Dispose();
        }
    }
}

/// <summary>
/// One batch of <see cref="StaticIterator"/>: records of the source, in the epoch's order, read as the reader
/// read them (values are not copied). Read them as text (<see cref="GetText"/>), as JSON (<see cref="WriteJson"/>,
/// <see cref="ToJson"/>) or as an Arrow record batch (<see cref="ToArrow"/>). Dispose it when done: that returns
/// the pooled buffers of its blocks. Not thread-safe.
/// </summary>
public sealed class StaticBatch : IDisposable
{
    private readonly SharedBlock[] _blocks;
    private readonly SharedBlock[] _rowBlocks;
    private readonly int[] _rows;
    private long[]? _recordIndexes;
    private bool _disposed;

    internal StaticBatch(int epoch, long index, SharedBlock[] blocks, SharedBlock[] rowBlocks, int[] rows)
    {
        Epoch = epoch;
        Index = index;
        _blocks = blocks;
        _rowBlocks = rowBlocks;
        _rows = rows;
    }

    /// <summary>The epoch, from 0.</summary>
    public int Epoch { get; }

    /// <summary>The index of the batch among this worker's batches of the epoch, from 0.</summary>
    public long Index { get; }

    /// <summary>The number of records.</summary>
    public int Count => _rows.Length;

    /// <summary>
    /// The source index of each record (its position in the concatenation of the files, see
    /// <see cref="StaticIterator"/>), in batch order.
    /// </summary>
    public IReadOnlyList<long> RecordIndexes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_recordIndexes is null)
            {
                var indexes = new long[_rows.Length];
                for (var i = 0; i < indexes.Length; i++)
                {
                    indexes[i] = _rowBlocks[i].FirstRecord + _rows[i];
                }

                _recordIndexes = indexes;
            }

            return _recordIndexes;
        }
    }

    private (RecordBatch Batch, int Row) At(int record)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(record);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(record, _rows.Length);
        return (_rowBlocks[record].Batch, _rows[record]);
    }

    /// <summary>The value of <paramref name="column"/> in record <paramref name="record"/> as text (see <see cref="RecordBatch.GetText"/>).</summary>
    public string? GetText(int record, string column)
    {
        var (batch, row) = At(record);
        return batch.GetText(row, column);
    }

    /// <summary>Writes record <paramref name="record"/> as one JSON object, as the HTTP API sends it.</summary>
    public void WriteRecord(Utf8JsonWriter writer, int record)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var (batch, row) = At(record);
        batch.WriteRecord(writer, row);
    }

    /// <summary>Writes the records as one JSON array of objects.</summary>
    public void WriteJson(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartArray();
        for (var i = 0; i < _rows.Length; i++)
        {
            WriteRecord(writer, i);
        }

        writer.WriteEndArray();
    }

    /// <summary>The records as a JSON document whose root is an array of objects; the caller disposes it.</summary>
    public JsonDocument ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteJson(writer);
        }

        return JsonDocument.Parse(buffer.WrittenMemory);
    }

    /// <summary>
    /// The records as one Arrow record batch that the caller owns and disposes, typed as the HTTP API's
    /// <c>format=arrow</c> types them (<see cref="RecordBatch.ToArrow"/>; a batch whose records come from several
    /// blocks is typed from their JSON, <see cref="ArrowRecords.FromJson"/>).
    /// </summary>
    public Apache.Arrow.RecordBatch ToArrow()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_blocks.Length == 1)
        {
            return _blocks[0].Batch.ToArrow(_rows);
        }

        var columns = _blocks.Length == 0 ? null : _blocks[0].Batch.ColumnNames;
        if (columns is not null && _blocks.Any(b => b.Batch.ColumnNames is not { } other || !other.SequenceEqual(columns)))
        {
            columns = null;
        }

        return ArrowRecords.FromJson(_rows.Length, WriteRecord, columns);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            foreach (var block in _blocks)
            {
                block.Release();
            }
        }
    }
}
