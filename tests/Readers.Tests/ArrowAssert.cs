using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using OrleansShards.Readers.Arrow;
using ArrowBatch = Apache.Arrow.RecordBatch;

namespace OrleansShards.Readers.Tests;

/// <summary>
/// A batch's Arrow answer (<see cref="RecordBatch.ToArrow"/> written with <see cref="ArrowRecords.WriteStreamAsync"/>
/// and read back with <see cref="ArrowStreamReader"/>) compared value by value with its JSON answer.
/// </summary>
internal static class ArrowAssert
{
    /// <summary>The Arrow stream of <paramref name="rows"/> of a batch, read back.</summary>
    public static async Task<(Schema Schema, ArrowBatch Batch)> RoundTripAsync(RecordBatch batch, int[] rows)
    {
        using var arrow = batch.ToArrow(rows);
        var stream = new MemoryStream();
        await ArrowRecords.WriteStreamAsync(stream, arrow, null);
        stream.Position = 0;
        using var reader = new ArrowStreamReader(stream);
        var read = await reader.ReadNextRecordBatchAsync();
        Assert.NotNull(read);
        Assert.Null(await reader.ReadNextRecordBatchAsync());
        return (reader.Schema, read);
    }

    /// <summary>The JSON answer of <paramref name="rows"/> of a batch: one object per row.</summary>
    public static JsonElement[] Json(RecordBatch batch, int[] rows)
    {
        var records = new JsonElement[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                batch.WriteRecord(writer, rows[i]);
            }

            records[i] = JsonDocument.Parse(buffer.WrittenMemory).RootElement;
        }

