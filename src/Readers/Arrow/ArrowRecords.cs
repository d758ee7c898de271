using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using ArrowBatch = Apache.Arrow.RecordBatch;

namespace OrleansShards.Readers.Arrow;

/// <summary>Writes record <paramref name="index"/> of a set of records as one JSON object.</summary>
/// <param name="writer">The writer to write the object to.</param>
/// <param name="index">The index of the record, from 0.</param>
public delegate void JsonRecordWriter(Utf8JsonWriter writer, int index);

/// <summary>
/// The Arrow side of the wire format: records turned into Arrow record batches and written as an Arrow IPC stream
/// (<see cref="MediaType"/>), which <c>pyarrow.ipc.open_stream</c> reads.
/// </summary>
/// <remarks>
/// How JSON values become Arrow columns (<see cref="FromJson"/>): a column whose values are all <c>true</c>/<c>false</c>
/// is <c>bool</c>; all integers that fit 64 bits, <c>int64</c>; numbers otherwise (a fraction, an exponent, a larger
/// integer), <c>float64</c>; all strings, <c>utf8</c>. Anything else (objects, arrays, or a mix of kinds) is a
/// <c>utf8</c> column whose strings are the text of string values and the JSON text of the other values (as
/// <see cref="RecordBatch.GetText"/> gives them); its field carries the metadata <see cref="JsonTextKey"/> =
/// <c>"true"</c>. A JSON <c>null</c> or a missing property is an Arrow null; a column without any value is <c>utf8</c>
/// of nulls. Every field is nullable.
/// </remarks>
public static class ArrowRecords
{
    /// <summary>The media type of an Arrow IPC stream.</summary>
    public const string MediaType = "application/vnd.apache.arrow.stream";

    /// <summary>Field metadata key: the utf8 column holds the JSON text of values that are not strings.</summary>
    public const string JsonTextKey = "orleansshards.json_text";

    /// <summary>Schema metadata key of a page of records: the offset of the next page, present when records remain.</summary>
    public const string NextOffsetKey = "nextOffset";

    private enum Kind : byte
    {
        None,
        Bool,
        Int,
        Float,
        String,
        Text,
    }

    /// <summary>
    /// Builds an Arrow record batch of <paramref name="count"/> records given as JSON objects, typing the columns
    /// from their values (see the remarks of <see cref="ArrowRecords"/>).
    /// </summary>
    /// <param name="count">The number of records.</param>
    /// <param name="write">Writes record <c>i</c> as one JSON object.</param>
    /// <param name="columns">
    /// The columns, in order, when every record has exactly these (other properties are ignored);
    /// <see langword="null"/> to take the union of the records' properties in the order they are first seen (when a
    /// record names a property twice, its first value counts).
    /// </param>
    /// <param name="limits">
    /// The bounds of the answer (<see cref="ReadLimits.ArrowMaxColumns"/>, <see cref="ReadLimits.ArrowMaxBytes"/>);
    /// <see langword="null"/> for those of the innermost <see cref="Bound"/> scope, else the defaults.
    /// </param>
    /// <remarks>
    /// Memory is the records' JSON text plus the present values, column by column: a property a record lacks costs its
    /// column a null bit and an empty slot, and the number of columns and the bytes of the answer are bounded before
    /// any column is built.
    /// </remarks>
    /// <exception cref="ArrowAnswerTooLargeException">More columns or bytes than <paramref name="limits"/> allow.</exception>
    public static ArrowBatch FromJson(int count, JsonRecordWriter write, IReadOnlyList<string>? columns = null, ReadLimits? limits = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentNullException.ThrowIfNull(write);
        limits ??= CurrentLimits.Value ?? DefaultLimits;
        var buffer = new ArrayBufferWriter<byte>(256 + (64 * Math.Min(count, 1 << 16)));
        var ends = new int[count];
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            for (var i = 0; i < count; i++)
            {
                write(writer, i);
                writer.Flush();
                writer.Reset();
                ends[i] = buffer.WrittenCount;
                if (buffer.WrittenCount > limits.ArrowMaxBytes)
                {
                    throw TooManyBytes(limits, buffer.WrittenCount, i + 1, count);
                }
            }
        }

