// Parquet benchmark: raw bytes vs bare Parquet.Net vs our reader (shards + WriteRecord), side by side in one run.
// dotnet run -c Release --project bench/Readers.Bench -- parquet [--rows N] [--group ROWS] [--dir DIR] [--runs 5]
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using OrleansShards.Readers.Arrow;
using OrleansShards.Readers.Parquet;
using Parquet;
using Parquet.Schema;

namespace OrleansShards.Readers.Bench;

/// <summary>The Parquet benchmark.</summary>
internal static class ParquetBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rows = 18_000_000;
        var group = 1_000_000;
        var runs = 5;
        var dir = Path.Combine(Path.GetTempPath(), "readers-bench");
        for (var i = 0; i < args.Length - 1; i += 2)
        {
            switch (args[i])
            {
                case "--rows": rows = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--group": group = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--runs": runs = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--dir": dir = args[i + 1]; break;
                default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
            }
        }

        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"bench-{rows}-{group}.parquet");
        if (!File.Exists(path))
        {
            var sw0 = Stopwatch.StartNew();
            await GenerateAsync(path, rows, group);
            Console.WriteLine($"generated in {sw0.Elapsed.TotalSeconds:F0} s");
        }

        var bytes = new FileInfo(path).Length;
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cpus, server GC {System.Runtime.GCSettings.IsServerGC}");
        Console.WriteLine($"Parquet {path}: {rows:N0} rows in row groups of {group:N0}, {bytes / 1e6:F1} MB (Snappy, Parquet.Net 6.1.0 defaults)");
        Console.WriteLine($"median of {runs} runs after a warm-up; every run of ours uses a fresh reader (described before the clock starts), so no decoded chunk survives from a run before");

        var sw = Stopwatch.StartNew();
        var d = await new ParquetPartitionReader().DescribeAsync(path);
        Console.WriteLine($"describe (footer + XxHash3 of the whole file), cold reader: {sw.Elapsed.TotalMilliseconds:F0} ms ({bytes / 1e6 / sw.Elapsed.TotalSeconds:F0} MB/s)");
        if (d.RecordCount != rows)
        {
            Console.Error.WriteLine($"record count {d.RecordCount}, expected {rows}");
            return 1;
        }

        var results = new List<(string Name, double Seconds)>();
        async Task Measure(string name, Func<ParquetPartitionReader, Task<long>> body)
        {
            var readers = new Queue<ParquetPartitionReader>();
            for (var r = 0; r <= runs; r++)
            {
                var reader = new ParquetPartitionReader();
                await reader.DescribeAsync(path);
                readers.Enqueue(reader);
            }

            var expected = await body(readers.Dequeue()); // warm-up
            var times = new List<double>();
            for (var r = 0; r < runs; r++)
            {
                var reader = readers.Dequeue();
                GC.Collect();
                var t = Stopwatch.StartNew();
                var got = await body(reader);
                times.Add(t.Elapsed.TotalSeconds);
                if (got != expected)
                {
                    throw new InvalidOperationException($"{name}: run {r} gave {got}, the warm-up {expected}");
                }
            }

            times.Sort();
            results.Add((name, times[times.Count / 2]));
            Console.WriteLine($"  {name}: {times[times.Count / 2]:F3} s");
        }

        string[] two = ["id", "score"];
        await Measure("(a) raw read, FileStream 1 MiB", _ => Task.FromResult(Shared.RawRead(path)));
        await Measure("(b) bare Parquet.Net: every row group, every column (raw API)", _ => BareAsync(path, null, typed: false));
        await Measure("(b') bare Parquet.Net: typed ReadAsync into arrays", _ => BareAsync(path, null, typed: true));
        await Measure("(c) ours: shards of 10,000 + WriteRecord every row", r => Shared.ReadShardsAsync(r, d, 10_000, write: true, null, bufferBytes: 1 << 24));
        await Measure("(c') ours: shards of 10,000, batch only (no JSON)", r => Shared.ReadShardsAsync(r, d, 10_000, write: false, null, bufferBytes: 1 << 24));
        await Measure("(d) ours: shards of 100,000 + WriteRecord every row", r => Shared.ReadShardsAsync(r, d, 100_000, write: true, null, bufferBytes: 1 << 24));
        await Measure("(d') ours: shards of 100,000, batch only (no JSON)", r => Shared.ReadShardsAsync(r, d, 100_000, write: false, null, bufferBytes: 1 << 24));
        await Measure("(e) bare: columns id, score only (raw API)", _ => BareAsync(path, two, typed: false));
        await Measure("(f) ours: columns id, score, shards of 10,000 + WriteRecord", r => Shared.ReadShardsAsync(r, d, 10_000, write: true, two, bufferBytes: 1 << 24));
        await Measure("(g) ours: shards of 10,000 + ToArrow + Arrow IPC stream", r => ReadShardsArrowAsync(r, d, 10_000, ipc: true));
        await Measure("(g') ours: shards of 10,000 + ToArrow only", r => ReadShardsArrowAsync(r, d, 10_000, ipc: false));

        Console.WriteLine();
        Console.WriteLine($"{"what",-66} {"median s",9} {"M rows/s",9} {"MB/s",8}");
        foreach (var (name, seconds) in results)
        {
            Console.WriteLine($"{name,-66} {seconds,9:F3} {rows / seconds / 1e6,9:F2} {bytes / seconds / 1e6,8:F0}");
        }

        double Time(string prefix) => results.First(r => r.Name.StartsWith(prefix, StringComparison.Ordinal)).Seconds;
        Console.WriteLine();
        Console.WriteLine($"ratio (c)/(b)  = {Time("(b) ") / Time("(c) "):F2}   (c')/(b) = {Time("(b) ") / Time("(c') "):F2}   (target >= 0.70)");
        Console.WriteLine($"ratio (d)/(b)  = {Time("(b) ") / Time("(d) "):F2}   (d')/(b) = {Time("(b) ") / Time("(d') "):F2}");
        Console.WriteLine($"ratio (c)/(b') = {Time("(b') ") / Time("(c) "):F2}   (c')/(b') = {Time("(b') ") / Time("(c') "):F2}   (against the typed API most callers use)");
        Console.WriteLine($"ratio (f)/(e)  = {Time("(e) ") / Time("(f) "):F2}   (projection of 2 columns; (f) against (c): {Time("(c) ") / Time("(f) "):F1}x faster)");
        Console.WriteLine($"ratio (g)/(c)  = {Time("(c) ") / Time("(g) "):F2}   (g')/(c) = {Time("(c) ") / Time("(g') "):F2}   (the Arrow answer against the JSON answer of the same shards)");
        return 0;
    }


    /// <summary>Every shard as the Arrow answer: <c>ToArrow</c> of all its rows, written as an IPC stream when asked.</summary>
    private static async Task<long> ReadShardsArrowAsync(IPartitionReader reader, PartitionDescription description, int shard, bool ipc)
    {
        var output = new MemoryStream(1 << 24);
        long sum = 0;
        for (long s = 0; s < description.RecordCount; s += shard)
        {
            using var batch = await reader.ReadAsync(new ShardReadRequest(description.Path, description.Fingerprint, s, Math.Min(description.RecordCount, s + shard)));
            var rows = new int[batch.Count];
            for (var i = 0; i < rows.Length; i++)
            {
                rows[i] = i;
            }

            using var arrow = batch.ToArrow(rows);
            sum += arrow.Length;
            if (ipc)
            {
                output.SetLength(0);
                await ArrowRecords.WriteStreamAsync(output, arrow, null);
                sum += output.Length;
            }
        }

        return sum;
    }

    /// <summary>The library alone: every row group, the columns, decoded and let go.</summary>
    private static async Task<long> BareAsync(string path, string[]? columns, bool typed)
    {
        await using var reader = await ParquetReader.CreateAsync(path);
        var fields = reader.Schema.DataFields.Where(f => columns is null || columns.Contains(f.Name)).ToArray();
        long sum = 0;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            var rg = reader.OpenRowGroupReader(g);
            var n = (int)rg.RowCount;
            foreach (var field in fields)
            {
                if (!typed)
                {
                    using var raw = await rg.ReadRawColumnDataBaseAsync(field);
                    sum += n;
                    continue;
                }

                if (field.ClrType == typeof(ReadOnlyMemory<char>))
                {
                    var values = new string?[n];
                    await rg.ReadAsync(field, values.AsMemory());
                    sum += values[n - 1]?.Length ?? 0;
                }
                else if (field.ClrType == typeof(long))
                {
                    var values = new long[n];
                    await rg.ReadAsync<long>(field, values.AsMemory());
                    sum += values[n - 1] & 1;
                }
                else if (field.ClrType == typeof(int))
                {
                    var values = new int[n];
                    await rg.ReadAsync<int>(field, values.AsMemory());
                    sum += values[n - 1] & 1;
                }
                else if (field.ClrType == typeof(double))
                {
                    var values = new double?[n];
                    await rg.ReadAsync<double>(field, values.AsMemory());
                    sum += values[n - 1] is null ? 0 : 1;
                }
                else if (field.ClrType == typeof(bool))
                {
                    var values = new bool?[n];
                    await rg.ReadAsync<bool>(field, values.AsMemory());
                    sum += values[n - 1] is true ? 1 : 0;
                }
                else if (field.ClrType == typeof(DateTime))
                {
                    var values = new DateTime[n];
                    await rg.ReadAsync<DateTime>(field, values.AsMemory());
                    sum += values[n - 1].Second;
                }
                else
                {
                    throw new InvalidOperationException(field.ClrType.Name);
                }
            }
        }

        return sum == 0 ? -1 : 1;
    }


    private static async Task GenerateAsync(string path, int rows, int group)
    {
        Console.WriteLine($"generating {rows:N0} rows ...");
        var id = new DataField<long>("id");
        var name = new DataField<string>("name");
        var category = new DataField<string>("category");
        var score = new DataField<double?>("score");
        var count = new DataField<int>("count");
        var flag = new DataField<bool?>("flag");
        var ts = new DateTimeDataField("ts", DateTimeFormat.Timestamp, isAdjustedToUTC: true);
        var comment = new DataField<string>("comment", true);
        var schema = new ParquetSchema(id, name, category, score, count, flag, ts, comment);
        var random = new Random(12345);
        string[] names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
        var words = Enumerable.Range(0, 400).Select(i => new string((char)('a' + i % 26), 1) + (i * 7919 % 100000).ToString(CultureInfo.InvariantCulture) + "xyz"[i % 3]).ToArray();
        var temp = path + ".tmp";
        await using (var stream = File.Create(temp))
        {
            await using var writer = await ParquetWriter.CreateAsync(schema, stream);
            var sb = new StringBuilder();
            for (var first = 0; first < rows; first += group)
            {
                var n = Math.Min(group, rows - first);
                var ids = new long[n];
                var nameValues = new string[n];
                var categories = new string[n];
                var scores = new double?[n];
                var counts = new int[n];
                var flags = new bool?[n];
                var times = new DateTime[n];
                var comments = new string?[n];
                for (var k = 0; k < n; k++)
                {
                    var i = first + k;
                    ids[k] = i;
                    nameValues[k] = names[random.Next(names.Length)] + "-" + random.Next(1000).ToString(CultureInfo.InvariantCulture);
                    categories[k] = "cat" + random.Next(20).ToString(CultureInfo.InvariantCulture);
                    scores[k] = i % 17 == 0 ? null : Math.Round(random.NextDouble() * 1000, 4);
                    counts[k] = random.Next(100000);
                    flags[k] = i % 5 == 0 ? null : random.Next(2) == 0;
                    times[k] = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMilliseconds(i * 1234L);
                    if (i % 23 == 0)
                    {
                        comments[k] = null;
                    }
                    else
                    {
                        sb.Clear();
                        var wordCount = 6 + random.Next(10);
                        for (var w = 0; w < wordCount; w++)
                        {
                            sb.Append(w == 0 ? "" : " ").Append(words[random.Next(words.Length)]);
                        }

                        if (i % 10 == 0)
                        {
                            sb.Append(", and \"more\"");
                        }

                        comments[k] = sb.ToString();
                    }
                }

                using var rg = writer.CreateRowGroup();
                await rg.WriteAsync<long>(id, ids);
                await rg.WriteAsync(name, nameValues);
                await rg.WriteAsync(category, categories);
                await rg.WriteAsync<double>(score, scores);
                await rg.WriteAsync<int>(count, counts);
                await rg.WriteAsync<bool>(flag, flags);
                await rg.WriteAsync<DateTime>(ts, times);
                await rg.WriteAsync(comment, comments);
            }
        }

        File.Move(temp, path, overwrite: true);
    }
}
