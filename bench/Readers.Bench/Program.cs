// Readers benchmark: raw bytes vs the bare parsers vs our readers (shards of 10,000 records), side by side.
// dotnet run -c Release --project bench/Readers.Bench -- [--rows N] [--dir DIR] [--runs 5] [--shard 10000]
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OrleansShards.Readers;
using OrleansShards.Readers.Bench;
using OrleansShards.Readers.Csv;
using OrleansShards.Readers.JsonLines;
using CH = CsvHelper;

// Other formats have their own benchmark classes, chosen by the first argument.
switch (args.FirstOrDefault())
{
    case "tfrecord":
        return await OrleansShards.Readers.Bench.TfRecordBench.RunAsync(args[1..]);
    case "parquet":
        return await OrleansShards.Readers.Bench.ParquetBench.RunAsync(args[1..]);
}

var rows = 1_000_000;
var runs = 5;
var shard = 10_000;
var dir = Path.Combine(Path.GetTempPath(), "readers-bench");
for (var i = 0; i < args.Length - 1; i += 2)
{
    switch (args[i])
    {
        case "--rows": rows = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--runs": runs = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--shard": shard = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--dir": dir = args[i + 1]; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

Directory.CreateDirectory(dir);
var csvPath = Path.Combine(dir, $"bench-{rows}.csv");
var jsonlPath = Path.Combine(dir, $"bench-{rows}.jsonl");
if (!File.Exists(csvPath) || !File.Exists(jsonlPath))
{
    Generate(csvPath, jsonlPath, rows);
}

var csvBytes = new FileInfo(csvPath).Length;
var jsonlBytes = new FileInfo(jsonlPath).Length;
Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cpus, server GC {System.Runtime.GCSettings.IsServerGC}");
Console.WriteLine($"CSV   {csvPath}: {rows:N0} rows, {csvBytes / 1e6:F1} MB");
Console.WriteLine($"JSONL {jsonlPath}: {rows:N0} rows, {jsonlBytes / 1e6:F1} MB");
Console.WriteLine($"median of {runs} runs after a warm-up; our readers read shards of {shard:N0} records");

// Index build (cold: side file removed) once, for the record.
var csvReader = new CsvPartitionReader();
var jsonlReader = new JsonLinesPartitionReader();
File.Delete(csvPath + ".osidx");
File.Delete(jsonlPath + ".osidx");
var sw = Stopwatch.StartNew();
var csvDesc = await csvReader.DescribeAsync(csvPath);
var csvIndexSeconds = sw.Elapsed.TotalSeconds;
sw.Restart();
var jsonlDesc = await jsonlReader.DescribeAsync(jsonlPath);
var jsonlIndexSeconds = sw.Elapsed.TotalSeconds;
Console.WriteLine($"index build (one full scan + XxHash3 + side file): CSV {csvIndexSeconds * 1000:F0} ms ({csvBytes / 1e6 / csvIndexSeconds:F0} MB/s), JSONL {jsonlIndexSeconds * 1000:F0} ms ({jsonlBytes / 1e6 / jsonlIndexSeconds:F0} MB/s)");
if (csvDesc.RecordCount != rows || jsonlDesc.RecordCount != rows)
{
    Console.Error.WriteLine($"record counts differ: csv {csvDesc.RecordCount}, jsonl {jsonlDesc.RecordCount}, expected {rows}");
    return 1;
}

var results = new List<(string Name, double Seconds, long Bytes, long Rows)>();
void Measure(string name, long bytes, Func<long> body)
{
    var expected = body(); // warm-up
    var times = new List<double>();
    for (var r = 0; r < runs; r++)
    {
        var t = Stopwatch.StartNew();
        var got = body();
        times.Add(t.Elapsed.TotalSeconds);
        if (got != expected)
        {
            throw new InvalidOperationException($"{name}: run {r} gave {got}, the warm-up {expected}");
        }
    }

    times.Sort();
    results.Add((name, times[times.Count / 2], bytes, rows));
}

Measure("csv   (a) raw read, FileStream 1 MiB", csvBytes, () => Shared.RawRead(csvPath));
Measure("csv   (b) CsvHelper 34 UTF-8: Read + GetSpan every field", csvBytes, () => CsvHelperBare(csvPath, parse: false));
if (Environment.GetEnvironmentVariable("BENCH_CB") == "1")
{
    Measure("csv   (b-cb) CsvHelper + OnMalformedRecord set", csvBytes, () => CsvHelperBare(csvPath, parse: false, callback: true));
}

Measure("csv   (b') CsvHelper 34 UTF-8: Read + Parse<T> typed", csvBytes, () => CsvHelperBare(csvPath, parse: true));
Measure("csv   (b-mem) CsvHelper over the file's bytes in memory", csvBytes, () => CsvHelperInMemory(csvPath));
Measure("csv   (b'') CsvHelper + Utf8JsonWriter, the same JSON", csvBytes, () => CsvHelperJson(csvPath, shard));
Measure("csv   (c) ours: ReadAsync shards + WriteRecord every row", csvBytes, () => Shared.ReadShardsAsync(csvReader, csvDesc, shard, write: true).GetAwaiter().GetResult());
Measure("csv   (c') ours: ReadAsync shards only (batch built)", csvBytes, () => Shared.ReadShardsAsync(csvReader, csvDesc, shard, write: false).GetAwaiter().GetResult());
Measure("csv   (c'') ours: shards + GetText every value", csvBytes, () => OursGetText(csvReader, csvDesc, shard));
Measure("csv   (d) Sylvan.Data.Csv 1.4.4: Read + GetFieldSpan", csvBytes, () => Sylvan(csvPath));
Measure("jsonl (a) raw read, FileStream 1 MiB", jsonlBytes, () => Shared.RawRead(jsonlPath));
Measure("jsonl (b) Utf8JsonReader: every token of every line", jsonlBytes, () => JsonBare(jsonlPath));
Measure("jsonl (c) ours: ReadAsync shards + WriteRecord every row", jsonlBytes, () => Shared.ReadShardsAsync(jsonlReader, jsonlDesc, shard, write: true).GetAwaiter().GetResult());
Measure("jsonl (c') ours: shards, projection of 3 columns + WriteRecord", jsonlBytes, () => Shared.ReadShardsAsync(jsonlReader, jsonlDesc, shard, write: true, columns: ["id", "name", "score"]).GetAwaiter().GetResult());

Console.WriteLine();
Console.WriteLine($"{"what",-62} {"median s",9} {"M rows/s",9} {"MB/s",8}");
foreach (var (name, seconds, bytes, n) in results)
{
    Console.WriteLine($"{name,-62} {seconds,9:F3} {n / seconds / 1e6,9:F2} {bytes / seconds / 1e6,8:F0}");
}

double Time(string prefix) => results.First(r => r.Name.StartsWith(prefix, StringComparison.Ordinal)).Seconds;
Console.WriteLine();
Console.WriteLine($"ratio csv   (c)/(b)  = {Time("csv   (b) ") / Time("csv   (c) "):F2}   (c')/(b) = {Time("csv   (b) ") / Time("csv   (c') "):F2}   (c)/(b') = {Time("csv   (b') ") / Time("csv   (c) "):F2}   (target >= 0.70)");
Console.WriteLine($"ratio csv   (c)/(b'') = {Time("csv   (b'') ") / Time("csv   (c) "):F2}   (like for like: both parse and write the same JSON)");
Console.WriteLine($"ratio csv   (c')/(b-mem) = {Time("csv   (b-mem) ") / Time("csv   (c') "):F2}   (batch only, against the parser over bytes in memory, as ours uses it)");
var oursJson = Shared.ReadShardsAsync(csvReader, csvDesc, shard, write: true).GetAwaiter().GetResult();
var bareJson = CsvHelperJson(csvPath, shard);
Console.WriteLine($"same JSON: (c) and (b'') wrote {oursJson - rows:N0} and {bareJson - rows:N0} bytes{(oursJson == bareJson ? "" : "  MISMATCH")}");
Console.WriteLine($"ratio jsonl (c)/(b)  = {Time("jsonl (b) ") / Time("jsonl (c) "):F2}");
Console.WriteLine($"ratio csv   (d)/(b)  = {Time("csv   (b) ") / Time("csv   (d) "):F2}   (Sylvan against CsvHelper)");
return 0;


static long CsvHelperBare(string path, bool parse, bool callback = false)
{
    using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
    using var csv = CH.CsvReader.Create(fs, CH.CsvReaderOptions.Default with { Separator = ',', DetectSeparatorHint = false, BufferSize = 1 << 18, OnMalformedRecord = callback ? _ => { } : null });
    long sum = 0;
    while (csv.Read())
    {
        if (parse)
        {
            sum += csv.Parse<long>(0) & 1;
            sum += csv.GetSpan(1).Length + csv.GetSpan(2).Length;
            sum += (long)csv.Parse<double>(3) & 1;
            sum += csv.Parse<int>(4) & 1;
            sum += csv.GetSpan(5).Length;
        }
        else
        {
            for (var i = 0; i < csv.FieldCount; i++)
            {
                sum += csv.GetSpan(i).Length;
            }
        }
    }

    return sum;
}

static long CsvHelperInMemory(string path)
{
    var bytes = File.ReadAllBytes(path);
    using var csv = CH.CsvReader.Create(bytes, CH.CsvReaderOptions.Default with { Separator = ',', DetectSeparatorHint = false });
    long sum = 0;
    while (csv.Read())
    {
        for (var i = 0; i < csv.FieldCount; i++)
        {
            sum += csv.GetSpan(i).Length;
        }
    }

    return sum;
}

// The JSON that our reader's WriteRecord gives (every value a string, the same escaping), written straight from the
// parser with Utf8JsonWriter: shards of `shard` records into one reused buffer, as Shared.ReadShardsAsync does.
static long CsvHelperJson(string path, int shard)
{
    using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
    using var csv = CH.CsvReader.Create(fs, CH.CsvReaderOptions.Default with { Separator = ',', DetectSeparatorHint = false, BufferSize = 1 << 18 });
    var output = new ArrayBufferWriter<byte>(1 << 22);
    using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    csv.ReadHeader();
    var names = csv.Headers.Select(h => JsonEncodedText.Encode(h, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping)).ToArray();
    long sum = 0;
    var inShard = 0;
    void Finish()
    {
        writer.WriteEndArray();
        writer.Flush();
        sum += output.WrittenCount + inShard;
        inShard = 0;
    }

    while (csv.Read())
    {
        if (inShard == 0)
        {
            output.ResetWrittenCount();
            writer.Reset(output);
            writer.WriteStartArray();
        }

        writer.WriteStartObject();
        for (var i = 0; i < names.Length; i++)
        {
            writer.WriteString(names[i], csv.GetSpan(i));
        }

        writer.WriteEndObject();
        if (++inShard == shard)
        {
            Finish();
        }
    }

    if (inShard > 0)
    {
        Finish();
    }

    return sum;
}

static long Sylvan(string path)
{
    using var text = new StreamReader(path, Encoding.UTF8, false, 1 << 20);
    using var csv = global::Sylvan.Data.Csv.CsvDataReader.Create(text, new global::Sylvan.Data.Csv.CsvDataReaderOptions { Delimiter = ',', BufferSize = 1 << 18 });
    long sum = 0;
    while (csv.Read())
    {
        for (var i = 0; i < csv.FieldCount; i++)
        {
            sum += csv.GetFieldSpan(i).Length;
        }
    }

    return sum;
}

static long JsonBare(string path)
{
    var buffer = new byte[1 << 20];
    using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
    int start = 0, end = 0;
    long sum = 0;
    while (true)
    {
        var n = fs.Read(buffer, end, buffer.Length - end);
        end += n;
        int nl;
        while ((nl = buffer.AsSpan(start, end - start).IndexOf((byte)'\n')) >= 0)
        {
            var reader = new Utf8JsonReader(buffer.AsSpan(start, nl));
            while (reader.Read())
            {
                sum += reader.ValueSpan.Length;
            }

            start += nl + 1;
        }

        if (n == 0)
        {
            return sum;
        }

        buffer.AsSpan(start, end - start).CopyTo(buffer);
        end -= start;
        start = 0;
    }
}


static long OursGetText(IPartitionReader reader, PartitionDescription d, int shard)
{
    long sum = 0;
    for (long s = 0; s < d.RecordCount; s += shard)
    {
        using var batch = reader.ReadAsync(new ShardReadRequest(d.Path, d.Fingerprint, s, Math.Min(d.RecordCount, s + shard))).AsTask().GetAwaiter().GetResult();
        for (var r = 0; r < batch.Count; r++)
        {
            foreach (var c in d.Columns)
            {
                sum += batch.GetText(r, c)!.Length;
            }
        }
    }

    return sum;
}

static void Generate(string csvPath, string jsonlPath, int rows)
{
    Console.WriteLine($"generating {rows:N0} rows ...");
    var random = new Random(12345);
    string[] names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
    string[] words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "data", "shard", "epoch", "record"];
    using var csv = new StreamWriter(csvPath, false, new UTF8Encoding(false), 1 << 20);
    using var jsonl = new FileStream(jsonlPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
    using var json = new Utf8JsonWriter(jsonl);
    csv.Write("id,name,category,score,count,comment\n");
    var sb = new StringBuilder();
    for (var i = 0; i < rows; i++)
    {
        var name = names[random.Next(names.Length)] + "-" + random.Next(1000).ToString(CultureInfo.InvariantCulture);
        var category = "cat" + random.Next(20).ToString(CultureInfo.InvariantCulture);
        var score = Math.Round(random.NextDouble() * 1000, 4);
        var count = random.Next(100000);
        sb.Clear();
        var wordCount = 3 + random.Next(5);
        for (var w = 0; w < wordCount; w++)
        {
            sb.Append(w == 0 ? "" : " ").Append(words[random.Next(words.Length)]);
        }

        if (i % 10 == 0)
        {
            sb.Append(", and \"more\"");
        }

        if (i % 100 == 0)
        {
            sb.Append("\nsecond line");
        }

        var comment = sb.ToString();
        var quoted = comment.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + comment.Replace("\"", "\"\"") + "\"" : comment;
        csv.Write(string.Create(CultureInfo.InvariantCulture, $"{i},{name},{category},{score},{count},{quoted}\n"));
        json.Reset();
        json.WriteStartObject();
        json.WriteNumber("id", i);
        json.WriteString("name", name);
        json.WriteString("category", category);
        json.WriteNumber("score", score);
        json.WriteNumber("count", count);
        json.WriteString("comment", comment);
        json.WriteEndObject();
        json.Flush();
        jsonl.WriteByte((byte)'\n');
    }
}