        return records;
    }

    /// <summary>
    /// Reads <paramref name="rows"/> of a batch both ways and asserts every value equal; returns the Arrow schema.
    /// </summary>
    /// <param name="batch">The batch.</param>
    /// <param name="rows">The rows to compare (any order, repeats allowed).</param>
    /// <param name="binaryText">How the JSON answer writes a binary value (base64 unless told).</param>
    /// <param name="bareSingleValues">A list of one value is written bare in JSON (TFRecord features).</param>
    public static async Task<Schema> SameAsJsonAsync(RecordBatch batch, int[] rows, Func<Field, byte[], string>? binaryText = null, bool bareSingleValues = false)
    {
        var json = Json(batch, rows);
        var (schema, arrow) = await RoundTripAsync(batch, rows);
        using (arrow)
        {
            if (batch.ColumnNames is { } columns)
            {
                Assert.Equal(columns, schema.FieldsList.Select(f => f.Name));
            }

            SameValues(json, schema, arrow, binaryText, bareSingleValues);
        }

        return schema;
    }

    /// <summary>Asserts that every value of an Arrow answer equals the JSON answer's records, row by row.</summary>
    /// <param name="json">The JSON records.</param>
    /// <param name="schema">The Arrow schema.</param>
    /// <param name="arrow">The Arrow records.</param>
    /// <param name="binaryText">How the JSON answer writes a binary value (base64 unless told).</param>
    /// <param name="bareSingleValues">A list of one value is written bare in JSON (TFRecord features).</param>
    public static void SameValues(IReadOnlyList<JsonElement> json, Schema schema, ArrowBatch arrow, Func<Field, byte[], string>? binaryText = null, bool bareSingleValues = false)
    {
        Assert.Equal(json.Count, arrow.Length);
        var names = schema.FieldsList.Select(f => f.Name).ToList();
        for (var row = 0; row < json.Count; row++)
        {
            foreach (var property in json[row].EnumerateObject())
            {
                Assert.Contains(property.Name, names);
            }

            for (var c = 0; c < names.Count; c++)
            {
                var present = json[row].TryGetProperty(names[c], out var value);
                AssertValue(present ? value : default, arrow.Column(c), row, schema.FieldsList[c], binaryText ?? ((_, bytes) => Convert.ToBase64String(bytes)), bareSingleValues, $"row {row} column {names[c]}");
            }
        }
    }

    private static void AssertValue(JsonElement value, IArrowArray array, int index, Field field, Func<Field, byte[], string> binaryText, bool bareSingleValues, string where)
    {
        var isNull = value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null;
        Assert.True(isNull == array.IsNull(index), $"{where}: JSON {(isNull ? "null" : value.GetRawText())}, Arrow null={array.IsNull(index)}");
        if (isNull)
        {
            return;
        }

        var c = CultureInfo.InvariantCulture;
        switch (array)
        {
            case Int8Array a: Assert.Equal(value.GetDecimal(), a.GetValue(index)!.Value); break;
            case UInt8Array a: Assert.Equal(value.GetDecimal(), a.GetValue(index)!.Value); break;
            case Int16Array a: Assert.Equal(value.GetDecimal(), a.GetValue(index)!.Value); break;
            case UInt16Array a: Assert.Equal(value.GetDecimal(), a.GetValue(index)!.Value); break;
            case Int32Array a: Assert.Equal(value.GetInt64(), a.GetValue(index)!.Value); break;
            case UInt32Array a: Assert.Equal(value.GetInt64(), a.GetValue(index)!.Value); break;
            case Int64Array a: Assert.Equal(value.GetInt64(), a.GetValue(index)!.Value); break;
            case UInt64Array a: Assert.Equal(value.GetUInt64(), a.GetValue(index)!.Value); break;
            case BooleanArray a: Assert.Equal(value.GetBoolean(), a.GetValue(index)!.Value); break;
            case FloatArray a:
                var f = a.GetValue(index)!.Value;
                Assert.Equal(value.ValueKind == JsonValueKind.String ? float.Parse(value.GetString()!, c) : float.Parse(value.GetRawText(), c), f);
                break;
            case DoubleArray a:
                var d = a.GetValue(index)!.Value;
                Assert.Equal(value.ValueKind == JsonValueKind.String ? double.Parse(value.GetString()!, c) : value.GetDouble(), d);
                break;
            case Decimal128Array a: Assert.Equal(value.GetDecimal(), a.GetValue(index)!.Value); break;
            case TimestampArray a:
                var expected = DateTime.Parse(value.GetString()!, c, DateTimeStyles.RoundtripKind);
                var ts = a.GetTimestamp(index)!.Value;
                Assert.Equal(expected.Kind == DateTimeKind.Local ? expected.ToUniversalTime().Ticks : expected.Ticks, ts.UtcTicks);
                break;
            case Date32Array a:
                var day = value.GetString()!;
                Assert.Equal(day.Length == 10 ? DateOnly.Parse(day, c) : DateOnly.FromDateTime(DateTime.Parse(day, c, DateTimeStyles.RoundtripKind)), a.GetDateOnly(index)!.Value);
                break;
            case Time64Array a: Assert.Equal(TimeOnly.Parse(value.GetString()!, c), a.GetTime(index)!.Value); break;
            case StringArray a:
                var text = a.GetString(index);
                if (value.ValueKind == JsonValueKind.String)
                {
                    Assert.Equal(value.GetString(), text);
                }
                else
                {
                    Assert.Equal("true", field.Metadata?.GetValueOrDefault(ArrowRecords.JsonTextKey));
                    Assert.Equal(value.GetRawText(), text);
                }

                break;
            case BinaryArray a:
                Assert.Equal(value.GetString(), binaryText(field, a.GetBytes(index).ToArray()));
                break;
            case ListArray a:
                var items = a.GetSlicedValues(index);
                var itemField = ((ListType)field.DataType).ValueField;
                if (bareSingleValues && value.ValueKind != JsonValueKind.Array)
                {
                    Assert.Equal(1, items.Length);
                    AssertValue(value, items, 0, itemField, binaryText, bareSingleValues, $"{where}[0]");
                    break;
                }

                Assert.Equal(JsonValueKind.Array, value.ValueKind);
                Assert.Equal(value.GetArrayLength(), items.Length);
                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    AssertValue(item, items, i, itemField, binaryText, bareSingleValues, $"{where}[{i}]");
                    i++;
                }

                break;
            default:
                Assert.Fail($"{where}: unexpected Arrow type {field.DataType.Name}");
                break;
        }
    }
}
