using System.Globalization;
using System.IO.Hashing;
using System.Text.Json;
using OrleansShards.Readers.Parquet;
using Parquet;
using Parquet.Serialization;

namespace OrleansShards.Readers.Tests;

public sealed class ParquetReaderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ShardReadRequest Request(PartitionDescription d, long start, long end, IReadOnlyList<string>? columns = null, int? limit = null)
        => new(d.Path, d.Fingerprint, start, end, columns, limit);

    /// <summary>A row of the test files: every type the reader writes, nullable columns, and a list.</summary>
    public sealed class Row
    {
        public long Id { get; set; }
        public string? Name { get; set; }
        public double? Score { get; set; }
        public bool? Flag { get; set; }
        public int Count { get; set; }
        public decimal Amount { get; set; }
        public DateTime Ts { get; set; }
        public byte[]? Blob { get; set; }
        public List<int?>? Tags { get; set; }
    }

    private static readonly string[] Columns = ["Id", "Name", "Score", "Flag", "Count", "Amount", "Ts", "Blob", "Tags"];

    internal static Row MakeRow(long i) => new()
    {
        Id = i,
        Name = i % 7 == 3 ? null : (i % 5) switch
        {
            0 => $"line\nbreak \"q\" {i}",
            1 => $"unicode é ✓ {i} \u0001",
            _ => $"plain {i}",
        },
        Score = i % 5 == 2 ? null : i % 97 == 1 ? double.NaN : i * 0.25 - 100,
        Flag = i % 4 == 0 ? null : i % 3 == 0,
        Count = (int)(i * 7 % 1000) - 500,
        Amount = (i * 13 % 100000) / 100m,
        Ts = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(i * 37),
        Blob = i % 6 == 5 ? null : [(byte)i, (byte)(i >> 8), 0xFF],
        Tags = (i % 9) switch
        {
            0 => null,
            1 => [],
            2 => [null],
            _ => [(int)i, null, (int)(i % 10)],
        },
    };

    /// <summary>Writes rows <c>[0, sum(groups))</c>, one row group per entry of <paramref name="groups"/>.</summary>
    internal static async Task WriteAsync(string path, IReadOnlyList<int> groups)
    {
        File.Delete(path);
        long next = 0;
        foreach (var size in groups)
        {
            var rows = Enumerable.Range(0, size).Select(k => MakeRow(next + k)).ToList();
            next += size;
            // Each call appends one row group (uneven sizes on purpose).
            await ParquetSerializer.SerializeAsync(rows, path, new ParquetOptions { Append = File.Exists(path) });
        }
    }

    /// <summary>Checks a written record against the row it came from, column by column.</summary>
    private static void AssertRecord(Row expected, JsonElement record, IReadOnlyList<string> columns)
    {
        Assert.Equal(columns, record.EnumerateObject().Select(p => p.Name));
        foreach (var c in columns)
        {
            var v = record.GetProperty(c);
            switch (c)
            {
                case "Id": Assert.Equal(expected.Id, v.GetInt64()); break;
                case "Name": Assert.Equal(expected.Name, v.ValueKind == JsonValueKind.Null ? null : v.GetString()); break;
                case "Score":
                    if (expected.Score is null)
                    {
                        Assert.Equal(JsonValueKind.Null, v.ValueKind);
                    }
                    else if (double.IsNaN(expected.Score.Value))
                    {
                        Assert.Equal("NaN", v.GetString());
                    }
                    else
                    {
                        Assert.Equal(expected.Score.Value, v.GetDouble());
                    }

                    break;
                case "Flag": Assert.Equal(expected.Flag, v.ValueKind == JsonValueKind.Null ? null : v.GetBoolean()); break;
                case "Count": Assert.Equal(expected.Count, v.GetInt32()); break;
                case "Amount": Assert.Equal(expected.Amount, v.GetDecimal()); break;
                case "Ts": Assert.Equal(expected.Ts.Ticks, DateTime.Parse(v.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind).Ticks); break;
                case "Blob": Assert.Equal(expected.Blob, v.ValueKind == JsonValueKind.Null ? null : v.GetBytesFromBase64()); break;
                case "Tags":
                    if (expected.Tags is null)
                    {
                        Assert.Equal(JsonValueKind.Null, v.ValueKind);
                    }
                    else
                    {
                        Assert.Equal(expected.Tags, v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? (int?)null : e.GetInt32()));
                    }

                    break;
                default: throw new InvalidOperationException(c);
            }
        }
    }

    [Fact]
    public async Task Describe_sums_the_row_groups_names_the_columns_and_hashes_the_file()
    {
        var path = _dir.File("a.parquet");
        await WriteAsync(path, [100, 1, 250, 37]);
        var reader = new ParquetPartitionReader();
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        Assert.Equal(388, d.RecordCount);
        Assert.Equal(Columns, d.Columns);
        var info = new FileInfo(path);
        Assert.Equal(info.Length, d.Fingerprint.Length);
        Assert.Equal(info.LastWriteTimeUtc.Ticks, d.Fingerprint.LastWriteTimeUtcTicks);
        Assert.Equal(XxHash3.HashToUInt64(File.ReadAllBytes(path)), d.Fingerprint.ContentHash);

        // Cached per length and modification time.
        await reader.DescribeAsync(path, ct);
        Assert.Equal(1, reader.FileScanCount);
        Assert.Contains("parquet", PartitionReaders.Kinds);
        Assert.IsType<ParquetPartitionReader>(PartitionReaders.ForKind("Parquet"));
    }

    [Fact]
    public async Task Every_split_equals_the_full_read_and_the_rows_written()
    {
        int[] groups = [700, 3, 1, 1200, 96, 500];
        var n = groups.Sum();
        var path = _dir.File("splits.parquet");
        await WriteAsync(path, groups);
        var ct = TestContext.Current.CancellationToken;
        var reader = new ParquetPartitionReader();
        var d = await reader.DescribeAsync(path, ct);
        Assert.Equal(n, d.RecordCount);
        using var full = await reader.ReadAsync(Request(d, 0, n), ct);
        Assert.Equal(n, full.Count);
        Assert.Equal(Columns, full.ColumnNames);
        var rows = new string[n];
        for (var i = 0; i < n; i++)
        {
            rows[i] = TestData.RecordJson(full, i);
            using var doc = JsonDocument.Parse(rows[i]);
            AssertRecord(MakeRow(i), doc.RootElement, Columns);
        }

        // Around every row group boundary, random ranges, empty ranges, the whole file; with a reader whose cache
        // keeps nothing, so every read decodes what it needs afresh.
        var uncached = new ParquetPartitionReader(cacheBytes: 0);
        var splits = TestData.Splits(n, 100);
        long boundary = 0;
        foreach (var g in groups)
        {
            boundary += g;
            foreach (var delta in new[] { -2, -1, 0, 1 })
            {
                var s = Math.Clamp(boundary + delta, 0, n);
                splits.Add((s, Math.Min(n, s + 1)));
                splits.Add((s, Math.Min(n, s + 5)));
                splits.Add((Math.Max(0, s - 3), Math.Min(n, s + 1300)));
            }
        }

        foreach (var r in new[] { reader, uncached })
        {
            foreach (var (start, end) in splits)
            {
                using var batch = await r.ReadAsync(Request(d, start, end), ct);
                Assert.Equal(end - start, batch.Count);
                for (var k = 0; k < batch.Count; k++)
                {
                    Assert.Equal(rows[start + k], TestData.RecordJson(batch, k));
                }
            }
        }
    }

    [Fact]
    public async Task Values_are_typed_json_and_text()
    {
        var path = _dir.File("types.parquet");
        await WriteAsync(path, [40]);
        var ct = TestContext.Current.CancellationToken;
        var reader = new ParquetPartitionReader();
        var d = await reader.DescribeAsync(path, ct);
        using var batch = await reader.ReadAsync(Request(d, 0, 40), ct);
        // The default writer of TestData escapes quotes and non-ASCII; a timestamp not adjusted to UTC has no zone.
        Assert.Equal("""{"Id":5,"Name":"line\nbreak \u0022q\u0022 5","Score":-98.75,"Flag":false,"Count":-465,"Amount":0.65,"Ts":"2024-01-01T00:03:05","Blob":null,"Tags":[5,null,5]}""",
            TestData.RecordJson(batch, 5));
        Assert.Equal("""{"Id":1,"Name":"unicode \u00E9 \u2713 1 \u0001","Score":"NaN","Flag":false,"Count":-493,"Amount":0.13,"Ts":"2024-01-01T00:00:37","Blob":"AQD/","Tags":[]}""",
            TestData.RecordJson(batch, 1));
        Assert.Equal("10", batch.GetText(10, "Id"));
        Assert.Equal("-97.5", batch.GetText(10, "Score"));
        Assert.Null(batch.GetText(2, "Score"));
        Assert.Equal("NaN", batch.GetText(1, "Score"));
        Assert.Null(batch.GetText(8, "Flag"));
        Assert.Equal("false", batch.GetText(1, "Flag"));
        Assert.Equal("true", batch.GetText(3, "Flag"));
        Assert.Equal("1.3", batch.GetText(10, "Amount"));
        Assert.Equal("CgD/", batch.GetText(10, "Blob"));
        Assert.Null(batch.GetText(5, "Blob"));
        Assert.Equal("[12,null,2]", batch.GetText(12, "Tags"));
        Assert.Equal("[]", batch.GetText(10, "Tags"));
        Assert.Null(batch.GetText(9, "Tags"));
        Assert.Equal("[null]", batch.GetText(11, "Tags"));
        Assert.Null(batch.GetText(3, "Name"));
        Assert.Equal("unicode é ✓ 1 \u0001", batch.GetText(1, "Name"));
        Assert.Equal("2024-01-01T00:06:10.0000000", batch.GetText(10, "Ts"));
        Assert.Throws<ArgumentException>(() => batch.GetText(0, "nope"));
    }

    [Fact]
    public async Task Projection_orders_columns_and_decodes_only_them()
    {
        int[] groups = [300, 300, 300];
        var path = _dir.File("proj.parquet");
        await WriteAsync(path, groups);
        var ct = TestContext.Current.CancellationToken;
        var reader = new ParquetPartitionReader();
        var d = await reader.DescribeAsync(path, ct);

        // Two row groups overlap [250, 350), one column is projected: two chunks decoded, nothing else.
        using (var batch = await reader.ReadAsync(Request(d, 250, 350, ["Tags", "Id"]), ct))
        {
            Assert.Equal(4, reader.ChunkDecodeCount);
            Assert.Equal(["Tags", "Id"], batch.ColumnNames);
            for (var k = 0; k < batch.Count; k++)
            {
                using var doc = JsonDocument.Parse(TestData.RecordJson(batch, k));
                AssertRecord(MakeRow(250 + k), doc.RootElement, ["Tags", "Id"]);
            }
        }

        // The same chunks again come from the cache; an empty projection decodes nothing.
        using (var again = await reader.ReadAsync(Request(d, 260, 299, ["Id"]), ct))
        using (var none = await reader.ReadAsync(Request(d, 0, 900, []), ct))
        {
            Assert.Equal(4, reader.ChunkDecodeCount);
            Assert.Equal(900, none.Count);
            Assert.Equal("{}", TestData.RecordJson(none, 899));
        }

        var unknown = await Assert.ThrowsAsync<ArgumentException>(async () => await reader.ReadAsync(Request(d, 0, 10, ["Id", "missing"]), ct));
        Assert.Contains("'missing'", unknown.Message);
        Assert.Contains(d.Path, unknown.Message);
        await Assert.ThrowsAsync<ArgumentException>(async () => await reader.ReadAsync(Request(d, 0, 10, ["Id", "Id"]), ct));
    }

    [Fact]
    public async Task A_column_whose_pages_are_garbage_is_never_decoded_unless_projected()
    {
        int[] groups = [400, 400];
        var path = _dir.File("corrupt.parquet");
        await WriteAsync(path, groups);

        // Overwrite every byte of column Name's chunk in the second row group.
        long offset, size;
        await using (var pq = await ParquetReader.CreateAsync(path))
        {
            var field = pq.Schema.DataFields.Single(f => f.Name == "Name");
            var meta = pq.OpenRowGroupReader(1).GetMetadata(field)!.MetaData!;
            offset = meta.DictionaryPageOffset ?? meta.DataPageOffset;
            size = meta.TotalCompressedSize;
        }

        await using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            fs.Position = offset;
            fs.Write(Enumerable.Repeat((byte)0xA7, (int)size).ToArray());
        }

        var ct = TestContext.Current.CancellationToken;
        var reader = new ParquetPartitionReader();
        var d = await reader.DescribeAsync(path, ct);
        Assert.Equal(800, d.RecordCount);
        var others = Columns.Where(c => c != "Name").ToArray();
        using (var batch = await reader.ReadAsync(Request(d, 0, 800, others), ct))
        {
            for (var k = 0; k < batch.Count; k++)
            {
                using var doc = JsonDocument.Parse(TestData.RecordJson(batch, k));
                AssertRecord(MakeRow(k), doc.RootElement, others);
            }
        }

        // The first row group's Name is intact; the second's is not, and the error names the place.
        using (var first = await reader.ReadAsync(Request(d, 0, 400, ["Name"]), ct))
        {
            Assert.Equal(MakeRow(399).Name, first.GetText(399, "Name"));
        }

        var error = await Assert.ThrowsAsync<MalformedRecordException>(async () => await reader.ReadAsync(Request(d, 390, 410, ["Id", "Name"]), ct));
        Assert.Equal(d.Path, error.Path);
        Assert.Equal(400, error.RecordIndex);
        Assert.Equal(offset, error.ByteOffset);
        Assert.Contains("row group 1", error.Message);
        Assert.Contains("'Name'", error.Message);

        // A failed decode is not cached as a success, and leaks no reference: the next read fails the same way.
        await Assert.ThrowsAsync<MalformedRecordException>(async () => await reader.ReadAsync(Request(d, 400, 401, ["Name"]), ct));
    }

    [Fact]
    public async Task Limit_caps_the_records()
    {
        var path = _dir.File("limit.parquet");
        await WriteAsync(path, [10, 10, 10]);
        var ct = TestContext.Current.CancellationToken;
        var reader = new ParquetPartitionReader();
        var d = await reader.DescribeAsync(path, ct);
        using var batch = await reader.ReadAsync(Request(d, 5, 30, ["Id"], limit: 7), ct);
        Assert.Equal(7, batch.Count);
        Assert.Equal(Enumerable.Range(5, 7).Select(i => i.ToString(CultureInfo.InvariantCulture)), Enumerable.Range(0, 7).Select(k => batch.GetText(k, "Id")));
        using var zero = await reader.ReadAsync(Request(d, 5, 30, null, limit: 0), ct);
        Assert.Equal(0, zero.Count);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await reader.ReadAsync(Request(d, 5, 31), ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await reader.ReadAsync(Request(d, 5, 6, null, limit: -1), ct));
    }

    [Fact]
    public async Task A_truncated_file_is_refused_at_describe_and_a_file_changed_later_at_read()
    {
        var path = _dir.File("t.parquet");
        await WriteAsync(path, [200, 200]);
        var bytes = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
        var truncated = _dir.File("truncated.parquet");
        await File.WriteAllBytesAsync(truncated, bytes[..(bytes.Length / 2)], TestContext.Current.CancellationToken);
        var empty = _dir.File("empty.parquet");
        await File.WriteAllBytesAsync(empty, [], TestContext.Current.CancellationToken);
        var ct = TestContext.Current.CancellationToken;
        var reader = new ParquetPartitionReader();
        foreach (var bad in new[] { truncated, empty })
        {
            var e = await Assert.ThrowsAsync<InvalidDataException>(async () => await reader.DescribeAsync(bad, ct));
            Assert.Contains(Path.GetFullPath(bad), e.Message);
            Assert.Contains("not a readable Parquet file", e.Message);
        }

        var d = await reader.DescribeAsync(path, ct);
        using (var before = await reader.ReadAsync(Request(d, 0, 10), ct))
        {
            Assert.Equal(10, before.Count);
        }

        // Truncated under a running job: the length no longer matches.
        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length - 100)], ct);
        var changed = await Assert.ThrowsAsync<SourceChangedException>(async () => await reader.ReadAsync(Request(d, 0, 10), ct));
        Assert.Contains("length", changed.Message);

        // Rewritten with the same length: the modification time (or the hash) gives it away.
        await File.WriteAllBytesAsync(path, bytes, ct);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(5));
        await Assert.ThrowsAsync<SourceChangedException>(async () => await reader.ReadAsync(Request(d, 0, 10), ct));
        File.Delete(path);
        await Assert.ThrowsAsync<SourceChangedException>(async () => await reader.ReadAsync(Request(d, 0, 10), ct));
    }

    public sealed class Inner
    {
        public int X { get; set; }
    }

    public sealed class WithStruct
    {
        public long Id { get; set; }
        public Inner? Nested { get; set; }
    }

    public sealed class WithMap
    {
        public long Id { get; set; }
        public Dictionary<string, int>? Attributes { get; set; }
    }

    [Fact]
    public async Task Nested_columns_are_refused_at_describe_naming_the_column()
    {
        var ct = TestContext.Current.CancellationToken;
        var structPath = _dir.File("struct.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new WithStruct { Id = 1, Nested = new Inner { X = 2 } } }, structPath, cancellationToken: ct);
        var mapPath = _dir.File("map.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new WithMap { Id = 1, Attributes = new() { ["a"] = 1 } } }, mapPath, cancellationToken: ct);
        var reader = new ParquetPartitionReader();
        var e1 = await Assert.ThrowsAsync<NotSupportedException>(async () => await reader.DescribeAsync(structPath, ct));
        Assert.Contains("column 'Nested' is a struct", e1.Message);
        Assert.Contains(structPath, e1.Message);
        var e2 = await Assert.ThrowsAsync<NotSupportedException>(async () => await reader.DescribeAsync(mapPath, ct));
        Assert.Contains("column 'Attributes' is a map", e2.Message);
    }

    [Fact]
    public async Task Batches_outlive_the_cache_and_concurrent_reads_share_decodes()
    {
        var path = _dir.File("shared.parquet");
        await WriteAsync(path, [1000, 1000]);
        var ct = TestContext.Current.CancellationToken;

        // A cache of one byte evicts every chunk at once: batches still hold theirs until disposed.
        var tiny = new ParquetPartitionReader(cacheBytes: 1);
        var d = await tiny.DescribeAsync(path, ct);
        var held = new List<RecordBatch>();
        for (var s = 0; s < 2000; s += 250)
        {
            held.Add(await tiny.ReadAsync(Request(d, s, s + 250), ct));
        }

        for (var b = 0; b < held.Count; b++)
        {
            using var doc = JsonDocument.Parse(TestData.RecordJson(held[b], 249));
            AssertRecord(MakeRow(b * 250 + 249), doc.RootElement, Columns);
            held[b].Dispose();
        }

        // Shards of one row group read in parallel decode each chunk once.
        var reader = new ParquetPartitionReader();
        await reader.DescribeAsync(path, ct);
        var reads = Enumerable.Range(0, 16).Select(async s =>
        {
            await Task.Yield();
            using var batch = await reader.ReadAsync(Request(d, s * 125, s * 125 + 125), ct);
            return TestData.RecordJson(batch, 0);
        }).ToArray();
        var first = await Task.WhenAll(reads);
        Assert.Equal(2 * Columns.Length, reader.ChunkDecodeCount);
        for (var s = 0; s < 16; s++)
        {
            using var doc = JsonDocument.Parse(first[s]);
            AssertRecord(MakeRow(s * 125), doc.RootElement, Columns);
        }
    }
}
