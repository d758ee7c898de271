using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using OrleansShards.Readers.Arrow;
using Parquet.Schema;
using Field = Apache.Arrow.Field;

namespace OrleansShards.Readers.Parquet;

/// <summary>
/// Arrow columns of Parquet data, typed from the Parquet schema and appended from the decoded column chunks (no JSON,
/// no boxed cells).
/// </summary>
/// <remarks>
/// Types: <c>bool</c>; signed and unsigned 8 to 64 bit integers as the same Arrow integers; <c>float16</c>,
/// <c>float32</c>, <c>float64</c>; <c>DECIMAL(p, s)</c> as <c>decimal128(p, s)</c>, and a decimal wider than .NET's
/// as <c>utf8</c> holding its number text (field metadata <see cref="ArrowRecords.JsonTextKey"/>, as the JSON answer
/// writes it as a number); strings <c>utf8</c>; byte arrays <c>binary</c>; timestamps <c>timestamp</c> in the file's
/// unit (<c>INT96</c>: nanoseconds), with time zone <c>UTC</c> when the file says they are adjusted to UTC and without
/// one otherwise (the JSON answer writes the same instant without a zone); <c>DATE</c> <c>date32</c>; <c>TIME</c> <c>time64[us]</c>; UUIDs <c>utf8</c> in their 36-character
/// form (as in JSON). A list of primitives is an Arrow <c>list</c> of the item type (a null list, an empty list and a
/// null item stay as they are). Every field is nullable.
/// </remarks>
internal static class ParquetArrow
{
    [ThreadStatic]
    private static byte[]? t_utf8;

