using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using OrleansShards.Readers.Csv;

namespace OrleansShards.Readers.Tests;

/// <summary>The CSV batch keeps raw values and encodes JSON when a record is written: check it against a reference.</summary>
public sealed class CsvBatchTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly string[] Columns = ["a", "b é", "c\"q", "d"];

    /// <summary>Values that need every path: clean, escaped, unescaped by the parser, empty, long, very long.</summary>
    private static string[] Row(int i) => (i % 9) switch
    {
        0 => [$"{i}", "plain", "x", ""],
        1 => [$"{i}", "ctl\u0001\u001f", "tab\there", "back\\slash"],
        2 => [$"{i}", "say \"hi\"", "\"\"\"\"", "é ✓ 😀"],
        3 => [$"{i}", "", "", ""],
        4 => [$"{i}", new string('y', 31), new string('z', 17), new string('w', 33)],
        5 => [$"{i}", new string('"', 3000), "after many quotes", "multi\nline\r\nvalue"],
        6 => [$"{i}", new string('v', 300_000), "long", "u\u2028v"],
        7 => [$"{i}", "<script>&'", "ok", new string('é', 40)],
        _ => [$"{i}", "x,y", "\"", "end"],
    };

    private static string Quote(string value)
        => value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;

    private static string Reference(string[] columns, string[] values)
    {
        var output = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            for (var c = 0; c < columns.Length; c++)
            {
                w.WriteString(columns[c], values[c]);
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    [Fact]
    public async Task Records_are_the_json_a_writer_gives_for_every_kind_of_value_and_every_split()
    {
        const int n = 200;
        var path = _dir.File("kinds.csv");
        var sb = new StringBuilder(string.Join(",", Columns.Select(Quote))).Append('\n');
        for (var i = 0; i < n; i++)
        {
            sb.Append(string.Join(",", Row(i).Select(Quote))).Append(i % 2 == 0 ? "\n" : "\r\n");
        }

        File.WriteAllText(path, sb.ToString(), new UTF8Encoding(false));
        var reader = new CsvPartitionReader(new CsvReaderOptions { IndexStride = 5 });
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        Assert.Equal(n, d.RecordCount);
        foreach (var (start, end) in new (long, long)[] { (0, n), (0, 1), (3, 17), (5, 10), (194, 200), (199, 200) }.Concat(TestData.Splits(n, 5, seed: 3).Take(30)))
        {
            using var batch = await reader.ReadAsync(new ShardReadRequest(d.Path, d.Fingerprint, start, end), ct);
            Assert.Equal(end - start, batch.Count);
            for (var r = 0; r < batch.Count; r++)
            {
                var values = Row((int)start + r);
                Assert.Equal(Reference(Columns, values), TestData.RecordJson(batch, r));
                for (var c = 0; c < Columns.Length; c++)
                {
                    Assert.Equal(values[c], batch.GetText(r, Columns[c]));
                }
            }
        }

        // A projection in another order, with a column twice as long as the others.
        using var projected = await reader.ReadAsync(new ShardReadRequest(d.Path, d.Fingerprint, 0, n, ["d", "b é", "a"]), ct);
        for (var r = 0; r < n; r++)
        {
            var v = Row(r);
            Assert.Equal(Reference(["d", "b é", "a"], [v[3], v[1], v[0]]), TestData.RecordJson(projected, r));
        }

        using var none = await reader.ReadAsync(new ShardReadRequest(d.Path, d.Fingerprint, 10, 12, []), ct);
        Assert.Equal("{}", TestData.RecordJson(none, 1));
    }

    [Fact]
    public async Task Invalid_utf8_becomes_the_replacement_character_in_json_and_text()
    {
        var path = _dir.File("bad-utf8.csv");
        File.WriteAllBytes(path, [.. "a,b\n1,x"u8, 0xFF, .. "y\n2,ok\n"u8]);
        var reader = new CsvPartitionReader();
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        using var batch = await reader.ReadAsync(new ShardReadRequest(d.Path, d.Fingerprint, 0, 2), ct);
        Assert.Equal("x\uFFFDy", batch.GetText(0, "b"));
        using var doc = JsonDocument.Parse(TestData.RecordJson(batch, 0));
        Assert.Equal("x\uFFFDy", doc.RootElement.GetProperty("b").GetString());
        Assert.Equal("""{"a":"2","b":"ok"}""", TestData.RecordJson(batch, 1));
    }

    [Fact]
    public async Task Many_unescaped_values_grow_the_batch_and_keep_the_others()
    {
        // Every value has doubled quotes, so the parser unescapes all of them: more than the room kept for them.
        var path = _dir.File("quotes.csv");
        var sb = new StringBuilder("a,b\n");
        for (var i = 0; i < 500; i++)
        {
            sb.Append($"\"{i}\"\"{new string('q', i % 50)}\",\"\"\"\"{i}\n");
        }

        File.WriteAllText(path, sb.ToString());
        var reader = new CsvPartitionReader(new CsvReaderOptions { IndexStride = 64 });
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        using var batch = await reader.ReadAsync(new ShardReadRequest(d.Path, d.Fingerprint, 70, 500), ct);
        for (var r = 0; r < batch.Count; r++)
        {
            var i = 70 + r;
            Assert.Equal($"{i}\"{new string('q', i % 50)}", batch.GetText(r, "a"));
            Assert.Equal($"\"{i}", batch.GetText(r, "b"));
            Assert.Equal(Reference(["a", "b"], [$"{i}\"{new string('q', i % 50)}", $"\"{i}"]), TestData.RecordJson(batch, r));
        }
    }

    [Fact]
    public async Task A_disposed_batch_refuses_reads()
    {
        var path = _dir.File("disposed.csv");
        TestData.WriteCsv(path, 10);
        var reader = new CsvPartitionReader();
        var ct = TestContext.Current.CancellationToken;
        var d = await reader.DescribeAsync(path, ct);
        var batch = await reader.ReadAsync(new ShardReadRequest(d.Path, d.Fingerprint, 0, 10), ct);
        batch.Dispose();
        batch.Dispose();
        Assert.Throws<ObjectDisposedException>(() => batch.GetText(0, "id"));
        using var w = new Utf8JsonWriter(new ArrayBufferWriter<byte>());
        Assert.Throws<ObjectDisposedException>(() => batch.WriteRecord(w, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.GetText(10, "id"));
    }
}
