using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Apache.Arrow;
using Apache.Arrow.Types;
using OrleansShards.Readers.Arrow;
using ArrowBatch = Apache.Arrow.RecordBatch;

namespace OrleansShards.Readers.TfRecord;

/// <summary>
/// TFRecord records as Arrow columns typed from the <c>tf.train.Example</c> feature kinds, decided per column over the
/// rows asked for.
/// </summary>
/// <remarks>
/// <para>
/// An <c>Int64List</c> feature is <c>int64</c> when every row that has it holds exactly one value (the JSON answer
/// writes it as a scalar), else <c>list&lt;int64&gt;</c>; a <c>FloatList</c> likewise <c>float32</c> or
/// <c>list&lt;float32&gt;</c> (in a list column, a row with one value is a list of one, where the JSON answer writes the
/// value bare); a <c>BytesList</c> is <c>utf8</c> (or a list of it) when every value of the column in
/// these rows is valid UTF-8, and <c>binary</c> (or a list of it) as soon as one is not: a column never mixes the two,
/// so a consumer sees one type per column. (The JSON answer writes each bytes value on its own: UTF-8 as a string,
/// anything else in base64.) A record that is not an example fills the <c>binary</c> column <c>bytes</c> with its data.
/// A row without the feature, or whose feature has no list, is null.
/// </para>
/// <para>
/// A column whose rows disagree (an int64 list in one record and a float list in another, or a raw record's
/// <c>bytes</c> next to an example's feature of that name) is typed from its JSON values instead, as
/// <see cref="ArrowRecords.FromJson"/> does, so nothing is lost. Columns are the projection when the read had one,
/// else the features in the order first seen.
/// </para>
/// </remarks>
internal static class TfRecordArrow
{
    private enum Kind : byte
    {
        None,
        Int64,
        Float,
        Bytes,
        Raw,
        Mixed,
    }

    private sealed class Column(string name)
    {
        public string Name { get; } = name;

        public byte[] Utf8Name { get; } = Encoding.UTF8.GetBytes(name);

        public Kind Kind { get; set; }

        public bool Scalar { get; set; } = true;

        public bool Utf8 { get; set; } = true;

        public IArrowArrayBuilder? Builder { get; set; }
    }

    /// <summary>The Arrow batch of <paramref name="rows"/> of <paramref name="batch"/>.</summary>
    public static ArrowBatch Build(TfRecordBatch batch, IReadOnlyList<string>? projection, ReadOnlySpan<int> rows)
    {
        var example = TfExample.Shared;
        var columns = new List<Column>();
        var byName = new Dictionary<string, Column>(StringComparer.Ordinal);
        foreach (var name in projection ?? [])
        {
            if (!byName.ContainsKey(name))
            {
                var column = new Column(name);
                columns.Add(column);
                byName.Add(name, column);
            }
        }

        // Pass 1: the kind, shape and encoding of every column over these rows.
        foreach (var row in rows)
        {
            var (chunk, start, length) = batch.Segment(row);
            if (!example.TryParse(chunk, start, length))
            {
                Observe(Find(TfRecordBatch.BytesColumn), Kind.Raw, scalar: true, utf8: true);
                continue;
            }

            for (var f = 0; f < example.FeatureCount; f++)
            {
                var column = Find(Encoding.UTF8.GetString(example.Key(f)));
                if (column is null)
                {
                    continue;
                }

                var feature = example.Feature(f);
                switch (feature.Kind)
                {
                    case TfFeatureKind.None:
                        break;
                    case TfFeatureKind.Int64:
                        Observe(column, Kind.Int64, feature.Count == 1, utf8: true);
                        break;
                    case TfFeatureKind.Float:
                        Observe(column, Kind.Float, feature.Count == 1, utf8: true);
                        break;
                    default:
                        var valid = true;
                        for (var i = feature.First; i < feature.First + feature.Count && valid; i++)
                        {
                            valid = Utf8.IsValid(example.Bytes(i));
                        }

                        Observe(column, Kind.Bytes, feature.Count == 1, valid);
                        break;
                }
            }
        }

        foreach (var column in columns)
        {
            column.Builder = column.Kind switch
            {
                Kind.Int64 => column.Scalar ? new Int64Array.Builder() : new ListArray.Builder(Int64Type.Default),
                Kind.Float => column.Scalar ? new FloatArray.Builder() : new ListArray.Builder(FloatType.Default),
                Kind.Bytes when column.Utf8 => column.Scalar ? new StringArray.Builder() : new ListArray.Builder(StringType.Default),
                Kind.Bytes => column.Scalar ? new BinaryArray.Builder() : new ListArray.Builder(BinaryType.Default),
                Kind.Raw => new BinaryArray.Builder(),
                Kind.None => new StringArray.Builder(),
                _ => null, // mixed: from JSON below
            };
        }

        // Pass 2: the values.
        foreach (var row in rows)
        {
            var (chunk, start, length) = batch.Segment(row);
            var isExample = example.TryParse(chunk, start, length);
            foreach (var column in columns)
            {
                if (column.Builder is null)
                {
                    continue;
                }

                if (!isExample)
                {
                    if (column.Kind == Kind.Raw)
                    {
                        ((BinaryArray.Builder)column.Builder).Append(chunk.AsSpan(start, length));
                    }
                    else
                    {
                        AppendNull(column.Builder);
                    }

                    continue;
                }

                var f = example.IndexOf(column.Utf8Name);
                if (f < 0 || example.Feature(f).Kind == TfFeatureKind.None || column.Kind is Kind.Raw or Kind.None)
                {
                    AppendNull(column.Builder);
                    continue;
                }

                Append(column, example, example.Feature(f));
            }
        }

        var fields = new List<Field>(columns.Count);
        var arrays = new List<IArrowArray>(columns.Count);
        foreach (var column in columns)
        {
            if (column.Builder is null)
            {
                var copy = rows.ToArray();
                // Not disposed: its one array becomes the result's.
                var json = ArrowRecords.FromJson(copy.Length, (writer, i) => WriteProperty(batch, writer, column.Name, copy[i]), [column.Name]);
                fields.Add(json.Schema.FieldsList[0]);
                arrays.Add(json.Column(0));
                continue;
            }

            var array = column.Builder switch
            {
                Int64Array.Builder b => (IArrowArray)b.Build(),
                FloatArray.Builder b => b.Build(),
                StringArray.Builder b => b.Build(),
                BinaryArray.Builder b => b.Build(),
                ListArray.Builder b => b.Build(),
                _ => throw new InvalidOperationException(column.Builder.GetType().Name),
            };
            fields.Add(new Field(column.Name, array.Data.DataType, nullable: true));
            arrays.Add(array);
        }

        return new ArrowBatch(new Schema(fields, null), arrays, rows.Length);

        Column? Find(string name)
        {
            if (byName.TryGetValue(name, out var column))
            {
                return column;
            }

            if (projection is not null)
            {
                return null;
            }

            column = new Column(name);
            columns.Add(column);
            byName.Add(name, column);
            return column;
        }
    }