    /// <summary>The Arrow type of the values of <paramref name="leaf"/>, and field metadata if any.</summary>
    public static (IArrowType Type, IReadOnlyDictionary<string, string>? Metadata) ValueType(DataField leaf)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        var clr = leaf.ClrType;
        IArrowType type = clr switch
        {
            _ when clr == typeof(bool) => BooleanType.Default,
            _ when clr == typeof(sbyte) => Int8Type.Default,
            _ when clr == typeof(byte) => UInt8Type.Default,
            _ when clr == typeof(short) => Int16Type.Default,
            _ when clr == typeof(ushort) => UInt16Type.Default,
            _ when clr == typeof(int) => Int32Type.Default,
            _ when clr == typeof(uint) => UInt32Type.Default,
            _ when clr == typeof(long) => Int64Type.Default,
            _ when clr == typeof(ulong) => UInt64Type.Default,
            _ when clr == typeof(Half) => HalfFloatType.Default,
            _ when clr == typeof(float) => FloatType.Default,
            _ when clr == typeof(double) => DoubleType.Default,
            _ when clr == typeof(decimal) => leaf is DecimalDataField d && d.Precision is > 0 and <= 38 && d.Scale >= 0 && d.Scale <= d.Precision
                ? new Decimal128Type(d.Precision, d.Scale)
                : new Decimal128Type(38, 10),
            _ when clr == typeof(DateTime) && leaf is DateTimeDataField { DateTimeFormat: DateTimeFormat.Date } => Date32Type.Default,
            _ when clr == typeof(DateTime) => Timestamp(leaf),
            _ when clr == typeof(DateOnly) => Date32Type.Default,
            _ when clr == typeof(TimeOnly) || clr == typeof(TimeSpan) => new Time64Type(TimeUnit.Microsecond),
            _ when clr == typeof(ReadOnlyMemory<byte>) => BinaryType.Default,
            _ => StringType.Default, // strings, UUIDs, wide decimals
        };
        var metadata = clr == typeof(BigInteger) ? new Dictionary<string, string> { [ArrowRecords.JsonTextKey] = "true" } : null;
        return (type, metadata);
    }

    private static TimestampType Timestamp(DataField leaf)
    {
        if (leaf is not DateTimeDataField field)
        {
            return new TimestampType(TimeUnit.Microsecond, (string?)null);
        }

        var unit = field.Unit switch
        {
            DateTimeTimeUnit.Millis => TimeUnit.Millisecond,
            DateTimeTimeUnit.Nanos => TimeUnit.Nanosecond,
            DateTimeTimeUnit.Micros => TimeUnit.Microsecond,
            _ => field.DateTimeFormat switch
            {
                DateTimeFormat.Impala => TimeUnit.Nanosecond,
                DateTimeFormat.DateAndTime => TimeUnit.Millisecond,
                _ => TimeUnit.Microsecond,
            },
        };
        return new TimestampType(unit, field.IsAdjustedToUTC ? "UTC" : null);
    }

    /// <summary>The field of a column: its value type, or a list of it.</summary>
    public static Field Field(ParquetColumnPlan plan) => new(
        plan.Name,
        plan.IsList ? new ListType(new Field("item", plan.ArrowValueType, nullable: true)) : plan.ArrowValueType,
        nullable: true,
        plan.ArrowMetadata);

    /// <summary>A builder for the column of <paramref name="plan"/>, as <see cref="ParquetChunk.AppendArrow(IArrowArrayBuilder, int)"/> expects it.</summary>
    public static IArrowArrayBuilder CreateBuilder(ParquetColumnPlan plan) => plan.IsList
        ? new ListArray.Builder(new Field("item", plan.ArrowValueType, nullable: true))
        : CreateValueBuilder(plan.ArrowValueType);

    private static IArrowArrayBuilder CreateValueBuilder(IArrowType type) => type switch
    {
        BooleanType => new BooleanArray.Builder(),
        Int8Type => new Int8Array.Builder(),
        UInt8Type => new UInt8Array.Builder(),
        Int16Type => new Int16Array.Builder(),
        UInt16Type => new UInt16Array.Builder(),
        Int32Type => new Int32Array.Builder(),
        UInt32Type => new UInt32Array.Builder(),
        Int64Type => new Int64Array.Builder(),
        UInt64Type => new UInt64Array.Builder(),
        HalfFloatType => new HalfFloatArray.Builder(),
        FloatType => new FloatArray.Builder(),
        DoubleType => new DoubleArray.Builder(),
        Decimal128Type d => new Decimal128Array.Builder(d),
        TimestampType t => new TimestampArray.Builder(t),
        Date32Type => new Date32Array.Builder(),
        Time64Type t => new Time64Array.Builder(t),
        BinaryType => new BinaryArray.Builder(),
        _ => new StringArray.Builder(),
    };

    /// <summary>Builds the array of a builder made by <see cref="CreateBuilder(ParquetColumnPlan)"/>.</summary>
    public static IArrowArray Build(IArrowArrayBuilder builder) => builder switch
    {
        ListArray.Builder b => b.Build(),
        BooleanArray.Builder b => b.Build(),
        Int8Array.Builder b => b.Build(),
        UInt8Array.Builder b => b.Build(),
        Int16Array.Builder b => b.Build(),
        UInt16Array.Builder b => b.Build(),
        Int32Array.Builder b => b.Build(),
        UInt32Array.Builder b => b.Build(),
        Int64Array.Builder b => b.Build(),
        UInt64Array.Builder b => b.Build(),
        HalfFloatArray.Builder b => b.Build(),
        FloatArray.Builder b => b.Build(),
        DoubleArray.Builder b => b.Build(),
        Decimal128Array.Builder b => b.Build(),
        TimestampArray.Builder b => b.Build(),
        Date32Array.Builder b => b.Build(),
        Time64Array.Builder b => b.Build(),
        BinaryArray.Builder b => b.Build(),
        StringArray.Builder b => b.Build(),
        _ => throw new InvalidOperationException($"no Arrow array for a {builder.GetType().Name}"),
    };

    /// <summary>Appends one value of type <typeparamref name="T"/> (the JIT keeps only the branch of T).</summary>
    public static void Append<T>(IArrowArrayBuilder builder, ref T value)
        where T : struct
    {
        if (typeof(T) == typeof(long))
        {
            ((Int64Array.Builder)builder).Append(Unsafe.As<T, long>(ref value));
        }
        else if (typeof(T) == typeof(int))
        {
            ((Int32Array.Builder)builder).Append(Unsafe.As<T, int>(ref value));
        }
        else if (typeof(T) == typeof(double))
        {
            ((DoubleArray.Builder)builder).Append(Unsafe.As<T, double>(ref value));
        }
        else if (typeof(T) == typeof(float))
        {
            ((FloatArray.Builder)builder).Append(Unsafe.As<T, float>(ref value));
        }
        else if (typeof(T) == typeof(bool))
        {
            ((BooleanArray.Builder)builder).Append(Unsafe.As<T, bool>(ref value));
        }
        else if (typeof(T) == typeof(ReadOnlyMemory<char>))
        {
            AppendChars((StringArray.Builder)builder, Unsafe.As<T, ReadOnlyMemory<char>>(ref value).Span);
        }
        else if (typeof(T) == typeof(ReadOnlyMemory<byte>))
        {
            ((BinaryArray.Builder)builder).Append(Unsafe.As<T, ReadOnlyMemory<byte>>(ref value).Span);
        }
        else if (typeof(T) == typeof(sbyte))
        {
            ((Int8Array.Builder)builder).Append(Unsafe.As<T, sbyte>(ref value));
        }
        else if (typeof(T) == typeof(byte))
        {
            ((UInt8Array.Builder)builder).Append(Unsafe.As<T, byte>(ref value));
        }
        else if (typeof(T) == typeof(short))
        {
            ((Int16Array.Builder)builder).Append(Unsafe.As<T, short>(ref value));
        }
        else if (typeof(T) == typeof(ushort))
        {
            ((UInt16Array.Builder)builder).Append(Unsafe.As<T, ushort>(ref value));
        }
        else if (typeof(T) == typeof(uint))
        {
            ((UInt32Array.Builder)builder).Append(Unsafe.As<T, uint>(ref value));
        }
        else if (typeof(T) == typeof(ulong))
        {
            ((UInt64Array.Builder)builder).Append(Unsafe.As<T, ulong>(ref value));
        }
        else if (typeof(T) == typeof(Half))
        {
            ((HalfFloatArray.Builder)builder).Append(Unsafe.As<T, Half>(ref value));
        }
        else if (typeof(T) == typeof(decimal))
        {
            ((Decimal128Array.Builder)builder).Append(Unsafe.As<T, decimal>(ref value));
        }
        else if (typeof(T) == typeof(DateTime))
        {
            var time = Unsafe.As<T, DateTime>(ref value);
            if (builder is Date32Array.Builder dates)
            {
                dates.Append(DateOnly.FromDateTime(time));
                return;
            }

            // Naive timestamps keep their wall-clock value: stored as if UTC, as Arrow defines a timestamp without a zone.
            ((TimestampArray.Builder)builder).Append(new DateTimeOffset(time.Ticks, TimeSpan.Zero));
        }
        else if (typeof(T) == typeof(DateOnly))
        {
            ((Date32Array.Builder)builder).Append(Unsafe.As<T, DateOnly>(ref value));
        }
        else if (typeof(T) == typeof(TimeOnly))
        {
            ((Time64Array.Builder)builder).Append(Unsafe.As<T, TimeOnly>(ref value));
        }
        else if (typeof(T) == typeof(TimeSpan))
        {
            var span = Unsafe.As<T, TimeSpan>(ref value);
            if (span < TimeSpan.Zero || span >= TimeSpan.FromDays(1))
            {
                throw new InvalidDataException($"the time {span:c} is not a time of day; it has no Arrow time64 value");
            }

            ((Time64Array.Builder)builder).Append(TimeOnly.FromTimeSpan(span));
        }
        else if (typeof(T) == typeof(Guid))
        {
            Span<byte> text = stackalloc byte[36];
            Unsafe.As<T, Guid>(ref value).TryFormat(text, out var written, "D");
            ((StringArray.Builder)builder).Append(text[..written]);
        }
        else if (typeof(T) == typeof(BigInteger))
        {
            ((StringArray.Builder)builder).Append(Unsafe.As<T, BigInteger>(ref value).ToString(CultureInfo.InvariantCulture), Encoding.UTF8);
        }
        else
        {
            throw new InvalidOperationException($"no Arrow value for {typeof(T).Name}");
        }
    }

    /// <summary>Appends a null to the builder of type <typeparamref name="T"/>.</summary>
    public static void AppendNull<T>(IArrowArrayBuilder builder)
        where T : struct
    {
        switch (builder)
        {
            case Int64Array.Builder b: b.AppendNull(); break;
            case Int32Array.Builder b: b.AppendNull(); break;
            case DoubleArray.Builder b: b.AppendNull(); break;
            case FloatArray.Builder b: b.AppendNull(); break;
            case BooleanArray.Builder b: b.AppendNull(); break;
            case StringArray.Builder b: b.AppendNull(); break;
            case BinaryArray.Builder b: b.AppendNull(); break;
            case Int8Array.Builder b: b.AppendNull(); break;
            case UInt8Array.Builder b: b.AppendNull(); break;
            case Int16Array.Builder b: b.AppendNull(); break;
            case UInt16Array.Builder b: b.AppendNull(); break;
            case UInt32Array.Builder b: b.AppendNull(); break;
            case UInt64Array.Builder b: b.AppendNull(); break;
            case HalfFloatArray.Builder b: b.AppendNull(); break;
            case Decimal128Array.Builder b: b.AppendNull(); break;
            case TimestampArray.Builder b: b.AppendNull(); break;
            case Date32Array.Builder b: b.AppendNull(); break;
            case Time64Array.Builder b: b.AppendNull(); break;
            default: throw new InvalidOperationException($"no null for a {builder.GetType().Name} of {typeof(T).Name}");
        }
    }

    private static void AppendChars(StringArray.Builder builder, ReadOnlySpan<char> chars)
    {
        var max = Encoding.UTF8.GetMaxByteCount(chars.Length);
        var buffer = t_utf8;
        if (buffer is null || buffer.Length < max)
        {
            buffer = t_utf8 = new byte[Math.Max(max, 256)];
        }

        var length = Encoding.UTF8.GetBytes(chars, buffer);
        builder.Append(buffer.AsSpan(0, length));
    }
}
