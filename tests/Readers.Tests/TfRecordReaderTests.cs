using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using OrleansShards.Readers.TfRecord;
using static OrleansShards.Readers.Tests.TfRecordTestFiles;

namespace OrleansShards.Readers.Tests;

public sealed class TfRecordReaderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ShardReadRequest Request(PartitionDescription d, long start, long end, IReadOnlyList<string>? columns = null, int? limit = null)
        => new(d.Path, d.Fingerprint, start, end, columns, limit);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Checks the JSON of record i against the features it was written with.</summary>
    private static void AssertRecord(int i, string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (IsRaw(i))
        {
            var only = Assert.Single(root.EnumerateObject());
            Assert.Equal("bytes", only.Name);
            Assert.Equal(Convert.ToBase64String(RawRecord(i)), only.Value.GetString());
            return;
        }

        Assert.Equal(Features(i).Select(f => f.Key), root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(i, root.GetProperty("id").GetInt64());
        if (i % 7 != 3)
        {
            Assert.Equal(i * 0.25f, root.GetProperty("score").GetSingle());
        }

        Assert.Equal($"line \"{i}\"\né ✓\t\\", root.GetProperty("text").GetString());
        Assert.Equal([$"t{i % 5}", "x"], root.GetProperty("tags").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([i, -i, i * 1_000_000_000_000L], root.GetProperty("vec").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(Convert.ToBase64String(Binary(i)), root.GetProperty("blob").GetString());
        var emb = root.GetProperty("emb").EnumerateArray().ToList();
        if (i % 11 == 5)
        {
            Assert.Equal("NaN", emb[0].GetString());
            Assert.Equal("Infinity", emb[1].GetString());
            Assert.Equal(-1.5f, emb[2].GetSingle());
        }
        else
        {
            Assert.Equal([0.5f, i, -i / 4f], emb.Select(e => e.GetSingle()));
        }
    }

    [Fact]
    public void Writer_frames_records_with_the_masked_crc32c_of_length_and_data()
    {
        var path = _dir.File("framing.tfrecord");
        var random = new Random(3);
        var records = Enumerable.Range(0, 80).Select(n => { var b = new byte[n * 7 % 97]; random.NextBytes(b); return b; }).ToList();
        Write(path, records.Count, i => records[i]);
        var bytes = File.ReadAllBytes(path);
        var at = 0;
        foreach (var record in records)
        {
            Assert.Equal((ulong)record.Length, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at)));
            Assert.Equal(ReferenceMasked(bytes.AsSpan(at, 8)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8)));
            Assert.Equal(record, bytes.AsSpan(at + 12, record.Length).ToArray());
            Assert.Equal(ReferenceMasked(record), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 12 + record.Length)));
            at += 16 + record.Length;
        }

        Assert.Equal(bytes.Length, at);
        // The CRC32C check value and TensorFlow's mask of it.
        Assert.Equal(0xE3069283u, ReferenceCrc32C("123456789"u8));
    }

    [Fact]
    public async Task Describe_counts_records_and_takes_columns_from_the_first_record()
    {
        var path = _dir.File("a.tfrecord");
        Write(path, 2500);
        var reader = new TfRecordPartitionReader();
        var d = await reader.DescribeAsync(path, Ct);
        Assert.Equal(2500, d.RecordCount);
        Assert.Equal(new FileInfo(path).Length, d.Fingerprint.Length);
        Assert.Equal(["id", "score", "text", "tags", "vec", "blob", "emb"], d.Columns);

        var raw = _dir.File("raw.tfrecord");
        Write(raw, 3, i => RawRecord(9));
        Assert.Equal(["bytes"], (await reader.DescribeAsync(raw, Ct)).Columns);

        var empty = _dir.File("empty.tfrecord");
        File.WriteAllBytes(empty, []);
        var e = await reader.DescribeAsync(empty, Ct);
        Assert.Equal(0, e.RecordCount);
        Assert.Empty(e.Columns);
        using var none = await reader.ReadAsync(Request(e, 0, 0), Ct);
        Assert.Equal(0, none.Count);
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(7)]
    public async Task Every_split_equals_the_full_scan(int stride)
    {
        const int n = 2600;
        var path = _dir.File($"splits-{stride}.tfrecord");
        Write(path, n);
        var reader = new TfRecordPartitionReader(stride);
        var d = await reader.DescribeAsync(path, Ct);
        using var full = await reader.ReadAsync(Request(d, 0, n), Ct);
        Assert.Equal(n, full.Count);
        var expected = new string[n];
        for (var i = 0; i < n; i++)
        {
            expected[i] = TestData.RecordJson(full, i);
            AssertRecord(i, expected[i]);
        }

        foreach (var (start, end) in TestData.Splits(n, stride))
        {
            using var batch = await reader.ReadAsync(Request(d, start, end), Ct);
            Assert.Equal(end - start, batch.Count);
            for (var r = 0; r < batch.Count; r++)
            {
                Assert.Equal(expected[start + r], TestData.RecordJson(batch, r));
            }
        }
    }

    [Fact]
    public async Task GetText_gives_scalars_text_and_arrays_as_json()
    {
        var path = _dir.File("text.tfrecord");
        Write(path, 30);
        var reader = new TfRecordPartitionReader();
        var d = await reader.DescribeAsync(path, Ct);
        using var batch = await reader.ReadAsync(Request(d, 0, 30), Ct);
        Assert.Equal("12", batch.GetText(12, "id"));
        Assert.Equal("3", batch.GetText(12, "score"));
        Assert.Null(batch.GetText(10, "score")); // 10 % 7 == 3: absent
        Assert.Equal("line \"12\"\né ✓\t\\", batch.GetText(12, "text"));
        Assert.Equal(Convert.ToBase64String(Binary(12)), batch.GetText(12, "blob"));
        Assert.Equal("""["t2","x"]""", batch.GetText(12, "tags"));
        Assert.Equal("[12,-12,12000000000000]", batch.GetText(12, "vec"));
        Assert.Equal("""["NaN","Infinity",-1.5]""", batch.GetText(5, "emb"));
        Assert.Null(batch.GetText(12, "nope"));
        Assert.Equal(Convert.ToBase64String(RawRecord(19)), batch.GetText(19, "bytes"));
        Assert.Null(batch.GetText(19, "id"));
        Assert.Null(batch.GetText(12, "bytes"));
    }

    [Fact]
    public async Task Projection_and_limit_write_named_columns_in_order_and_missing_as_null()
    {
        var path = _dir.File("proj.tfrecord");
        Write(path, 500);
        var reader = new TfRecordPartitionReader(indexStride: 16);
        var d = await reader.DescribeAsync(path, Ct);
        using var batch = await reader.ReadAsync(Request(d, 37, 400, ["vec", "id", "bytes", "absent", "score"], limit: 25), Ct);
        Assert.Equal(25, batch.Count);
        for (var r = 0; r < batch.Count; r++)
        {
            var i = 37 + r;
            using var doc = JsonDocument.Parse(TestData.RecordJson(batch, r));
            var root = doc.RootElement;
            Assert.Equal(["vec", "id", "bytes", "absent", "score"], root.EnumerateObject().Select(p => p.Name));
            Assert.Equal(JsonValueKind.Null, root.GetProperty("absent").ValueKind);
            if (IsRaw(i))
            {
                Assert.Equal(Convert.ToBase64String(RawRecord(i)), root.GetProperty("bytes").GetString());
                Assert.Equal(JsonValueKind.Null, root.GetProperty("id").ValueKind);
            }
            else
            {
                Assert.Equal(i, root.GetProperty("id").GetInt64());
                Assert.Equal(3, root.GetProperty("vec").GetArrayLength());
                Assert.Equal(JsonValueKind.Null, root.GetProperty("bytes").ValueKind);
                Assert.Equal(i % 7 == 3 ? JsonValueKind.Null : JsonValueKind.Number, root.GetProperty("score").ValueKind);
                Assert.Equal(i.ToString(), batch.GetText(r, "id"));
            }
        }

        Assert.Throws<ArgumentException>(() => batch.GetText(0, "text"));
    }

    [Fact]
    public async Task A_flipped_data_byte_fails_only_reads_of_that_record_naming_file_record_and_offset()
    {
        const int n = 3000;
        var path = _dir.File("data-crc.tfrecord");
        var offsets = Write(path, n);
        var bytes = File.ReadAllBytes(path);
        bytes[offsets[1234] + 12 + 5] ^= 0x10;
        File.WriteAllBytes(path, bytes);

        var reader = new TfRecordPartitionReader();
        var d = await reader.DescribeAsync(path, Ct);
        Assert.Equal(n, d.RecordCount);
        using (var before = await reader.ReadAsync(Request(d, 0, 1234), Ct))
        {
            Assert.Equal(1234, before.Count);
        }

        using (var after = await reader.ReadAsync(Request(d, 1235, n), Ct))
        {
            AssertRecord(1235, TestData.RecordJson(after, 0));
        }

        foreach (var (start, end) in new[] { (1000L, 2000L), (1234L, 1235L), (1233L, 1240L) })
        {
            var e = await Assert.ThrowsAsync<MalformedRecordException>(async () => await reader.ReadAsync(Request(d, start, end), Ct));
            Assert.Equal((path, 1234L, offsets[1234]), (e.Path, e.RecordIndex, e.ByteOffset));
            Assert.Contains(path, e.Message);
            Assert.Contains("record 1234", e.Message);
            Assert.Contains($"byte offset {offsets[1234]}", e.Message);
            Assert.Contains("data CRC check failed", e.Message);
        }

        // A flipped bit in the stored data CRC is the same failure.
        bytes = File.ReadAllBytes(_dir.File("data-crc.tfrecord"));
        bytes[offsets[1234] + 12 + 5] ^= 0x10;
        bytes[offsets[2001] - 2] ^= 0x01; // the last byte but one of record 2000's data CRC
        File.WriteAllBytes(path, bytes);
        d = await reader.DescribeAsync(path, Ct);
        var crcError = await Assert.ThrowsAsync<MalformedRecordException>(async () => await reader.ReadAsync(Request(d, 1990, 2010, ["id"]), Ct));
        Assert.Equal((2000L, offsets[2000]), (crcError.RecordIndex, crcError.ByteOffset));
    }

    [Fact]
    public async Task A_flipped_length_byte_stops_describe_there_and_says_so()
    {
        var path = _dir.File("length-crc.tfrecord");
        var offsets = Write(path, 3000);
        var bytes = File.ReadAllBytes(path);
        bytes[offsets[2345] + 1] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        var reader = new TfRecordPartitionReader();
        var e = await Assert.ThrowsAsync<MalformedRecordException>(async () => await reader.DescribeAsync(path, Ct));
        Assert.Equal((path, 2345L, offsets[2345]), (e.Path, e.RecordIndex, e.ByteOffset));
        Assert.Contains("record 2345", e.Message);
        Assert.Contains($"byte offset {offsets[2345]}", e.Message);
        Assert.Contains("length CRC check failed", e.Message);
        Assert.Contains("cannot be found", e.Message);
        Assert.False(File.Exists(path + ".osidx"));

        // A flipped bit in the stored length CRC is the same failure.
        bytes[offsets[2345] + 1] ^= 0x01;
        bytes[offsets[7] + 9] ^= 0x80;
        File.WriteAllBytes(path, bytes);
        e = await Assert.ThrowsAsync<MalformedRecordException>(async () => await reader.DescribeAsync(path, Ct));
        Assert.Equal(7, e.RecordIndex);
    }

    [Theory]
    [InlineData(3)]   // inside the header of the last record
    [InlineData(40)]  // inside its data
    [InlineData(-1)]  // inside its data CRC
    public async Task A_truncated_file_fails_only_reads_of_its_last_record(int keep)
    {
        const int n = 1501; // the last record is an example of some 200 bytes
        var path = _dir.File($"truncated{keep}.tfrecord");
        var offsets = Write(path, n);
        var cut = keep >= 0 ? offsets[n - 1] + keep : offsets[n] + keep;
        using (var fs = new FileStream(path, FileMode.Open))
        {
            fs.SetLength(cut);
        }

        var reader = new TfRecordPartitionReader(indexStride: 100);
        var d = await reader.DescribeAsync(path, Ct);
        Assert.Equal(n, d.RecordCount);
        using (var ok = await reader.ReadAsync(Request(d, 1000, n - 1), Ct))
        {
            Assert.Equal(n - 1001, ok.Count);
        }

        foreach (var start in new long[] { 1400, n - 1 })
        {
            var e = await Assert.ThrowsAsync<MalformedRecordException>(async () => await reader.ReadAsync(Request(d, start, n), Ct));
            Assert.Equal((n - 1L, offsets[n - 1]), (e.RecordIndex, e.ByteOffset));
            Assert.Contains("truncated", e.Message);
            Assert.Contains($"record {n - 1}", e.Message);
        }
    }

    [Fact]
    public async Task Records_that_are_not_strictly_examples_come_as_raw_bytes()
    {
        var valid = Example([("a", new TfValue.Int64s([1]))]);
        byte[][] notExamples =
        [
            [],                                                                  // empty
            [.. valid, 0x10, 0x01],                                              // unknown field 2 after the example
            [0x0A, 0x05, .. MapEntry("a", new TfValue.Int64s([1]))[..5]],        // features cut short
            Message(o => { o.WriteTag(1, Google.Protobuf.WireFormat.WireType.Varint); o.WriteInt64(3); }), // wrong wire type
            Example([("x", new TfValue.Int64s([1]))]).Select(b => b == (byte)'x' ? (byte)0xFF : b).ToArray(), // key not UTF-8
            Message(o =>
            {
                // A Feature that sets two lists.
                var feature = Feature(new TfValue.Int64s([1])).Concat(Feature(new TfValue.Floats([1f]))).ToArray();
                var entry = Message(e => { e.WriteTag(1, Google.Protobuf.WireFormat.WireType.LengthDelimited); e.WriteString("k"); e.WriteTag(2, Google.Protobuf.WireFormat.WireType.LengthDelimited); e.WriteBytes(Google.Protobuf.ByteString.CopyFrom(feature)); });
                var features = Message(f => { f.WriteTag(1, Google.Protobuf.WireFormat.WireType.LengthDelimited); f.WriteBytes(Google.Protobuf.ByteString.CopyFrom(entry)); });
                o.WriteTag(1, Google.Protobuf.WireFormat.WireType.LengthDelimited);
                o.WriteBytes(Google.Protobuf.ByteString.CopyFrom(features));
            }),
            Encoding.UTF8.GetBytes("plain text is not an example"),
        ];
        byte[][] examples =
        [
            valid,
            Example([("dup", new TfValue.Int64s([1])), ("other", new TfValue.Bytes([])), ("dup", new TfValue.Floats([2.5f], Packed: false)), ("unset", new TfValue.Unset())]),
            [0x0A, 0x00], // an example with no features
        ];
        var records = notExamples.Concat(examples).ToArray();
        var path = _dir.File("strict.tfrecord");
        Write(path, records.Length, i => records[i]);
        var reader = new TfRecordPartitionReader();
        var d = await reader.DescribeAsync(path, Ct);
        Assert.Equal(["bytes"], d.Columns);
        using var batch = await reader.ReadAsync(Request(d, 0, records.Length), Ct);
        for (var i = 0; i < notExamples.Length; i++)
        {
            Assert.Equal($"{{\"bytes\":\"{Convert.ToBase64String(notExamples[i]).Replace("+", "\\u002B")}\"}}", TestData.RecordJson(batch, i));
        }

        var e = notExamples.Length;
        Assert.Equal("""{"a":1}""", TestData.RecordJson(batch, e));
        Assert.Equal("""{"dup":2.5,"other":[],"unset":null}""", TestData.RecordJson(batch, e + 1));
        Assert.Equal("{}", TestData.RecordJson(batch, e + 2));
        Assert.Equal("2.5", batch.GetText(e + 1, "dup"));
        Assert.Equal("[]", batch.GetText(e + 1, "other"));
        Assert.Null(batch.GetText(e + 1, "unset"));
    }

    [Fact]
    public async Task Large_records_cross_chunks_and_come_back_byte_for_byte()
    {
        int[] sizes = [0, 1, 5000, 70_000, 9_000_000, 3, 200_000, 4096, 4095, 4097, 12, 600_000, 1];
        var random = new Random(9);
        var records = sizes.Select(s =>
        {
            var b = new byte[s];
            random.NextBytes(b);
            if (s > 0)
            {
                b[0] = 0xFF; // never an example
            }

            return b;
        }).ToArray();
        var path = _dir.File("large.tfrecord");
        Write(path, records.Length, i => records[i]);
        var reader = new TfRecordPartitionReader(indexStride: 4);
        var d = await reader.DescribeAsync(path, Ct);
        Assert.Equal(records.Length, d.RecordCount);
        for (var start = 0; start <= records.Length; start++)
        {
            for (var end = start; end <= records.Length; end++)
            {
                using var batch = await reader.ReadAsync(Request(d, start, end), Ct);
                Assert.Equal(end - start, batch.Count);
                for (var r = 0; r < batch.Count; r++)
                {
                    Assert.Equal(Convert.ToBase64String(records[start + r]), batch.GetText(r, "bytes"));
                }
            }
        }
    }

    [Fact]
    public async Task The_index_is_kept_beside_the_file_reused_and_rebuilt_when_the_file_changes()
    {
        var path = _dir.File("index.tfrecord");
        Write(path, 5000);
        var first = new TfRecordPartitionReader();
        var d1 = await first.DescribeAsync(path, Ct);
        Assert.True(File.Exists(path + ".osidx"));
        using (await first.ReadAsync(Request(d1, 4100, 4200), Ct))
        {
        }

        Assert.Equal((1, 0), (first.IndexScanCount, first.IndexLoadCount));
        var second = new TfRecordPartitionReader();
        var d2 = await second.DescribeAsync(path, Ct);
        Assert.Equal((0, 1), (second.IndexScanCount, second.IndexLoadCount));
        Assert.Equal(d1.Columns, d2.Columns);
        Assert.Equal(d1 with { Columns = [] }, d2 with { Columns = [] });
        using (var batch = await second.ReadAsync(Request(d2, 4095, 4100, ["id"]), Ct))
        {
            Assert.Equal("4095", batch.GetText(0, "id"));
        }

        await Task.Delay(20, Ct);
        using (var fs = new FileStream(path, FileMode.Append))
        {
            new TfRecordWriter(fs).Write(Record(5000));
        }

        var d3 = await second.DescribeAsync(path, Ct);
        Assert.Equal(5001, d3.RecordCount);
        Assert.Equal(1, second.IndexScanCount);
        await Assert.ThrowsAsync<SourceChangedException>(async () => await second.ReadAsync(Request(d2, 0, 10), Ct));
        using var last = await second.ReadAsync(Request(d3, 5000, 5001), Ct);
        AssertRecord(5000, TestData.RecordJson(last, 0));
    }

    [Fact]
    public void The_kind_is_registered()
    {
        Assert.Contains("tfrecord", PartitionReaders.Kinds);
        Assert.IsType<TfRecordPartitionReader>(PartitionReaders.ForKind("TFRecord"));
    }
}
