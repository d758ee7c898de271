using System.Text;
using System.Text.Json;
using OrleansShards.Readers.JsonLines;

namespace OrleansShards.Readers.Tests;

public sealed class JsonLinesReaderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ShardReadRequest Request(PartitionDescription d, long start, long end, IReadOnlyList<string>? columns = null, int? limit = null)
        => new(d.Path, d.Fingerprint, start, end, columns, limit);

    [Fact]
    public async Task Blank_lines_are_not_records_and_columns_come_from_the_first_record()
    {
        var path = _dir.File("a.jsonl");
        TestData.WriteJsonLines(path, 4500);
        var reader = new JsonLinesPartitionReader();
        var d = await reader.DescribeAsync(path, TestContext.Current.CancellationToken);
        Assert.Equal(4500, d.RecordCount);
        Assert.Equal(["id", "text", "nested"], d.Columns);
    }

    [Fact]
    public async Task Every_split_equals_the_full_scan_and_the_raw_lines()
    {
        const int n = 4500;
        var path = _dir.File("splits.jsonl");
        TestData.WriteJsonLines(path, n);
        var reader = new JsonLinesPartitionReader();
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        using var full = await reader.ReadAsync(Request(d, 0, n), ct);
        Assert.Equal(n, full.Count);
        for (var i = 0; i < n; i++)
        {
            // Written back raw: byte for byte the line.
            Assert.Equal(TestData.JsonRow(i), TestData.RecordJson(full, i));
        }

        foreach (var (start, end) in TestData.Splits(n, 1024))
        {
            using var batch = await reader.ReadAsync(Request(d, start, end), ct);
            Assert.Equal(end - start, batch.Count);
            for (var r = 0; r < batch.Count; r++)
            {
                var i = (int)(start + r);
                Assert.Equal(TestData.JsonRow(i), TestData.RecordJson(batch, r));
                using var doc = JsonDocument.Parse(TestData.JsonRow(i));
                Assert.Equal(doc.RootElement.GetProperty("text").GetString(), batch.GetText(r, "text"));
                Assert.Equal(i.ToString(), batch.GetText(r, "id"));
            }
        }
    }

    [Fact]
    public async Task Projection_writes_named_properties_in_order_and_missing_as_null()
    {
        const int n = 2000;
        var path = _dir.File("proj.jsonl");
        TestData.WriteJsonLines(path, n);
        var reader = new JsonLinesPartitionReader(indexStride: 64);
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        using var batch = await reader.ReadAsync(Request(d, 60, 1000, ["nested", "flag", "id", "absent"], limit: 9), ct);
        Assert.Equal(9, batch.Count);
        for (var r = 0; r < batch.Count; r++)
        {
            var i = 60 + r;
            using var original = JsonDocument.Parse(TestData.JsonRow(i));
            using var written = JsonDocument.Parse(TestData.RecordJson(batch, r));
            Assert.Equal(["nested", "flag", "id", "absent"], written.RootElement.EnumerateObject().Select(p => p.Name));
            Assert.Equal(original.RootElement.GetProperty("nested").GetRawText(), written.RootElement.GetProperty("nested").GetRawText());
            Assert.Equal(JsonValueKind.Null, written.RootElement.GetProperty("absent").ValueKind);
            if (i % 4 == 0)
            {
                Assert.Equal(JsonValueKind.Null, written.RootElement.GetProperty("flag").ValueKind);
                Assert.Null(batch.GetText(r, "flag"));
            }
            else
            {
                Assert.Equal(i % 2 == 0 ? "true" : "false", batch.GetText(r, "flag"));
            }

            Assert.Equal(i.ToString(), batch.GetText(r, "id"));
            Assert.Null(batch.GetText(r, "absent"));
        }

        // Escaped property names and escaped string values.
        var escaped = _dir.File("escaped.jsonl");
        File.WriteAllText(escaped, """{"n\u0061me":"a\"b\\c\nd","x":1}""" + "\n");
        var d2 = await reader.DescribeAsync(escaped, ct);
        Assert.Equal(["name", "x"], d2.Columns);
        using var b2 = await reader.ReadAsync(Request(d2, 0, 1, ["name"]), ct);
        Assert.Equal("a\"b\\c\nd", b2.GetText(0, "name"));
        Assert.Equal("""{"name":"a\"b\\c\nd"}""", TestData.RecordJson(b2, 0));
    }

    [Fact]
    public async Task Invalid_line_names_file_record_and_offset()
    {
        var path = _dir.File("bad.jsonl");
        var sb = new StringBuilder();
        long badOffset = 0;
        for (var i = 0; i < 2500; i++)
        {
            if (i == 1900)
            {
                badOffset = Encoding.UTF8.GetByteCount(sb.ToString());
                sb.Append("{\"id\": 1900, \"broken\": tru}\n");
            }
            else
            {
                sb.Append(TestData.JsonRow(i)).Append('\n');
            }

            if (i == 5)
            {
                sb.Append('\n');
            }
        }

        File.WriteAllText(path, sb.ToString());
        var reader = new JsonLinesPartitionReader();
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        Assert.Equal(2500, d.RecordCount);
        using (var ok = await reader.ReadAsync(Request(d, 1000, 1900), ct))
        {
            Assert.Equal(900, ok.Count);
        }

        var e = await Assert.ThrowsAsync<MalformedRecordException>(async () => await reader.ReadAsync(Request(d, 1800, 2000), ct));
        Assert.Equal(path, e.Path);
        Assert.Equal(1900, e.RecordIndex);
        Assert.Equal(badOffset, e.ByteOffset);
        Assert.Contains(path, e.Message);
        Assert.Contains("record 1900", e.Message);

        // The same with a projection.
        e = await Assert.ThrowsAsync<MalformedRecordException>(async () => await reader.ReadAsync(Request(d, 1899, 1901, ["id"]), ct));
        Assert.Equal(1900, e.RecordIndex);
    }

    [Theory]
    [InlineData("[1,2,3]")]
    [InlineData("\"just a string\"")]
    [InlineData("42")]
    [InlineData("{\"a\":1} {\"b\":2}")]
    [InlineData("{\"a\":1")]
    public async Task A_line_that_is_not_one_object_is_malformed(string line)
    {
        var path = _dir.File("notobject.jsonl");
        File.WriteAllText(path, "{\"a\":0}\n" + line + "\n{\"a\":2}\n");
        var reader = new JsonLinesPartitionReader();
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        Assert.Equal(3, d.RecordCount);
        var e = await Assert.ThrowsAsync<MalformedRecordException>(async () => await reader.ReadAsync(Request(d, 0, 3), ct));
        Assert.Equal(1, e.RecordIndex);
        Assert.Equal(8, e.ByteOffset);
        using var ok = await reader.ReadAsync(Request(d, 2, 3), ct);
        Assert.Equal("""{"a":2}""", TestData.RecordJson(ok, 0));
    }

    [Fact]
    public async Task Invalid_utf8_is_malformed()
    {
        var path = _dir.File("utf8.jsonl");
        File.WriteAllBytes(path, [.. "{\"a\":\"x"u8, 0xC3, 0x28, .. "\"}\n"u8]);
        var reader = new JsonLinesPartitionReader();
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        var e = await Assert.ThrowsAsync<MalformedRecordException>(async () => await reader.ReadAsync(Request(d, 0, 1), ct));
        Assert.Contains("UTF-8", e.Message);
    }

    [Fact]
    public async Task Last_line_without_newline_and_byte_order_mark()
    {
        var path = _dir.File("bom.jsonl");
        File.WriteAllText(path, "{\"a\":1}\n  \n{\"a\":2}", new UTF8Encoding(true));
        var reader = new JsonLinesPartitionReader(indexStride: 1);
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        Assert.Equal(2, d.RecordCount);
        Assert.Equal(["a"], d.Columns);
        using var b = await reader.ReadAsync(Request(d, 0, 2), ct);
        Assert.Equal("""[{"a":1},{"a":2}]""", TestData.BatchJson(b));
        using var b2 = await reader.ReadAsync(Request(d, 1, 2), ct);
        Assert.Equal("""{"a":2}""", TestData.RecordJson(b2, 0));
    }
}
