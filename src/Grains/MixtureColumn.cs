using System.Buffers;
using System.Text;
using System.Text.Json;
using OrleansShards.Readers;

namespace OrleansShards.Grains;

/// <summary>The <c>_source</c> column every record of a mixture carries (issue 15): the name of the source it came from.</summary>
internal static class MixtureColumn
{
    /// <summary>The column's name.</summary>
    public const string Name = "_source";

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_record;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_spliced;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>
    /// Writes record <paramref name="row"/> of <paramref name="batch"/> with <c>"_source": source</c> after its own
    /// fields (a record that is not a JSON object is wrapped as <c>{"value": …, "_source": …}</c>). Source names are
    /// letters, digits, '-', '_' and '.', so they need no escaping.
    /// </summary>
    public static void WriteWithSource(Utf8JsonWriter writer, RecordBatch batch, int row, string source)
    {
        var record = t_record ??= new ArrayBufferWriter<byte>(256);
        record.ResetWrittenCount();
        var inner = t_writer ??= new Utf8JsonWriter(record, new JsonWriterOptions { SkipValidation = true });
        inner.Reset(record);
        batch.WriteRecord(inner, row);
        inner.Flush();
        var json = record.WrittenSpan.Trim(" \t\r\n"u8);
        var spliced = t_spliced ??= new ArrayBufferWriter<byte>(256);
        spliced.ResetWrittenCount();
        if (json.Length >= 2 && json[0] == (byte)'{' && json[^1] == (byte)'}')
        {
            // The record's own text up to its closing brace, then the column.
            spliced.Write(json[..^1]);
            if (!json[1..^1].Trim(" \t\r\n"u8).IsEmpty)
            {
                spliced.Write(","u8);
            }
        }
        else
        {
            spliced.Write("{\"value\":"u8);
            spliced.Write(json);
            spliced.Write(","u8);
        }

        spliced.Write("\"_source\":\""u8);
        var name = spliced.GetSpan(Encoding.UTF8.GetMaxByteCount(source.Length));
        spliced.Advance(Encoding.UTF8.GetBytes(source, name));
        spliced.Write("\"}"u8);
        writer.WriteRawValue(spliced.WrittenSpan, skipInputValidation: true);
    }
}
