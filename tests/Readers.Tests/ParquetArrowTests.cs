using Apache.Arrow;
using Apache.Arrow.Types;
using OrleansShards.Readers.Parquet;
using Parquet.Serialization;

namespace OrleansShards.Readers.Tests;

/// <summary>Parquet batches as Arrow: typed from the Parquet schema, every value equal to the JSON answer.</summary>
public sealed class ParquetArrowTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Types the main test file does not have.</summary>
    public sealed class MoreTypes
    {
        public int Id { get; set; }
        public float? Ratio { get; set; }
        public short Small { get; set; }
        public DateOnly? Day { get; set; }
        public List<string?>? Words { get; set; }
        public List<double>? Values { get; set; }
    }

    /// <summary>Times, UUIDs, unsigned and small integers, a scaled decimal, lists of timestamps.</summary>
    public sealed class RareTypes
    {
        public int Id { get; set; }
        public Guid Uuid { get; set; }
        public TimeOnly? At { get; set; }
        public byte Tiny { get; set; }
        public uint Unsigned { get; set; }
        public ulong Big { get; set; }
        public sbyte Signed { get; set; }
        public decimal? Price { get; set; }
        public List<DateTime>? Stamps { get; set; }
    }

    private static RareTypes Rare(int i) => new()
    {
        Id = i,
        Uuid = new Guid(i, (short)i, 7, 1, 2, 3, 4, 5, 6, 7, 8),
        At = i % 3 == 0 ? null : new TimeOnly(i % 24, i % 60, 30).Add(TimeSpan.FromMilliseconds(i * 7 % 1000)),
        Tiny = (byte)(i * 3),
        Unsigned = uint.MaxValue - (uint)i,
        Big = ulong.MaxValue - (ulong)i,
        Signed = (sbyte)(i % 256 - 128),
        Price = i % 5 == 1 ? null : i * 1.01m - 50,
        Stamps = i % 4 == 0 ? null : [new DateTime(2023, 5, 6, 7, 8, 9, DateTimeKind.Utc).AddMinutes(i)],
    };

    private static MoreTypes More(int i) => new()
    {
        Id = i,
        Ratio = i % 4 == 1 ? null : i % 11 == 3 ? float.PositiveInfinity : i / 3f,
        Small = (short)(i % 300 - 150),
        Day = i % 5 == 4 ? null : new DateOnly(2020, 2, 28).AddDays(i),
        Words = (i % 6) switch
        {
            0 => null,
            1 => [],
            2 => [null, "é ✓"],
            _ => [$"w{i}", $"line\n{i}"],
        },
        Values = i % 3 == 0 ? null : [i * 0.5, -i, double.NaN],
    };

    private static int[] Rows(int n) =>
        [.. Enumerable.Range(0, n), n - 1, 0, n / 2, n / 2, .. Enumerable.Range(0, n).Where(i => i % 7 == 3).Reverse()];

    [Fact]
    public async Task Arrow_columns_have_the_parquet_types_and_the_json_values_across_row_groups()
    {
        var path = _dir.File("typed.parquet");
        int[] groups = [300, 7, 450];
        await ParquetReaderTests.WriteAsync(path, groups);
        var ct = TestContext.Current.CancellationToken;
        var reader = new ParquetPartitionReader();
        var d = await reader.DescribeAsync(path, ct);
        var n = (int)d.RecordCount;
        using var batch = await reader.ReadAsync(new ShardReadRequest(path, d.Fingerprint, 0, n), ct);
        var schema = await ArrowAssert.SameAsJsonAsync(batch, Rows(n));

        var types = schema.FieldsList.ToDictionary(f => f.Name, f => f.DataType);
        Assert.IsType<Int64Type>(types["Id"]);
        Assert.IsType<StringType>(types["Name"]);
        Assert.IsType<DoubleType>(types["Score"]);
        Assert.IsType<BooleanType>(types["Flag"]);
        Assert.IsType<Int32Type>(types["Count"]);
        var amount = Assert.IsType<Decimal128Type>(types["Amount"]);
        Assert.True(amount.Scale >= 2, $"scale {amount.Scale}");
        var ts = Assert.IsType<TimestampType>(types["Ts"]);
        Assert.Equal("UTC", ts.Timezone);
        Assert.IsType<BinaryType>(types["Blob"]);
        var tags = Assert.IsType<ListType>(types["Tags"]);
        Assert.IsType<Int32Type>(tags.ValueDataType);

        // A middle slice with a projection (other order), starting inside a row group.
        using var slice = await reader.ReadAsync(new ShardReadRequest(path, d.Fingerprint, 290, 320, ["Tags", "Id", "Blob"]), ct);
        var sliced = await ArrowAssert.SameAsJsonAsync(slice, Rows(slice.Count));
        Assert.Equal(["Tags", "Id", "Blob"], sliced.FieldsList.Select(f => f.Name));

        // Spot checks against the rows written, independent of the JSON writer.
        var (_, arrow) = await ArrowAssert.RoundTripAsync(batch, [0, 1, 2, 303]);
        using (arrow)
        {
            Assert.Equal(303L, ((Int64Array)arrow.Column("Id")).GetValue(3));
            var tagList = (ListArray)arrow.Column("Tags");
            Assert.True(tagList.IsNull(0)); // i % 9 == 0: a null list
            Assert.Equal(0, tagList.GetValueLength(1)); // an empty list
            Assert.Equal(1, tagList.GetValueLength(2));
            Assert.True(tagList.GetSlicedValues(2).IsNull(0)); // [null]
            Assert.Equal(ParquetReaderTests.MakeRow(303).Amount, ((Decimal128Array)arrow.Column("Amount")).GetValue(3));
            Assert.Equal(ParquetReaderTests.MakeRow(303).Ts, ((TimestampArray)arrow.Column("Ts")).GetTimestamp(3)!.Value.UtcDateTime);
        }
    }

    [Fact]
    public async Task Floats_small_integers_dates_and_lists_of_strings_and_doubles_keep_their_types()
    {
        var path = _dir.File("more.parquet");
        await ParquetSerializer.SerializeAsync(Enumerable.Range(0, 200).Select(More).ToList(), path, cancellationToken: TestContext.Current.CancellationToken);
        var ct = TestContext.Current.CancellationToken;
        var reader = new ParquetPartitionReader();
        var d = await reader.DescribeAsync(path, ct);
        using var batch = await reader.ReadAsync(new ShardReadRequest(path, d.Fingerprint, 0, d.RecordCount), ct);
        var schema = await ArrowAssert.SameAsJsonAsync(batch, Rows(batch.Count));
        var types = schema.FieldsList.ToDictionary(f => f.Name, f => f.DataType);
        Assert.IsType<Int32Type>(types["Id"]);
        Assert.IsType<FloatType>(types["Ratio"]);
        Assert.IsType<Int16Type>(types["Small"]);
        Assert.IsType<Date32Type>(types["Day"]);
        Assert.IsType<StringType>(Assert.IsType<ListType>(types["Words"]).ValueDataType);
        Assert.IsType<DoubleType>(Assert.IsType<ListType>(types["Values"]).ValueDataType);
    }

    [Fact]
    public async Task Uuids_unsigned_and_small_integers_decimals_and_lists_of_timestamps_keep_their_values()
    {
        var path = _dir.File("rare.parquet");
        await ParquetSerializer.SerializeAsync(Enumerable.Range(0, 120).Select(Rare).ToList(), path, cancellationToken: TestContext.Current.CancellationToken);
        var ct = TestContext.Current.CancellationToken;
        var reader = new ParquetPartitionReader();
        var d = await reader.DescribeAsync(path, ct);
        using var batch = await reader.ReadAsync(new ShardReadRequest(path, d.Fingerprint, 0, d.RecordCount), ct);
        var schema = await ArrowAssert.SameAsJsonAsync(batch, Rows(batch.Count));
        var types = schema.FieldsList.ToDictionary(f => f.Name, f => f.DataType);
        Assert.IsType<StringType>(types["Uuid"]);
        // Parquet.Net 6.1 reads a TIME column back as its integer count (the JSON answer has that number too).
        Assert.IsType<Int64Type>(types["At"]);
        Assert.IsType<UInt8Type>(types["Tiny"]);
        Assert.IsType<UInt32Type>(types["Unsigned"]);
        Assert.IsType<UInt64Type>(types["Big"]);
        Assert.IsType<Int8Type>(types["Signed"]);
        Assert.IsType<Decimal128Type>(types["Price"]);
        Assert.IsType<TimestampType>(Assert.IsType<ListType>(types["Stamps"]).ValueDataType);

        var (_, arrow) = await ArrowAssert.RoundTripAsync(batch, [7]);
        using (arrow)
        {
            Assert.Equal(Rare(7).Uuid.ToString(), ((StringArray)arrow.Column("Uuid")).GetString(0));
            Assert.Equal(Rare(7).Signed, ((Int8Array)arrow.Column("Signed")).GetValue(0));
            Assert.Equal(ulong.MaxValue - 7, ((UInt64Array)arrow.Column("Big")).GetValue(0));
        }
    }
}
