using System.Globalization;
using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using OrleansShards.Readers.Arrow;
using ArrowBatch = Apache.Arrow.RecordBatch;

namespace OrleansShards.Readers.Sql;

/// <summary>
/// Table rows as Arrow columns typed from the column types the database declares, filled from the cells of the batch
/// (the same values the JSON answer holds).
/// </summary>
/// <remarks>
/// <para>
/// PostgreSQL: <c>int2</c>/<c>int4</c>/<c>int8</c> as <c>int16</c>/<c>int32</c>/<c>int64</c>; <c>float4</c>/<c>float8</c>
/// as <c>float32</c>/<c>float64</c>; <c>bool</c> as <c>bool</c>; <c>text</c>, <c>varchar</c>, <c>bpchar</c>,
/// <c>name</c>, <c>uuid</c> as <c>utf8</c>; <c>bytea</c> as <c>binary</c>; <c>timestamp</c> as <c>timestamp[us]</c>
/// without a zone and <c>timestamptz</c> as <c>timestamp[us, UTC]</c>; <c>date</c> as <c>date32</c>.
/// <c>numeric</c> is <c>utf8</c> holding the exact number text (field metadata <see cref="ArrowRecords.JsonTextKey"/>):
/// <c>decimal128</c> needs one precision and scale for the column, which an unconstrained <c>numeric</c> does not have,
/// and a text keeps every digit the JSON answer has.
/// </para>
/// <para>
/// SQLite (declared types, by SQLite's affinity rules): INTEGER affinity as <c>int64</c>, REAL as <c>float64</c>, TEXT as
/// <c>utf8</c>, a declared <c>blob</c> as <c>binary</c>. SQLite lets any column hold any value, so a column of these
/// whose cells in the batch do not all fit the declared type, and every other type (NUMERIC affinity such as
/// <c>boolean</c> or <c>datetime</c>, JSON, arrays, intervals), is typed from its values as
/// <see cref="ArrowRecords.FromJson"/> does.
/// </para>
/// </remarks>
internal static class SqlArrow
{
    private enum Target : byte
    {
        FromValues,
        Int16,
        Int32,
        Int64,
        Float32,
        Float64,
        Bool,
        Utf8,
        NumberText,
        Binary,
        Timestamp,
        TimestampUtc,
        Date,
    }

    private static Target TargetOf(string kind, SqlColumn column)
    {
        var type = column.TypeName;
        if (kind == SqlLocator.Postgres)
        {
            return type switch
            {
                "int2" => Target.Int16,
                "int4" => Target.Int32,
                "int8" => Target.Int64,
                "float4" => Target.Float32,
                "float8" => Target.Float64,
                "bool" => Target.Bool,
                "text" or "varchar" or "bpchar" or "name" or "uuid" or "citext" => Target.Utf8,
                "numeric" => Target.NumberText,
                "bytea" => Target.Binary,
                "timestamp" => Target.Timestamp,
                "timestamptz" => Target.TimestampUtc,
                "date" => Target.Date,
                _ => Target.FromValues,
            };
        }

        // SQLite's affinity rules (https://www.sqlite.org/datatype3.html#determination_of_column_affinity), in order.
        if (type.Contains("int", StringComparison.Ordinal))
        {
            return Target.Int64;
        }

        if (type.Contains("char", StringComparison.Ordinal) || type.Contains("clob", StringComparison.Ordinal) || type.Contains("text", StringComparison.Ordinal))
        {
            return Target.Utf8;
        }

        if (type.Contains("blob", StringComparison.Ordinal))
        {
            return Target.Binary;
        }

        return type.Contains("real", StringComparison.Ordinal) || type.Contains("floa", StringComparison.Ordinal) || type.Contains("doub", StringComparison.Ordinal)
            ? Target.Float64
            : Target.FromValues;
    }

    /// <summary>The Arrow batch of <paramref name="rows"/> of a batch of table rows.</summary>
    public static ArrowBatch Build(JsonRowBatch batch, string kind, IReadOnlyList<SqlColumn> columns, IReadOnlyList<string> names, ReadOnlySpan<int> rows)
    {
        var fields = new List<Field>(columns.Count);
        var arrays = new List<IArrowArray>(columns.Count);
        for (var c = 0; c < columns.Count; c++)
        {
            var target = TargetOf(kind, columns[c]);
            IArrowArray? array = target == Target.FromValues ? null : TryTyped(batch, c, target, rows);
            if (array is null)
            {
                var column = c;
                var copy = rows.ToArray();
                var name = JsonEncodedText.Encode(names[c]);
                // Not disposed: its one array becomes the result's.
                var json = ArrowRecords.FromJson(copy.Length, (writer, i) =>
                {
                    writer.WriteStartObject();
                    writer.WritePropertyName(name);
                    writer.WriteRawValue(batch.GetCellJson(copy[i], column), skipInputValidation: true);
                    writer.WriteEndObject();
                }, [names[c]]);
                fields.Add(json.Schema.FieldsList[0]);
                arrays.Add(json.Column(0));
                continue;
            }

            fields.Add(target == Target.NumberText
                ? new Field(names[c], StringType.Default, nullable: true, [new KeyValuePair<string, string>(ArrowRecords.JsonTextKey, "true")])
                : new Field(names[c], array.Data.DataType, nullable: true));
            arrays.Add(array);
        }

        return new ArrowBatch(new Schema(fields, null), arrays, rows.Length);
    }