        var json = buffer.WrittenSpan;
        var names = new List<string>(columns ?? []);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var c = 0; c < names.Count; c++)
        {
            index.TryAdd(names[c], c);
        }

        var fixedColumns = columns is not null;
        if (names.Count > limits.ArrowMaxColumns)
        {
            throw TooManyColumns(limits);
        }

        var kinds = new List<Kind>(names.Select(_ => Kind.None));
        var lastRow = new List<int>(names.Select(_ => -1));

        // The present values of each column, in row order: a missing property costs nothing here.
        var byColumn = new List<List<Cell>>(names.Select(_ => new List<Cell>()));
        for (var row = 0; row < count; row++)
        {
            var start = row == 0 ? 0 : ends[row - 1];
            var record = json[start..ends[row]];
            var reader = new Utf8JsonReader(record);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InvalidOperationException($"record {row} is not a JSON object; Arrow columns need objects");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                var token = reader.TokenType;
                var valueStart = (int)reader.TokenStartIndex;
                if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }

                var valueEnd = (int)reader.BytesConsumed;
                if (!index.TryGetValue(name, out var column))
                {
                    if (fixedColumns)
                    {
                        continue;
                    }

                    if (names.Count == limits.ArrowMaxColumns)
                    {
                        throw TooManyColumns(limits);
                    }

                    column = names.Count;
                    index.Add(name, column);
                    names.Add(name);
                    kinds.Add(Kind.None);
                    lastRow.Add(-1);
                    byColumn.Add([]);
                }

                if (lastRow[column] == row)
                {
                    continue; // the first occurrence of a property counts
                }

                lastRow[column] = row;
                if (token != JsonTokenType.Null)
                {
                    var kind = token switch
                    {
                        JsonTokenType.True or JsonTokenType.False => Kind.Bool,
                        JsonTokenType.Number => reader.TryGetInt64(out _) ? Kind.Int : Kind.Float,
                        JsonTokenType.String => Kind.String,
                        _ => Kind.Text,
                    };
                    kinds[column] = Merge(kinds[column], kind);
                    byColumn[column].Add(new Cell(row, start + valueStart, start + valueEnd, token));
                }
            }
        }

        var width = names.Count;
        var bytes = 0L;
        for (var c = 0; c < width; c++)
        {
            // Each column: a validity bit a row and a slot a row (8 bytes of a number, 4 of a string's offset), plus
            // a string column's values.
            bytes += (count + 7) / 8 + (kinds[c] switch
            {
                Kind.Bool => (count + 7) / 8,
                Kind.Int or Kind.Float => 8L * count,
                _ => (4L * (count + 1)) + byColumn[c].Sum(cell => (long)(cell.End - cell.Start)),
            });
        }

        if (bytes > limits.ArrowMaxBytes)
        {
            throw TooManyBytes(limits, bytes, count, count);
        }

        var fields = new List<Field>(width);
        var arrays = new List<IArrowArray>(width);
        for (var c = 0; c < width; c++)
        {
            var kind = kinds[c];
            var cells = byColumn[c];
            var next = 0;
            switch (kind)
            {
                case Kind.Bool:
                {
                    var builder = new BooleanArray.Builder().Reserve(count);
                    for (var row = 0; row < count; row++)
                    {
                        var cell = next < cells.Count && cells[next].Row == row ? next++ : -1;
                        if (cell < 0)
                        {
                            builder.AppendNull();
                        }
                        else
                        {
                            builder.Append(cells[cell].Token == JsonTokenType.True);
                        }
                    }

                    fields.Add(new Field(names[c], BooleanType.Default, nullable: true));
                    arrays.Add(builder.Build());
                    break;
                }

                case Kind.Int:
                case Kind.Float:
                {
                    IArrowArray array;
                    if (kind == Kind.Int)
                    {
                        var builder = new Int64Array.Builder().Reserve(count);
                        for (var row = 0; row < count; row++)
                        {
                            var cell = next < cells.Count && cells[next].Row == row ? next++ : -1;
                            if (cell < 0)
                            {
                                builder.AppendNull();
                            }
                            else
                            {
                                var reader = new Utf8JsonReader(json[cells[cell].Start..cells[cell].End]);
                                reader.Read();
                                builder.Append(reader.GetInt64());
                            }
                        }

                        array = builder.Build();
                    }
                    else
                    {
                        var builder = new DoubleArray.Builder().Reserve(count);
                        for (var row = 0; row < count; row++)
                        {
                            var cell = next < cells.Count && cells[next].Row == row ? next++ : -1;
                            if (cell < 0)
                            {
                                builder.AppendNull();
                            }
                            else
                            {
                                var reader = new Utf8JsonReader(json[cells[cell].Start..cells[cell].End]);
                                reader.Read();
                                builder.Append(reader.GetDouble());
                            }
                        }

                        array = builder.Build();
                    }

                    fields.Add(new Field(names[c], kind == Kind.Int ? Int64Type.Default : DoubleType.Default, nullable: true));
                    arrays.Add(array);
                    break;
                }

                default:
                {
                    var builder = new StringArray.Builder();
                    for (var row = 0; row < count; row++)
                    {
                        var cell = next < cells.Count && cells[next].Row == row ? next++ : -1;
                        if (cell < 0)
                        {
                            builder.AppendNull();
                            continue;
                        }

                        var value = json[cells[cell].Start..cells[cell].End];
                        if (cells[cell].Token == JsonTokenType.String)
                        {
                            var reader = new Utf8JsonReader(value);
                            reader.Read();
                            if (!reader.ValueIsEscaped)
                            {
                                builder.Append(reader.ValueSpan);
                            }
                            else
                            {
                                builder.Append(reader.GetString(), Encoding.UTF8);
                            }
                        }
                        else
                        {
                            builder.Append(value);
                        }
                    }

                    fields.Add(kind == Kind.Text
                        ? new Field(names[c], StringType.Default, nullable: true, [new KeyValuePair<string, string>(JsonTextKey, "true")])
                        : new Field(names[c], StringType.Default, nullable: true));
                    arrays.Add(builder.Build());
                    break;
                }
            }

            byColumn[c] = []; // the cells of a built column are garbage from here
        }

        return new ArrowBatch(new Schema(fields, null), arrays, count);
    }

    /// <summary>The bounds <see cref="FromJson"/> applies when given none, for the scope of the returned handle (this async flow only).</summary>
    /// <param name="limits">The bounds.</param>
    /// <returns>Restores the previous bounds when disposed.</returns>
    public static IDisposable Bound(ReadLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var previous = CurrentLimits.Value;
        CurrentLimits.Value = limits;
        return new Restore(previous);
    }

    private static readonly ReadLimits DefaultLimits = new();
    private static readonly AsyncLocal<ReadLimits?> CurrentLimits = new();

    private sealed class Restore(ReadLimits? previous) : IDisposable
    {
        public void Dispose() => CurrentLimits.Value = previous;
    }

    private readonly record struct Cell(int Row, int Start, int End, JsonTokenType Token);

    private static ArrowAnswerTooLargeException TooManyColumns(ReadLimits limits) => new(
        "ArrowMaxColumns",
        $"the records have more than {limits.ArrowMaxColumns} distinct properties (Shards:Reads:ArrowMaxColumns), too many for one Arrow answer; name the columns you want with columns=a,b,...");

    private static ArrowAnswerTooLargeException TooManyBytes(ReadLimits limits, long bytes, int records, int count) => new(
        "ArrowMaxBytes",
        $"the Arrow answer would hold more than {limits.ArrowMaxBytes} bytes ({bytes} at record {records} of {count}; Shards:Reads:ArrowMaxBytes); ask for fewer records with limit= or fewer columns with columns=");

    private static Kind Merge(Kind current, Kind next) => (current, next) switch
    {
        (Kind.None, _) => next,
        _ when current == next => current,
        (Kind.Int, Kind.Float) or (Kind.Float, Kind.Int) => Kind.Float,
        _ => Kind.Text,
    };

    /// <summary>Appends UTF-8 bytes as one string value; bytes that are not valid UTF-8 become U+FFFD, as in JSON.</summary>
    /// <param name="builder">The column's builder.</param>
    /// <param name="utf8">The value's bytes.</param>
    public static void AppendUtf8(StringArray.Builder builder, ReadOnlySpan<byte> utf8)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (Utf8.IsValid(utf8))
        {
            builder.Append(utf8);
        }
        else
        {
            builder.Append(Encoding.UTF8.GetString(utf8), Encoding.UTF8);
        }
    }

    /// <summary>
    /// Writes <paramref name="batch"/> as a whole Arrow IPC stream (schema, the batch, end of stream), with
    /// <paramref name="metadata"/> added to the schema's. Uses asynchronous writes only, so it can write to an
    /// HTTP response body. The batch stays the caller's.
    /// </summary>
    /// <param name="stream">The stream to write to; it is left open.</param>
    /// <param name="batch">The records.</param>
    /// <param name="metadata">Schema metadata to add (for example <see cref="NextOffsetKey"/>); may be empty.</param>
    /// <param name="cancellationToken">Cancels the writes.</param>
    public static async Task WriteStreamAsync(Stream stream, ArrowBatch batch, IEnumerable<KeyValuePair<string, string>>? metadata, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(batch);
        var merged = new Dictionary<string, string>(StringComparer.Ordinal);
        if (batch.Schema.HasMetadata)
        {
            foreach (var (key, value) in batch.Schema.Metadata)
            {
                merged[key] = value;
            }
        }

        foreach (var (key, value) in metadata ?? [])
        {
            merged[key] = value;
        }

        var schema = new Schema(batch.Schema.FieldsList, merged.Count == 0 ? null : merged);

        // The same arrays under the schema with metadata; not disposed here: the arrays are the caller's batch's.
        var withMetadata = new ArrowBatch(schema, batch.Arrays, batch.Length);
        using var writer = new ArrowStreamWriter(stream, schema, leaveOpen: true);
        await writer.WriteRecordBatchAsync(withMetadata, cancellationToken).ConfigureAwait(false);
        await writer.WriteEndAsync(cancellationToken).ConfigureAwait(false);
    }
}
