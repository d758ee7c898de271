using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace OrleansShards.Readers.TfRecord;

/// <summary>
/// A batch of TFRecord records, held as their raw data (already checked against their CRCs) in pooled chunks that the
/// file was read into: building a batch copies nothing. A record is decoded when it is written or asked for a value:
/// a <c>tf.train.Example</c> as one column per feature, any other record as one base64 <c>bytes</c> column.
/// </summary>
internal sealed class TfRecordBatch : RecordBatch
{
    /// <summary>The column of a record that is not an example.</summary>
    public const string BytesColumn = "bytes";

    private readonly string _path;
    private readonly List<byte[]> _chunks;
    private int[] _chunkOf;
    private int[] _start;
    private int[] _length;
    private readonly int _count;
    private readonly string[]? _columns;
    private readonly byte[][]? _columnBytes;
    private readonly JsonEncodedText[]? _columnNames;
    private int _disposed;

    internal TfRecordBatch(string path, List<byte[]> chunks, int[] chunkOf, int[] start, int[] length, int count, string[]? columns)
    {
        _path = path;
        _chunks = chunks;
        _chunkOf = chunkOf;
        _start = start;
        _length = length;
        _count = count;
        _columns = columns;
        if (columns is not null)
        {
            _columnBytes = [.. columns.Select(Encoding.UTF8.GetBytes)];
            _columnNames = [.. columns.Select(c => JsonEncodedText.Encode(c))];
        }
    }

    public override int Count => _count;

    /// <summary>The raw data of record <paramref name="row"/>.</summary>
    internal ReadOnlySpan<byte> GetRecordBytes(int row)
    {
        var (chunk, start, length) = Locate(row);
        return chunk.AsSpan(start, length);
    }

    /// <summary>The columns of a projected read, in its order; <see langword="null"/> without a projection.</summary>
    public override IReadOnlyList<string>? ColumnNames => _columns;

    /// <summary>Where the raw data of record <paramref name="row"/> lies.</summary>
    internal (byte[] Chunk, int Start, int Length) Segment(int row) => Locate(row);

    /// <summary>The rows as Arrow columns typed from the feature kinds (<see cref="TfRecordArrow"/>).</summary>
    public override Apache.Arrow.RecordBatch ToArrow(ReadOnlySpan<int> rows) => TfRecordArrow.Build(this, _columns, rows);

    private (byte[] Chunk, int Start, int Length) Locate(int row)
    {
        if ((uint)row >= (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(row), row, $"the batch has {_count} records");
        }

        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return (_chunks[_chunkOf[row]], _start[row], _length[row]);
    }

    public override void WriteRecord(Utf8JsonWriter writer, int row)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var (chunk, start, length) = Locate(row);
        var example = TfExample.Shared;
        var isExample = example.TryParse(chunk, start, length);
        writer.WriteStartObject();
        if (_columns is null)
        {
            if (isExample)
            {
                for (var f = 0; f < example.FeatureCount; f++)
                {
                    writer.WritePropertyName(example.Key(f));
                    WriteValue(writer, example, f);
                }
            }
            else
            {
                writer.WriteBase64String(BytesColumn, chunk.AsSpan(start, length));
            }
        }
        else
        {
            for (var c = 0; c < _columns.Length; c++)
            {
                writer.WritePropertyName(_columnNames![c]);
                if (isExample)
                {
                    var f = example.IndexOf(_columnBytes![c]);
                    if (f >= 0)
                    {
                        WriteValue(writer, example, f);
                    }
                    else
                    {
                        writer.WriteNullValue();
                    }
                }
                else if (_columns[c] == BytesColumn)
                {
                    writer.WriteBase64StringValue(chunk.AsSpan(start, length));
                }
                else
                {
                    writer.WriteNullValue();
                }
            }
        }

        writer.WriteEndObject();
    }

    public override string? GetText(int row, string column)
    {
        ArgumentNullException.ThrowIfNull(column);
        var (chunk, start, length) = Locate(row);
        if (_columns is not null && Array.IndexOf(_columns, column) < 0)
        {
            throw new ArgumentException($"{_path}: the batch has no column '{column}'; it has {string.Join(", ", _columns)}", nameof(column));
        }

        var example = TfExample.Shared;
        if (!example.TryParse(chunk, start, length))
        {
            return column == BytesColumn ? Convert.ToBase64String(chunk.AsSpan(start, length)) : null;
        }

        var f = example.IndexOf(Encoding.UTF8.GetBytes(column));
        if (f < 0)
        {
            return null;
        }

        var feature = example.Feature(f);
        if (feature.Kind == TfFeatureKind.None)
        {
            return null;
        }

        if (feature.Count == 1)
        {
            return feature.Kind switch
            {
                TfFeatureKind.Int64 => example.Int64(feature.First).ToString(CultureInfo.InvariantCulture),
                TfFeatureKind.Float => FloatText(example.Float(feature.First)),
                _ => BytesText(example.Bytes(feature.First)),
            };
        }

        // An array: its JSON, as the other readers give a value that is not a string.
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteValue(writer, example, f);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes a feature: null without a list, one value as a scalar, otherwise an array.</summary>
    internal static void WriteValue(Utf8JsonWriter writer, TfExample example, int f)
    {
        var feature = example.Feature(f);
        if (feature.Kind == TfFeatureKind.None)
        {
            writer.WriteNullValue();
            return;
        }

        var array = feature.Count != 1;
        if (array)
        {
            writer.WriteStartArray();
        }

        var end = feature.First + feature.Count;
        for (var i = feature.First; i < end; i++)
        {
            switch (feature.Kind)
            {
                case TfFeatureKind.Int64:
                    writer.WriteNumberValue(example.Int64(i));
                    break;
                case TfFeatureKind.Float:
                    var value = example.Float(i);
                    if (float.IsFinite(value))
                    {
                        writer.WriteNumberValue(value);
                    }
                    else
                    {
                        // JSON has no NaN or infinities: written as protobuf's JSON mapping writes them.
                        writer.WriteStringValue(FloatText(value));
                    }

                    break;
                default:
                    var bytes = example.Bytes(i);
                    if (Utf8.IsValid(bytes))
                    {
                        writer.WriteStringValue(bytes);
                    }
                    else
                    {
                        writer.WriteBase64StringValue(bytes);
                    }

                    break;
            }
        }

        if (array)
        {
            writer.WriteEndArray();
        }
    }

    private static string FloatText(float value) => float.IsNaN(value) ? "NaN"
        : float.IsPositiveInfinity(value) ? "Infinity"
        : float.IsNegativeInfinity(value) ? "-Infinity"
        : value.ToString(CultureInfo.InvariantCulture);

    private static string BytesText(ReadOnlySpan<byte> bytes) => Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : Convert.ToBase64String(bytes);

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            foreach (var chunk in _chunks)
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }

            _chunks.Clear();
            ArrayPool<int>.Shared.Return(_chunkOf);
            ArrayPool<int>.Shared.Return(_start);
            ArrayPool<int>.Shared.Return(_length);
            _chunkOf = _start = _length = [];
        }

        base.Dispose();
    }
}
