using System.Buffers;
using System.Buffers.Binary;
using System.Collections;
using System.Data.Common;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace OrleansShards.Readers.Sql;

/// <summary>SQL values as JSON, and key values as bytes to hash and compare.</summary>
internal static class SqlValues
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    /// <summary>A writer of single JSON values into a reusable buffer.</summary>
    internal sealed class ValueWriter : IDisposable
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(256);
        private readonly Utf8JsonWriter _writer;

        public ValueWriter() => _writer = new Utf8JsonWriter(_buffer, WriterOptions);

        /// <summary>Column <paramref name="ordinal"/> of the current row as one JSON value.</summary>
        public ReadOnlySpan<byte> Write(DbDataReader reader, int ordinal, SqlColumn column)
        {
            _buffer.ResetWrittenCount();
            _writer.Reset(_buffer);
            if (reader.IsDBNull(ordinal))
            {
                _writer.WriteNullValue();
            }
            else if (column.IsJson)
            {
                _writer.WriteRawValue(reader.GetString(ordinal), skipInputValidation: false);
            }
            else
            {
                WriteObject(_writer, reader.GetValue(ordinal));
            }

            _writer.Flush();
            return _buffer.WrittenSpan;
        }

        public void Dispose() => _writer.Dispose();
    }

    /// <summary>
    /// Writes a value as JSON: numbers as numbers (NaN and infinities as strings), booleans, text, binary as base64,
    /// dates and times in ISO 8601, arrays as arrays, anything else as its invariant text.
    /// </summary>
    public static void WriteObject(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null or DBNull:
                writer.WriteNullValue();
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case sbyte or byte or short or ushort or int or uint or long:
                writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case ulong u:
                writer.WriteNumberValue(u);
                break;
            case decimal m:
                writer.WriteNumberValue(m);
                break;
            case float f:
                WriteDouble(writer, f);
                break;
            case double d:
                WriteDouble(writer, d);
                break;
            case BigInteger big:
                writer.WriteRawValue(big.ToString(CultureInfo.InvariantCulture), skipInputValidation: true);
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case char c:
                writer.WriteStringValue(c.ToString());
                break;
            case byte[] bytes:
                writer.WriteBase64StringValue(bytes);
                break;
            case Guid g:
                writer.WriteStringValue(g);
                break;
            case DateTime t:
                writer.WriteStringValue(t);
                break;
            case DateTimeOffset o:
                writer.WriteStringValue(o);
                break;
            case DateOnly date:
                writer.WriteStringValue(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                break;
            case TimeOnly time:
                writer.WriteStringValue(time.ToString("HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture));
                break;
            case TimeSpan span:
                writer.WriteStringValue(span.ToString("c", CultureInfo.InvariantCulture));
                break;
            case BitArray bits:
                var text = new StringBuilder(bits.Length);
                foreach (bool bit in bits)
                {
                    text.Append(bit ? '1' : '0');
                }

                writer.WriteStringValue(text.ToString());
                break;
            case Array array:
                writer.WriteStartArray();
                foreach (var item in array)
                {
                    WriteObject(writer, item);
                }

                writer.WriteEndArray();
                break;
            default:
                writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static void WriteDouble(Utf8JsonWriter writer, double d)
    {
        if (double.IsFinite(d))
        {
            writer.WriteNumberValue(d);
        }
        else
        {
            writer.WriteStringValue(d.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// Appends a key value as bytes that are equal exactly when the values are the same key: a type tag and the value.
    /// Integral numbers share one tag whatever their width (SQLite compares 1 and 1.0 equal).
    /// </summary>
    public static void EncodeKey(object value, ArrayBufferWriter<byte> output)
    {
        switch (value)
        {
            case sbyte or byte or short or ushort or int or uint or long:
                Tagged(output, (byte)'i', Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case double d when Math.Floor(d) == d && d is >= long.MinValue and < long.MaxValue:
                Tagged(output, (byte)'i', (long)d);
                break;
            case float f when MathF.Floor(f) == f && f is >= long.MinValue and < long.MaxValue:
                Tagged(output, (byte)'i', (long)f);
                break;
            case double d:
                Tagged(output, (byte)'f', BitConverter.DoubleToInt64Bits(d));
                break;
            case float f:
                Tagged(output, (byte)'f', BitConverter.DoubleToInt64Bits(f));
                break;
            case ulong u:
                Tagged(output, (byte)'u', unchecked((long)u));
                break;
            case DateTime t:
                Tagged(output, (byte)'t', t.Ticks);
                break;
            case DateTimeOffset o:
                Tagged(output, (byte)'o', o.UtcTicks);
                break;
            case DateOnly date:
                Tagged(output, (byte)'D', date.DayNumber);
                break;
            case TimeOnly time:
                Tagged(output, (byte)'T', time.Ticks);
                break;
            case TimeSpan span:
                Tagged(output, (byte)'T', span.Ticks);
                break;
            case Guid g:
                output.GetSpan(1)[0] = (byte)'g';
                output.Advance(1);
                g.TryWriteBytes(output.GetSpan(16));
                output.Advance(16);
                break;
            case byte[] bytes:
                output.GetSpan(1)[0] = (byte)'b';
                output.Advance(1);
                output.Write(bytes);
                break;
            case decimal m:
                // Scale-normalised, so 1.0 and 1.00 are one key as they are in SQL.
                Text(output, (byte)'m', (m / 1.0000000000000000000000000000m).ToString(CultureInfo.InvariantCulture));
                break;
            case string s:
                Text(output, (byte)'s', s);
                break;
            default:
                Text(output, (byte)'x', Convert.ToString(value, CultureInfo.InvariantCulture) ?? "");
                break;
        }
    }

    /// <summary>A key value for a message: text quoted, anything else as JSON.</summary>
    public static string Display(object value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteObject(writer, value);
        }

        var json = Encoding.UTF8.GetString(buffer.WrittenSpan);
        return json.Length > 80 ? json[..77] + "..." : json;
    }

    private static void Tagged(ArrayBufferWriter<byte> output, byte tag, long value)
    {
        var span = output.GetSpan(9);
        span[0] = tag;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], value);
        output.Advance(9);
    }

    private static void Text(ArrayBufferWriter<byte> output, byte tag, string text)
    {
        output.GetSpan(1)[0] = tag;
        output.Advance(1);
        var count = Encoding.UTF8.GetByteCount(text);
        Encoding.UTF8.GetBytes(text, output.GetSpan(count));
        output.Advance(count);
    }
}
