using System.Text;
using System.Text.Json;

namespace OrleansShards.Readers.Tests;

/// <summary>A temporary directory with generated data files, deleted at the end.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "readers-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public static class TestData
{
    public static readonly string[] CsvColumns = ["id", "name", "note", "value"];

    /// <summary>The values of record i: quotes, delimiters, line breaks, JSON escapes and non-ASCII among them.</summary>
    public static string[] CsvRow(int i)
    {
        var note = (i % 7) switch
        {
            0 => $"plain {i}",
            1 => $"with, comma {i}",
            2 => $"with \"quotes\" {i}",
            3 => $"multi\nline\r\nnote {i}",
            4 => "",
            5 => $"tab\tand back\\slash {i} é ✓",
            _ => $"\"\"\n,{i}",
        };
        return [i.ToString(), $"name-{i % 13}", note, (i * 0.5).ToString(System.Globalization.CultureInfo.InvariantCulture)];
    }

    public static string Quote(string value)
        => value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;

    /// <summary>Writes a CSV file of <paramref name="count"/> records (with some empty lines between them).</summary>
    public static void WriteCsv(string path, int count, bool header = true)
    {
        var sb = new StringBuilder();
        if (header)
        {
            sb.Append(string.Join(",", CsvColumns)).Append('\n');
        }

        for (var i = 0; i < count; i++)
        {
            sb.Append(string.Join(",", CsvRow(i).Select(Quote))).Append(i % 3 == 0 ? "\r\n" : "\n");
            if (i % 500 == 250)
            {
                sb.Append('\n');
            }
        }

        System.IO.File.WriteAllText(path, sb.ToString(), new UTF8Encoding(false));
    }

    /// <summary>The JSON object of record i.</summary>
    public static string JsonRow(int i)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteNumber("id", i);
            w.WriteString("text", (i % 5) switch
            {
                0 => $"line\nbreak \"q\" {i}",
                1 => $"back\\slash\ttab {i}",
                2 => $"unicode é ✓ {i} \u0001",
                _ => $"plain {i}",
            });
            if (i % 4 != 0)
            {
                w.WriteBoolean("flag", i % 2 == 0);
            }

            w.WriteStartObject("nested");
            w.WriteNumber("x", i * 2);
            w.WriteStartArray("a");
            w.WriteNumberValue(1);
            w.WriteNullValue();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(ms.ToArray());
    }

    public static void WriteJsonLines(string path, int count)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            sb.Append(JsonRow(i)).Append(i % 3 == 0 ? "\r\n" : "\n");
            if (i % 400 == 10)
            {
                sb.Append("\n   \n");
            }
        }

        System.IO.File.WriteAllText(path, sb.ToString(), new UTF8Encoding(false));
    }

    public static string RecordJson(RecordBatch batch, int row)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            batch.WriteRecord(w, row);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static string BatchJson(RecordBatch batch)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            for (var i = 0; i < batch.Count; i++)
            {
                batch.WriteRecord(w, i);
            }

            w.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The ranges to compare with a full scan: around every index entry, random ones, empty ones, the whole file.</summary>
    public static List<(long Start, long End)> Splits(long count, int stride, int seed = 42)
    {
        var result = new List<(long, long)> { (0, count), (0, 0), (count, count), (count / 2, count / 2) };
        for (long b = 0; b <= count; b += stride)
        {
            foreach (var d in new[] { -2, -1, 0, 1, 2 })
            {
                var s = b + d;
                if (s < 0 || s > count)
                {
                    continue;
                }

                result.Add((s, Math.Min(count, s + 1)));
                result.Add((s, Math.Min(count, s + 3)));
                result.Add((Math.Max(0, s - 5), s));
                result.Add((s, Math.Min(count, s + stride + 1)));
            }
        }

        var random = new Random(seed);
        for (var i = 0; i < 150; i++)
        {
            var a = random.NextInt64(0, count + 1);
            var b = random.NextInt64(0, count + 1);
            result.Add((Math.Min(a, b), Math.Max(a, b)));
        }

        return result;
    }
}