    /// <summary>The column built as <paramref name="target"/>, or null when a cell does not fit it.</summary>
    private static IArrowArray? TryTyped(JsonRowBatch batch, int column, Target target, ReadOnlySpan<int> rows)
    {
        switch (target)
        {
            case Target.Int16:
            {
                var b = new Int16Array.Builder();
                foreach (var row in rows)
                {
                    if (!Cell(batch, row, column, out var r)) { b.AppendNull(); }
                    else if (r.TokenType == JsonTokenType.Number && r.TryGetInt16(out var v)) { b.Append(v); }
                    else { return null; }
                }

                return b.Build();
            }

            case Target.Int32:
            {
                var b = new Int32Array.Builder();
                foreach (var row in rows)
                {
                    if (!Cell(batch, row, column, out var r)) { b.AppendNull(); }
                    else if (r.TokenType == JsonTokenType.Number && r.TryGetInt32(out var v)) { b.Append(v); }
                    else { return null; }
                }

                return b.Build();
            }

            case Target.Int64:
            {
                var b = new Int64Array.Builder();
                foreach (var row in rows)
                {
                    if (!Cell(batch, row, column, out var r)) { b.AppendNull(); }
                    else if (r.TokenType == JsonTokenType.Number && r.TryGetInt64(out var v)) { b.Append(v); }
                    else { return null; }
                }

                return b.Build();
            }

            case Target.Float32:
            case Target.Float64:
            {
                var f = new FloatArray.Builder();
                var d = new DoubleArray.Builder();
                foreach (var row in rows)
                {
                    double value;
                    if (!Cell(batch, row, column, out var r))
                    {
                        f.AppendNull();
                        d.AppendNull();
                        continue;
                    }

                    if (r.TokenType == JsonTokenType.Number)
                    {
                        value = r.GetDouble();
                    }
                    else if (r.TokenType == JsonTokenType.String && r.GetString() is "NaN" or "Infinity" or "-Infinity" && double.TryParse(r.GetString(), CultureInfo.InvariantCulture, out var special))
                    {
                        value = special; // JSON has no NaN or infinities: the answer writes them as these strings
                    }
                    else
                    {
                        return null;
                    }

                    f.Append((float)value);
                    d.Append(value);
                }

                return target == Target.Float32 ? f.Build() : d.Build();
            }

            case Target.Bool:
            {
                var b = new BooleanArray.Builder();
                foreach (var row in rows)
                {
                    if (!Cell(batch, row, column, out var r)) { b.AppendNull(); }
                    else if (r.TokenType is JsonTokenType.True or JsonTokenType.False) { b.Append(r.TokenType == JsonTokenType.True); }
                    else { return null; }
                }

                return b.Build();
            }

            case Target.Utf8:
            {
                var b = new StringArray.Builder();
                foreach (var row in rows)
                {
                    if (!Cell(batch, row, column, out var r)) { b.AppendNull(); }
                    else if (r.TokenType != JsonTokenType.String) { return null; }
                    else if (!r.ValueIsEscaped) { b.Append(r.ValueSpan); }
                    else { b.Append(r.GetString(), Encoding.UTF8); }
                }

                return b.Build();
            }

            case Target.NumberText:
            {
                var b = new StringArray.Builder();
                foreach (var row in rows)
                {
                    if (!Cell(batch, row, column, out var r)) { b.AppendNull(); }
                    else if (r.TokenType == JsonTokenType.Number) { b.Append(r.ValueSpan); }
                    else { return null; }
                }

                return b.Build();
            }

            case Target.Binary:
            {
                var b = new BinaryArray.Builder();
                foreach (var row in rows)
                {
                    if (!Cell(batch, row, column, out var r)) { b.AppendNull(); }
                    else if (r.TokenType == JsonTokenType.String && r.TryGetBytesFromBase64(out var bytes)) { b.Append(bytes.AsSpan()); }
                    else { return null; }
                }

                return b.Build();
            }

            case Target.Timestamp:
            case Target.TimestampUtc:
            {
                var b = new TimestampArray.Builder(new TimestampType(TimeUnit.Microsecond, target == Target.TimestampUtc ? "UTC" : null));
                foreach (var row in rows)
                {
                    if (!Cell(batch, row, column, out var r)) { b.AppendNull(); }
                    else if (r.TokenType == JsonTokenType.String
                        && DateTime.TryParse(r.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time)
                        && (time.Kind == DateTimeKind.Unspecified) == (target == Target.Timestamp))
                    {
                        var utc = time.Kind == DateTimeKind.Local ? time.ToUniversalTime() : time;
                        b.Append(new DateTimeOffset(utc.Ticks, TimeSpan.Zero));
                    }
                    else { return null; }
                }

                return b.Build();
            }

            case Target.Date:
            {
                var b = new Date32Array.Builder();
                foreach (var row in rows)
                {
                    if (!Cell(batch, row, column, out var r)) { b.AppendNull(); }
                    else if (r.TokenType == JsonTokenType.String && DateOnly.TryParseExact(r.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)) { b.Append(day); }
                    else if (r.TokenType == JsonTokenType.String
                        && DateTime.TryParse(r.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var midnight)
                        && midnight.Kind == DateTimeKind.Unspecified && midnight.TimeOfDay == TimeSpan.Zero)
                    {
                        b.Append(DateOnly.FromDateTime(midnight)); // a date the driver gave as a DateTime at midnight
                    }
                    else { return null; }
                }

                return b.Build();
            }

            default:
                return null;
        }
    }

    /// <summary>A reader on the cell's JSON value; false when it is null.</summary>
    private static bool Cell(JsonRowBatch batch, int row, int column, out Utf8JsonReader reader)
    {
        reader = new Utf8JsonReader(batch.GetCellJson(row, column));
        reader.Read();
        return reader.TokenType != JsonTokenType.Null;
    }
}
