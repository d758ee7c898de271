using System.Text.Json;
using OrleansShards.Readers.Arrow;
using OrleansShards.Readers.Csv;
using OrleansShards.Readers.Parquet;
using Parquet;
using Parquet.Serialization;

namespace OrleansShards.Readers.Tests;

/// <summary>Files built to make a reader allocate without bound: each is refused by name, and the process goes on.</summary>
public sealed class ReadBoundsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    public sealed class Named
    {
        public string? Name { get; set; }
    }

    [Fact]
    public async Task A_parquet_page_header_over_the_array_limit_is_a_malformed_record_naming_file_and_column()
    {
        var ct = TestContext.Current.CancellationToken;
        var path = _dir.File("huge-page.parquet");
        await ParquetSerializer.SerializeAsync(Enumerable.Range(0, 50).Select(i => new Named { Name = $"name {i}" }), path, cancellationToken: ct);
        long offset;
        await using (var pq = await ParquetReader.CreateAsync(path, cancellationToken: ct))
        {
            var meta = pq.OpenRowGroupReader(0).GetMetadata(pq.Schema.DataFields[0])!.MetaData!;
            offset = meta.DataPageOffset;
        }

        // The page header (Thrift compact): type, uncompressed size, compressed size, each 0x15 and a zigzag varint.
        // The data page's compressed size becomes int.MaxValue, past Array.MaxLength; the one column's chunk is the
        // last before the footer, so the bytes this inserts move nothing the footer points at. (Parquet.Net 6.1 reads
        // the chunk whole and fails the decode; a version that allocates the declared size throws
        // OutOfMemoryException, which the reader turns into the same MalformedRecordException naming the size.)
        var bytes = await File.ReadAllBytesAsync(path, ct);
        var position = (int)offset;
        var fieldStarts = new List<int>();
        for (var field = 0; field < 3; field++)
        {
            Assert.Equal(0x15, bytes[position]);
            fieldStarts.Add(position);
            position++;
            while ((bytes[position++] & 0x80) != 0)
            {
            }
        }

        byte[] huge = [0x15, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F];
        var patched = bytes[..fieldStarts[2]].Concat(huge).Concat(bytes[position..]).ToArray();
        await File.WriteAllBytesAsync(path, patched, ct);

        var reader = new ParquetPartitionReader();
        var d = await reader.DescribeAsync(path, ct);
        Assert.Equal(50, d.RecordCount);
        var error = await Assert.ThrowsAsync<MalformedRecordException>(async () => await reader.ReadAsync(new ShardReadRequest(d.Path, d.Fingerprint, 0, 50), ct));
        Assert.Equal(path, error.Path);
        Assert.Contains("'Name'", error.Message);

        // The process goes on: another file reads.
        var good = _dir.File("good.parquet");
        await ParquetSerializer.SerializeAsync(Enumerable.Range(0, 3).Select(i => new Named { Name = $"n{i}" }), good, cancellationToken: ct);
        var g = await reader.DescribeAsync(good, ct);
        using var batch = await reader.ReadAsync(new ShardReadRequest(g.Path, g.Fingerprint, 0, 3), ct);
        Assert.Equal("n2", batch.GetText(2, "Name"));
    }

    [Fact]
    public async Task A_csv_read_over_the_byte_limit_is_a_malformed_record_naming_file_and_row()
    {
        var ct = TestContext.Current.CancellationToken;
        var path = _dir.File("long-record.csv");
        // Record 5 is 64 KiB long; the limit here is 16 KiB (1 GiB by default).
        var lines = Enumerable.Range(0, 10).Select(i => i == 5 ? $"{i},{new string('x', 64 << 10)}" : $"{i},short");
        await File.WriteAllTextAsync(path, "id,text\n" + string.Join('\n', lines) + "\n", ct);
        var reader = new CsvPartitionReader(new CsvReaderOptions { IndexStride = 1, MaxReadBytes = 16 << 10 });
        var d = await reader.DescribeAsync(path, ct);
        using (var fine = await reader.ReadAsync(new ShardReadRequest(d.Path, d.Fingerprint, 0, 5), ct))
        {
            Assert.Equal(5, fine.Count);
        }

        var error = await Assert.ThrowsAsync<MalformedRecordException>(async () => await reader.ReadAsync(new ShardReadRequest(d.Path, d.Fingerprint, 5, 6), ct));
        Assert.Equal(path, error.Path);
        Assert.Equal(5, error.RecordIndex);
        Assert.Contains("16384 bytes", error.Message);
        using var after = await reader.ReadAsync(new ShardReadRequest(d.Path, d.Fingerprint, 6, 10), ct);
        Assert.Equal(4, after.Count);
    }

    [Fact]
    public void Schemaless_arrow_is_bounded_by_columns_and_bytes_and_keeps_sparse_values_in_place()
    {
        // Record i has the properties "k{i}" and "shared": 300 columns, each present in one record.
        void Write(Utf8JsonWriter writer, int i)
        {
            writer.WriteStartObject();
            writer.WriteNumber($"k{i}", i);
            writer.WriteString("shared", $"s{i}");
            writer.WriteEndObject();
        }

        using (var batch = ArrowRecords.FromJson(300, Write, limits: new ReadLimits { ArrowMaxColumns = 301 }))
        {
            Assert.Equal(301, batch.ColumnCount);
            var k7 = (Apache.Arrow.Int64Array)batch.Column("k7");
            Assert.Equal(299, k7.NullCount);
            Assert.Equal(7, k7.GetValue(7));
            Assert.Equal("s299", ((Apache.Arrow.StringArray)batch.Column("shared")).GetString(299));
        }

        var columns = Assert.Throws<ArrowAnswerTooLargeException>(() => ArrowRecords.FromJson(300, Write, limits: new ReadLimits { ArrowMaxColumns = 300 }));
        Assert.Equal("ArrowMaxColumns", columns.Limit);
        Assert.Contains("columns=", columns.Message);

        // Named columns are not bounded by the records' other properties.
        using (var named = ArrowRecords.FromJson(300, Write, ["shared"], new ReadLimits { ArrowMaxColumns = 1 }))
        {
            Assert.Equal(1, named.ColumnCount);
        }

        // The bytes: 300 rows of 301 columns hold 300 x 300 x 8 bytes of int64 slots, past a 100 KB bound.
        var bytes = Assert.Throws<ArrowAnswerTooLargeException>(() => ArrowRecords.FromJson(300, Write, limits: new ReadLimits { ArrowMaxBytes = 100_000 }));
        Assert.Equal("ArrowMaxBytes", bytes.Limit);

        // The ambient bound applies where no limits are passed (the HTTP routes set it around ToArrow).
        using (ArrowRecords.Bound(new ReadLimits { ArrowMaxColumns = 2 }))
        {
            Assert.Throws<ArrowAnswerTooLargeException>(() => ArrowRecords.FromJson(300, Write));
        }

        using var unbounded = ArrowRecords.FromJson(300, Write);
        Assert.Equal(301, unbounded.ColumnCount);
    }
}