    private static void Observe(Column? column, Kind kind, bool scalar, bool utf8)
    {
        if (column is null)
        {
            return;
        }

        column.Kind = column.Kind == Kind.None || column.Kind == kind ? kind : Kind.Mixed;
        column.Scalar &= scalar;
        column.Utf8 &= utf8;
    }

    private static void Append(Column column, TfExample example, in TfFeature feature)
    {
        var end = feature.First + feature.Count;
        if (column.Scalar)
        {
            switch (column.Builder)
            {
                case Int64Array.Builder b: b.Append(example.Int64(feature.First)); break;
                case FloatArray.Builder b: b.Append(example.Float(feature.First)); break;
                case StringArray.Builder b: b.Append(example.Bytes(feature.First)); break;
                case BinaryArray.Builder b: b.Append(example.Bytes(feature.First)); break;
            }

            return;
        }

        var list = (ListArray.Builder)column.Builder!;
        list.Append();
        for (var i = feature.First; i < end; i++)
        {
            switch (list.ValueBuilder)
            {
                case Int64Array.Builder b: b.Append(example.Int64(i)); break;
                case FloatArray.Builder b: b.Append(example.Float(i)); break;
                case StringArray.Builder b: b.Append(example.Bytes(i)); break;
                case BinaryArray.Builder b: b.Append(example.Bytes(i)); break;
            }
        }
    }

    private static void AppendNull(IArrowArrayBuilder builder)
    {
        switch (builder)
        {
            case Int64Array.Builder b: b.AppendNull(); break;
            case FloatArray.Builder b: b.AppendNull(); break;
            case StringArray.Builder b: b.AppendNull(); break;
            case BinaryArray.Builder b: b.AppendNull(); break;
            case ListArray.Builder b: b.AppendNull(); break;
        }
    }

    /// <summary>Writes <c>{"name": value}</c> of one record, as its JSON answer has the column.</summary>
    private static void WriteProperty(TfRecordBatch batch, Utf8JsonWriter writer, string name, int row)
    {
        var (chunk, start, length) = batch.Segment(row);
        var example = TfExample.Shared;
        writer.WriteStartObject();
        if (example.TryParse(chunk, start, length))
        {
            var f = example.IndexOf(Encoding.UTF8.GetBytes(name));
            if (f >= 0)
            {
                writer.WritePropertyName(name);
                TfRecordBatch.WriteValue(writer, example, f);
            }
        }
        else if (name == TfRecordBatch.BytesColumn)
        {
            writer.WriteBase64String(name, chunk.AsSpan(start, length));
        }

        writer.WriteEndObject();
    }
}
