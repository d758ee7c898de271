// TFRecord benchmark: a raw sequential read and a bare CRC32C pass over the same bytes, side by side with our reader
// reading the file as raw-bytes records with both CRC checks, at several record sizes.
// dotnet run -c Release --project bench/Readers.Bench -- tfrecord [--mb 1024] [--sizes 100,1024,102400] [--runs 5] [--shard-mb 32] [--dir DIR]
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using OrleansShards.Readers.TfRecord;

namespace OrleansShards.Readers.Bench;

/// <summary>The TFRecord benchmark.</summary>
internal static class TfRecordBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        long megabytes = 1024;
        var sizes = new[] { 100, 1024, 100 * 1024 };
        var runs = 5;
        var shardMegabytes = 32;
        var json = true;
        var dir = Path.Combine(Path.GetTempPath(), "readers-bench");
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--mb": megabytes = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--sizes": sizes = [.. args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]; break;
                case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--shard-mb": shardMegabytes = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--dir": dir = args[++i]; break;
                case "--no-json": json = false; break;
                default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
            }
        }

        Directory.CreateDirectory(dir);
        Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cpus, server GC {System.Runtime.GCSettings.IsServerGC}, " +
            $"CRC32C in hardware: {System.Runtime.Intrinsics.X86.Sse42.X64.IsSupported || System.Runtime.Intrinsics.Arm.Crc32.Arm64.IsSupported}");
        Console.WriteLine($"files of ~{megabytes:N0} MiB of raw (non-Example) records; median of {runs} runs after a warm-up; our reader reads shards of ~{shardMegabytes} MiB");
        var rows = new List<(int Size, string Name, double Seconds, long Bytes, long Records)>();
        var ratios = new List<string>();
        foreach (var size in sizes)
        {
            var path = Path.Combine(dir, $"bench-{size}B-{megabytes}MiB.tfrecord");
            var records = megabytes * 1024 * 1024 / (size + 16);
            if (!File.Exists(path) || new FileInfo(path).Length != records * (size + 16))
            {
                Generate(path, size, records);
            }

            var bytes = new FileInfo(path).Length;
            File.Delete(path + ".osidx");
            var reader = new TfRecordPartitionReader();
            var sw = Stopwatch.StartNew();
            var description = await reader.DescribeAsync(path);
            var indexSeconds = sw.Elapsed.TotalSeconds;
            if (description.RecordCount != records)
            {
                Console.Error.WriteLine($"{path}: {description.RecordCount} records, expected {records}");
                return 1;
            }

            var shard = Math.Max(1, (int)Math.Min(int.MaxValue, shardMegabytes * 1024L * 1024 / (size + 16)));
            Console.WriteLine($"{size,7:N0} B records: {path}, {records:N0} records, {bytes / 1e6:F0} MB; shards of {shard:N0} records; " +
                $"index build (header walk + length CRCs + XxHash3 + side file) {indexSeconds * 1000:F0} ms");

            void Measure(string name, Func<long> body)
            {
                var expected = body();
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
                rows.Add((size, name, times[times.Count / 2], bytes, records));
            }

            Measure("(a) raw sequential read, 1 MiB buffer", () => Shared.RawRead(path));
            Measure("(b) bare CRC32C pass over the same bytes", () => BareCrc(path));
            Measure("(c) ours: ReadAsync shards, raw records, both CRCs", () => Shared.ReadShardsAsync(reader, description, shard, write: false).GetAwaiter().GetResult());
            if (json)
            {
                Measure("(d) ours: (c) + WriteRecord every record (base64 JSON)", () => Shared.ReadShardsAsync(reader, description, shard, write: true).GetAwaiter().GetResult());
            }

            double Seconds(string prefix) => rows.Last(r => r.Size == size && r.Name.StartsWith(prefix, StringComparison.Ordinal)).Seconds;
            ratios.Add($"{size,7:N0} B: (c)/(b) = {Seconds("(b)") / Seconds("(c)"):F2} (target >= 0.50)   (c)/(a) = {Seconds("(a)") / Seconds("(c)"):F2}" +
                (json ? $"   (d)/(b) = {Seconds("(b)") / Seconds("(d)"):F2}" : ""));
        }

        Console.WriteLine();
        Console.WriteLine($"{"record",8} {"what",-58} {"median s",9} {"M records/s",12} {"MB/s",8}");
        foreach (var (size, name, seconds, bytes, records) in rows)
        {
            Console.WriteLine($"{size,8:N0} {name,-58} {seconds,9:F3} {records / seconds / 1e6,12:F3} {bytes / seconds / 1e6,8:F0}");
        }

        Console.WriteLine();
        Console.WriteLine("ratios of records/s, same run:");
        ratios.ForEach(Console.WriteLine);
        return 0;
    }

    private static void Generate(string path, int size, long records)
    {
        Console.WriteLine($"generating {records:N0} records of {size:N0} bytes ...");
        var random = new Random(size);
        var pool = new byte[size + 4096];
        random.NextBytes(pool);
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var writer = new TfRecordWriter(fs);
        for (long i = 0; i < records; i++)
        {
            var data = pool.AsSpan((int)(i * 7919 % 4096), size);
            data[0] = 0xFF; // never a tf.train.Example: served as raw bytes
            writer.Write(data);
        }
    }


    /// <summary>One CRC32C over every byte of the file, eight bytes per <see cref="BitOperations.Crc32C(uint, ulong)"/>.</summary>
    private static long BareCrc(string path)
    {
        var buffer = new byte[1 << 20];
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var crc = ~0u;
        int n;
        while ((n = fs.Read(buffer, 0, buffer.Length)) > 0)
        {
            crc = Crc(crc, buffer.AsSpan(0, n));
        }

        return ~crc;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint Crc(uint crc, ReadOnlySpan<byte> data)
    {
        ref var start = ref MemoryMarshal.GetReference(data);
        var length = (nuint)data.Length;
        nuint i = 0;
        for (; i + 8 <= length; i += 8)
        {
            crc = BitOperations.Crc32C(crc, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i)));
        }

        for (; i < length; i++)
        {
            crc = BitOperations.Crc32C(crc, Unsafe.Add(ref start, i));
        }

        return crc;
    }

}
