using System.Text.Json;
using OrleansShards.Readers;
using OrleansShards.Readers.Arrow;

namespace OrleansShards.Grains;

/// <summary>The records of one rank's batch, ready to be written out as JSON or Arrow.</summary>
public sealed class RunBatch
{
    private readonly RecordBatch[] _sources;
    private readonly int[] _rows;
    private readonly string[]? _origins;

    internal RunBatch(RecordBatch[] sources, int[] rows, bool fromMemory, string[]? origins = null)
    {
        _sources = sources;
        _rows = rows;
        FromMemory = fromMemory;
        _origins = origins;
    }

    /// <summary>The records of the batch (G/W).</summary>
    public int Count => _rows.Length;

    /// <summary>Whether every shard of the batch was in memory already (read ahead or read for another rank).</summary>
    public bool FromMemory { get; }

    /// <summary>Writes the records as a JSON array, in the order of the epoch's global order.</summary>
    public void WriteRecords(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartArray();
        for (var i = 0; i < _rows.Length; i++)
        {
            WriteRecord(writer, i);
        }

        writer.WriteEndArray();
    }

    /// <summary>The text of <paramref name="column"/> in record <paramref name="index"/> of the batch.</summary>
    public string? GetText(int index, string column) => _sources[index].GetText(_rows[index], column);

    /// <summary>
    /// Writes the batch as an Arrow IPC stream (<see cref="ArrowRecords.MediaType"/>) of one record batch. A batch of one
    /// shard uses the source's own Arrow columns; a batch that mixes shards is typed from its JSON values
    /// (<see cref="ArrowRecords.FromJson"/>), like a page of a schemaless source.
    /// </summary>
    public async Task WriteArrowAsync(Stream stream, IEnumerable<KeyValuePair<string, string>> metadata, CancellationToken cancellationToken)
    {
        using var arrow = _origins is null && _sources.Length > 0 && _sources.All(s => ReferenceEquals(s, _sources[0]))
            ? _sources[0].ToArrow(_rows)
            : ArrowRecords.FromJson(_rows.Length, WriteRecord, ColumnNames());
        await ArrowRecords.WriteStreamAsync(stream, arrow, metadata, cancellationToken);
    }

    // The first shard's columns; over a mixture the union of the records' properties (sources may differ in columns).
    private IReadOnlyList<string>? ColumnNames() => _origins is null && _sources.Length > 0 ? _sources[0].ColumnNames : null;

    // A record of a mixture carries its source's name in `_source` (added after the record's own fields).
    private void WriteRecord(Utf8JsonWriter writer, int index)
    {
        if (_origins is null)
        {
            _sources[index].WriteRecord(writer, _rows[index]);
            return;
        }

        MixtureColumn.WriteWithSource(writer, _sources[index], _rows[index], _origins[index]);
    }
}
