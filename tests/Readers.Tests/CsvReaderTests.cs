using System.Text;
using System.Text.Json;
using OrleansShards.Readers.Csv;
using OrleansShards.Readers.JsonLines;

namespace OrleansShards.Readers.Tests;

public sealed class CsvReaderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ShardReadRequest Request(PartitionDescription d, long start, long end, IReadOnlyList<string>? columns = null, int? limit = null)
        => new(d.Path, d.Fingerprint, start, end, columns, limit);

    [Fact]
    public async Task Describe_counts_records_across_multiline_fields_and_names_columns()
    {
        var path = _dir.File("a.csv");
        TestData.WriteCsv(path, 5000);
        var reader = new CsvPartitionReader();
        var d = await reader.DescribeAsync(path, TestContext.Current.CancellationToken);
        Assert.Equal(5000, d.RecordCount);
        Assert.Equal(TestData.CsvColumns, d.Columns);
        Assert.Equal(new FileInfo(path).Length, d.Fingerprint.Length);
        Assert.Equal(path, d.Path);
    }

    [Fact]
    public async Task Every_split_equals_the_full_scan_and_the_generated_values()
    {
        const int n = 5000;
        var path = _dir.File("splits.csv");
        TestData.WriteCsv(path, n);
        var reader = new CsvPartitionReader();
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        using var full = await reader.ReadAsync(Request(d, 0, n), ct);
        Assert.Equal(n, full.Count);
        var fullJson = new string[n];
        for (var i = 0; i < n; i++)
        {
            var expected = TestData.CsvRow(i);
            for (var c = 0; c < expected.Length; c++)
            {
                Assert.Equal(expected[c], full.GetText(i, TestData.CsvColumns[c]));
            }

            fullJson[i] = TestData.RecordJson(full, i);
            using var doc = JsonDocument.Parse(fullJson[i]);
            Assert.Equal(TestData.CsvColumns, doc.RootElement.EnumerateObject().Select(p => p.Name));
            Assert.Equal(expected, doc.RootElement.EnumerateObject().Select(p => p.Value.GetString()));
        }

        foreach (var (start, end) in TestData.Splits(n, 1024))
        {
            using var batch = await reader.ReadAsync(Request(d, start, end), ct);
            Assert.Equal(end - start, batch.Count);
            for (var r = 0; r < batch.Count; r++)
            {
                var i = (int)(start + r);
                Assert.Equal(fullJson[i], TestData.RecordJson(batch, r));
                Assert.Equal(TestData.CsvRow(i)[2], batch.GetText(r, "note"));
            }
        }
    }

    [Fact]
    public async Task Small_stride_splits_equal_full_scan()
    {
        const int n = 3001;
        var path = _dir.File("small.csv");
        TestData.WriteCsv(path, n);
        var reader = new CsvPartitionReader(new CsvReaderOptions { IndexStride = 7 });
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        using var full = await reader.ReadAsync(Request(d, 0, n), ct);
        foreach (var (start, end) in TestData.Splits(n, 7, seed: 7).Take(400))
        {
            using var batch = await reader.ReadAsync(Request(d, start, end), ct);
            for (var r = 0; r < batch.Count; r++)
            {
                Assert.Equal(TestData.RecordJson(full, (int)start + r), TestData.RecordJson(batch, r));
            }
        }
    }

    [Fact]
    public async Task Without_header_columns_are_c0_c1()
    {
        var path = _dir.File("nohdr.csv");
        TestData.WriteCsv(path, 100, header: false);
        var reader = new CsvPartitionReader(new CsvReaderOptions { Header = false });
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        Assert.Equal(["c0", "c1", "c2", "c3"], d.Columns);
        Assert.Equal(100, d.RecordCount);
        using var batch = await reader.ReadAsync(Request(d, 98, 100), ct);
        Assert.Equal("98", batch.GetText(0, "c0"));
        Assert.Equal(TestData.CsvRow(99)[2], batch.GetText(1, "c2"));
    }

    [Fact]
    public async Task Other_delimiter_and_empty_fields()
    {
        var path = _dir.File("semi.csv");
        File.WriteAllText(path, "a;b;c\n1;;\"x;y\"\n;;\n");
        var reader = new CsvPartitionReader(new CsvReaderOptions { Delimiter = ';' });
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        using var batch = await reader.ReadAsync(Request(d, 0, 2), ct);
        Assert.Equal("""{"a":"1","b":"","c":"x;y"}""", TestData.RecordJson(batch, 0));
        Assert.Equal("""{"a":"","b":"","c":""}""", TestData.RecordJson(batch, 1));
        Assert.Equal("", batch.GetText(1, "a"));
    }

    [Fact]
    public async Task Projection_keeps_the_order_asked_for_and_limit_caps_the_batch()
    {
        var path = _dir.File("proj.csv");
        TestData.WriteCsv(path, 3000);
        var reader = new CsvPartitionReader();
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        using var batch = await reader.ReadAsync(Request(d, 1020, 2050, ["value", "id"], limit: 7), ct);
        Assert.Equal(7, batch.Count);
        for (var r = 0; r < 7; r++)
        {
            var expected = TestData.CsvRow(1020 + r);
            Assert.Equal($$"""{"value":"{{expected[3]}}","id":"{{expected[0]}}"}""", TestData.RecordJson(batch, r));
        }

        Assert.Throws<ArgumentException>(() => batch.GetText(0, "note"));

        using var zero = await reader.ReadAsync(Request(d, 5, 10, limit: 0), ct);
        Assert.Equal(0, zero.Count);
        using var more = await reader.ReadAsync(Request(d, 5, 10, limit: 100), ct);
        Assert.Equal(5, more.Count);
    }

    [Fact]
    public async Task Unknown_column_names_the_column_and_the_file()
    {
        var path = _dir.File("unknown.csv");
        TestData.WriteCsv(path, 10);
        var reader = new CsvPartitionReader();
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        var e = await Assert.ThrowsAsync<ArgumentException>(async () => await reader.ReadAsync(Request(d, 0, 10, ["id", "nope"]), ct));
        Assert.Contains("'nope'", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public async Task Range_outside_the_file_is_refused()
    {
        var path = _dir.File("range.csv");
        TestData.WriteCsv(path, 10);
        var reader = new CsvPartitionReader();
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await reader.ReadAsync(Request(d, 5, 11), ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await reader.ReadAsync(Request(d, 5, 4), ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await reader.ReadAsync(Request(d, -1, 4), ct));
    }

    [Fact]
    public async Task Field_count_mismatch_names_file_record_and_offset()
    {
        var path = _dir.File("bad-count.csv");
        var sb = new StringBuilder("a,b,c\n");
        long badOffset = 0;
        for (var i = 0; i < 3000; i++)
        {
            if (i == 2100)
            {
                badOffset = Encoding.UTF8.GetByteCount(sb.ToString());
                sb.Append("1,2\n");
            }
            else
            {
                sb.Append($"{i},\"x\ny\",{i}\n");
            }
        }

        File.WriteAllText(path, sb.ToString());
        var reader = new CsvPartitionReader();
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        Assert.Equal(3000, d.RecordCount);
        using (var ok = await reader.ReadAsync(Request(d, 2000, 2100), ct))
        {
            Assert.Equal(100, ok.Count);
        }

        var e = await Assert.ThrowsAsync<MalformedRecordException>(async () => await reader.ReadAsync(Request(d, 2050, 2200), ct));
        Assert.Equal(path, e.Path);
        Assert.Equal(2100, e.RecordIndex);
        Assert.Equal(badOffset, e.ByteOffset);
        Assert.Contains(path, e.Message);
        Assert.Contains("record 2100", e.Message);
        Assert.Contains("2 fields", e.Message);
    }

    [Fact]
    public async Task Unterminated_quote_names_file_and_record()
    {
        var path = _dir.File("bad-quote.csv");
        var sb = new StringBuilder("a,b\n");
        for (var i = 0; i < 1500; i++)
        {
            sb.Append($"{i},v{i}\n");
        }

        var badOffset = Encoding.UTF8.GetByteCount(sb.ToString());
        sb.Append("1500,\"never closed\n1501,x\n1502,y\n");
        File.WriteAllText(path, sb.ToString());
        var reader = new CsvPartitionReader();
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        Assert.Equal(1501, d.RecordCount); // the open quote swallows the rest of the file into one record
        using (var ok = await reader.ReadAsync(Request(d, 1024, 1500), ct))
        {
            Assert.Equal(476, ok.Count);
        }

        var e = await Assert.ThrowsAsync<MalformedRecordException>(async () => await reader.ReadAsync(Request(d, 1400, 1501), ct));
        Assert.Equal(1500, e.RecordIndex);
        Assert.Equal(badOffset, e.ByteOffset);
        Assert.Contains(path, e.Message);
        Assert.Contains("never closed", e.Message);
    }

    [Fact]
    public async Task Stray_quotes_are_recovered_unless_strict()
    {
        var path = _dir.File("stray.csv");
        File.WriteAllText(path, "a,b\n5\" tall,x\n\"ab\"c,y\n");
        var ct = TestContext.Current.CancellationToken;
        var lenient = new CsvPartitionReader();
        var d = await lenient.DescribeAsync(path, ct);
        using (var batch = await lenient.ReadAsync(Request(d, 0, 2), ct))
        {
            Assert.Equal("5\" tall", batch.GetText(0, "a"));
            Assert.Equal("abc", batch.GetText(1, "a"));
        }

        var strict = new CsvPartitionReader(new CsvReaderOptions { StrictQuotes = true });
        var e = await Assert.ThrowsAsync<MalformedRecordException>(async () => await strict.ReadAsync(Request(d, 0, 2), ct));
        Assert.Equal(0, e.RecordIndex);
    }

    [Fact]
    public async Task Empty_and_header_only_files_have_no_records()
    {
        var ct = TestContext.Current.CancellationToken;
        var reader = new CsvPartitionReader();
        var empty = _dir.File("empty.csv");
        File.WriteAllText(empty, "");
        var d = await reader.DescribeAsync(empty, ct);
        Assert.Equal(0, d.RecordCount);
        using (var b = await reader.ReadAsync(Request(d, 0, 0), ct))
        {
            Assert.Equal(0, b.Count);
        }

        var headerOnly = _dir.File("header.csv");
        File.WriteAllText(headerOnly, "x,y\n");
        d = await reader.DescribeAsync(headerOnly, ct);
        Assert.Equal(0, d.RecordCount);
        Assert.Equal(["x", "y"], d.Columns);
    }

    [Fact]
    public async Task Byte_order_mark_is_not_part_of_the_first_column()
    {
        var path = _dir.File("bom.csv");
        File.WriteAllText(path, "id,v\n1,a\n2,b\n", new UTF8Encoding(true));
        var reader = new CsvPartitionReader(new CsvReaderOptions { IndexStride = 1 });
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        Assert.Equal(["id", "v"], d.Columns);
        using var b = await reader.ReadAsync(Request(d, 1, 2), ct);
        Assert.Equal("""{"id":"2","v":"b"}""", TestData.RecordJson(b, 0));
    }

    [Fact]
    public async Task Concurrent_reads_give_the_same_records()
    {
        const int n = 4000;
        var path = _dir.File("concurrent.csv");
        TestData.WriteCsv(path, n);
        var reader = new CsvPartitionReader(new CsvReaderOptions { IndexStride = 100 });
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        var texts = await Task.WhenAll(Enumerable.Range(0, 40).Select(async s =>
        {
            using var batch = await reader.ReadAsync(Request(d, s * 100, s * 100 + 100), ct);
            return TestData.BatchJson(batch);
        }));
        using var whole = await reader.ReadAsync(Request(d, 0, n), ct);
        var wholeRows = JsonDocument.Parse(TestData.BatchJson(whole)).RootElement.EnumerateArray().Select(e => e.GetRawText()).ToList();
        var pieces = texts.SelectMany(t => JsonDocument.Parse(t).RootElement.EnumerateArray().Select(e => e.GetRawText())).ToList();
        Assert.Equal(wholeRows, pieces);
    }

    [Fact]
    public async Task Registry_maps_kinds_to_readers()
    {
        Assert.IsType<CsvPartitionReader>(PartitionReaders.ForKind("CSV", new CsvReaderOptions { Delimiter = '\t' }));
        Assert.IsType<JsonLinesPartitionReader>(PartitionReaders.ForKind("jsonl"));
        Assert.IsType<JsonLinesPartitionReader>(PartitionReaders.ForKind("ndjson"));
        var e = Assert.Throws<ArgumentException>(() => PartitionReaders.ForKind("parquet-ish"));
        Assert.Contains("parquet-ish", e.Message);
        await Task.CompletedTask;
    }
}
