using System.Text;
using System.Text.Unicode;
using Apache.Arrow;
using Apache.Arrow.Types;
using OrleansShards.Readers.TfRecord;

namespace OrleansShards.Readers.Tests;

/// <summary>TFRecord batches as Arrow: typed from the feature kinds, every value equal to the JSON answer.</summary>
public sealed class TfRecordArrowTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The JSON answer's bytes: an example's value as UTF-8 text when it is, else base64; a raw record in base64.</summary>
    private static string JsonBytes(Field field, byte[] bytes) =>
        field.Name != "bytes" && Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : Convert.ToBase64String(bytes);

    private static async Task<RecordBatch> ReadAsync(string path, IReadOnlyList<string>? columns = null)
    {
        var ct = TestContext.Current.CancellationToken;
        var reader = new TfRecordPartitionReader();
        var d = await reader.DescribeAsync(path, ct);
        return await reader.ReadAsync(new ShardReadRequest(path, d.Fingerprint, 0, d.RecordCount, columns), ct);
    }

    [Fact]
    public async Task Examples_and_raw_records_have_typed_columns_equal_to_the_json_answer()
    {
        var path = _dir.File("mixed.tfrecord");
        TfRecordTestFiles.Write(path, 120);
        using var batch = await ReadAsync(path);
        int[] rows = [.. Enumerable.Range(0, 120), 9, 0, 0, 119, 3];
        var schema = await ArrowAssert.SameAsJsonAsync(batch, rows, JsonBytes, bareSingleValues: true);
        var types = schema.FieldsList.ToDictionary(f => f.Name, f => f.DataType);
        Assert.Equal(["id", "score", "text", "tags", "vec", "blob", "emb", "bytes"], schema.FieldsList.Select(f => f.Name));
        Assert.IsType<Int64Type>(types["id"]);
        Assert.IsType<FloatType>(types["score"]);
        Assert.IsType<StringType>(types["text"]);
        Assert.IsType<StringType>(Assert.IsType<ListType>(types["tags"]).ValueDataType);
        Assert.IsType<Int64Type>(Assert.IsType<ListType>(types["vec"]).ValueDataType);
        Assert.IsType<BinaryType>(types["blob"]);
        Assert.IsType<FloatType>(Assert.IsType<ListType>(types["emb"]).ValueDataType);
        Assert.IsType<BinaryType>(types["bytes"]);

        // Spot checks against what was written, independent of the JSON writer.
        var (_, arrow) = await ArrowAssert.RoundTripAsync(batch, [9, 5]);
        using (arrow)
        {
            Assert.Equal(TfRecordTestFiles.RawRecord(9), ((BinaryArray)arrow.Column("bytes")).GetBytes(0).ToArray());
            Assert.True(arrow.Column("id").IsNull(0));
            Assert.Equal(5L, ((Int64Array)arrow.Column("id")).GetValue(1));
            Assert.Equal(TfRecordTestFiles.Binary(5), ((BinaryArray)arrow.Column("blob")).GetBytes(1).ToArray());
            var emb = (FloatArray)((ListArray)arrow.Column("emb")).GetSlicedValues(1);
            Assert.True(float.IsNaN(emb.GetValue(0)!.Value)); // 5 % 11 == 5
            Assert.Equal(float.PositiveInfinity, emb.GetValue(1));
        }

        // A projection keeps its order; only examples in these rows: the raw record's column is all null.
        using var projected = await ReadAsync(path, ["emb", "bytes", "id"]);
        var p = await ArrowAssert.SameAsJsonAsync(projected, [0, 1, 2, 3], JsonBytes, bareSingleValues: true);
        Assert.Equal(["emb", "bytes", "id"], p.FieldsList.Select(f => f.Name));
    }

    [Fact]
    public async Task Disagreeing_rows_choose_one_type_per_column_or_fall_back_to_json_values()
    {
        // v: int64 in even records, float in odd ones (mixed: typed from JSON values); b: UTF-8 except every fifth
        // record (binary for all); n: one value except in record 4, which has none (a list).
        var path = _dir.File("disagree.tfrecord");
        TfRecordTestFiles.Write(path, 40, i => TfRecordTestFiles.Example(
        [
            ("v", i % 2 == 0 ? new TfValue.Int64s([i]) : new TfValue.Floats([i + 0.5f])),
            ("b", new TfValue.Bytes([i % 5 == 2 ? TfRecordTestFiles.Binary(i) : TfRecordTestFiles.Utf8($"s{i}")])),
            ("n", new TfValue.Int64s(i == 4 ? [] : [i * 3])),
        ]));
        using var batch = await ReadAsync(path);
        var all = Enumerable.Range(0, 40).ToArray();
        var schema = await ArrowAssert.SameAsJsonAsync(batch, all, JsonBytes, bareSingleValues: true);
        var types = schema.FieldsList.ToDictionary(f => f.Name, f => f.DataType);
        Assert.IsType<DoubleType>(types["v"]);
        Assert.IsType<BinaryType>(types["b"]);
        Assert.IsType<Int64Type>(Assert.IsType<ListType>(types["n"]).ValueDataType);

        // Decided over the rows asked for: without the odd records v is int64, without record 4 n is a scalar,
        // without the non-UTF-8 records b is utf8.
        var some = all.Where(i => i % 2 == 0 && i % 5 != 2 && i != 4).ToArray();
        var narrow = await ArrowAssert.SameAsJsonAsync(batch, some, JsonBytes, bareSingleValues: true);
        types = narrow.FieldsList.ToDictionary(f => f.Name, f => f.DataType);
        Assert.IsType<Int64Type>(types["v"]);
        Assert.IsType<StringType>(types["b"]);
        Assert.IsType<Int64Type>(types["n"]);
    }
}
