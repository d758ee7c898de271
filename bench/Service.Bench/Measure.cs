using System.Globalization;

namespace OrleansShards.Service.Bench;

/// <summary>Command-line options.</summary>
public sealed class BenchOptions
{
    private static readonly string[] AllSections = ["memory", "baseline", "cycles", "size", "durability", "bytes", "storage"];

    /// <summary>What runs without <c>--only</c>: everything but <c>storage</c>, which starts PostgreSQL, Redis and Azurite.</summary>
    private static readonly string[] DefaultSections = [.. AllSections.Where(s => s != "storage")];

    public int Runs { get; private set; } = 5;

    public double Seconds { get; private set; } = 2.0;

    public double WarmupSeconds { get; private set; } = 1.0;

    /// <summary>Timed runs per configuration of the durability section (18 configurations: kept short).</summary>
    public int DurabilityRuns { get; private set; } = 3;

    /// <summary>Length of one timed run of the durability section.</summary>
    public double DurabilitySeconds { get; private set; } = 1.5;

    /// <summary>Length of the warm-up run of the durability section.</summary>
    public double DurabilityWarmupSeconds { get; private set; } = 0.5;

    public long Rows { get; private set; } = 2_000_000;

    public HashSet<string> Only { get; private set; } = [.. DefaultSections];

    public string Dir { get; private set; } = Path.Combine(Path.GetTempPath(), "service-bench");

    public bool Normal { get; private set; }

    public bool Keep { get; private set; }

    public bool Has(string section) => Only.Contains(section);

    /// <summary>These options with other run counts and lengths (for a section that runs shorter than the rest).</summary>
    public BenchOptions WithRuns(int runs, double seconds, double warmupSeconds)
    {
        var o = (BenchOptions)MemberwiseClone();
        o.Runs = runs;
        o.Seconds = seconds;
        o.WarmupSeconds = warmupSeconds;
        return o;
    }

    public static BenchOptions? Parse(string[] args)
    {
        var o = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            try
            {
                switch (args[i])
                {
                    case "--runs": o.Runs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--seconds": o.Seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--warmup": o.WarmupSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--durability-runs": o.DurabilityRuns = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--durability-seconds": o.DurabilitySeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--durability-warmup": o.DurabilityWarmupSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--rows": o.Rows = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--only": o.Only = [.. Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; break;
                    case "--dir": o.Dir = Path.GetFullPath(Next()); break;
                    case "--normal": o.Normal = true; break;
                    case "--keep": o.Keep = true; break;
                    case "--help" or "-h":
                        Console.WriteLine("dotnet run -c Release --project bench/Service.Bench -- [--runs 5] [--seconds 2] [--warmup 1] [--rows 2000000] " +
                            "[--only memory,baseline,cycles,size,durability,bytes] [--durability-runs 3] [--durability-seconds 1.5] [--durability-warmup 0.5] " +
                            "[--dir DIR] [--normal] [--keep]");
                        return null;
                    default: throw new ArgumentException($"unknown argument {args[i]}");
                }
            }
            catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
            {
                Console.Error.WriteLine(e.Message);
                return null;
            }
        }

        if (o.Only.FirstOrDefault(s => !AllSections.Contains(s)) is { } unknown)
        {
            Console.Error.WriteLine($"--only: unknown section '{unknown}' (one of {string.Join(", ", AllSections)})");
            return null;
        }

        if (o.Runs < 1 || o.Seconds <= 0 || o.WarmupSeconds < 0 || o.Rows < 1_000_000 || o.Rows % 1_000_000 != 0 ||
            o.DurabilityRuns < 1 || o.DurabilitySeconds <= 0 || o.DurabilityWarmupSeconds < 0)
        {
            Console.Error.WriteLine("--runs and --durability-runs >= 1, --seconds and --durability-seconds > 0, --warmup and --durability-warmup >= 0, " +
                "--rows a multiple of 1,000,000 (the size and bytes sections cut it into 1,000 and 1,000,000 shards)");
            return null;
        }

        return o;
    }
}

/// <summary>What one timed run produced.</summary>
/// <param name="Ops">Cycles or calls completed.</param>
/// <param name="Seconds">Wall time of the run.</param>
/// <param name="Transactions">SQLite write transactions committed during the run.</param>
/// <param name="Writes">Grain state rows written during the run.</param>
/// <param name="LatencyUs">Median latency of one op in the run, when measured.</param>
/// <param name="Bytes">Serialized state bytes written during the run (counted at the serializer), when measured.</param>
/// <param name="EstimatedBytes">The same, estimated instead as <c>length(data)</c> of the row after the run times the writes, when measured.</param>
public readonly record struct RunResult(long Ops, double Seconds, long Transactions = 0, long Writes = 0, double? LatencyUs = null, long Bytes = 0, long EstimatedBytes = 0)
{
    public double Rate => Ops / Seconds;
}

/// <summary>The medians of one configuration over its timed runs.</summary>
public sealed record Measured(string Name, double Rate, double MinRate, double MaxRate, double? WritesPerOp, double? TxPerOp, double? LatencyUs, long OpsPerRun,
    double? BytesPerOp = null, double? EstimatedBytesPerOp = null)
{
    public static Measured Of(string name, IReadOnlyList<RunResult> runs)
    {
        var rates = runs.Select(r => r.Rate).ToList();
        double? PerOp(Func<RunResult, long> f) => runs.All(r => f(r) == 0) ? null : Median(runs.Select(r => r.Ops == 0 ? 0 : (double)f(r) / r.Ops));
        var latencies = runs.Where(r => r.LatencyUs.HasValue).Select(r => r.LatencyUs!.Value).ToList();
        return new Measured(
            name,
            Median(rates),
            rates.Min(),
            rates.Max(),
            PerOp(r => r.Writes),
            PerOp(r => r.Transactions),
            latencies.Count == 0 ? null : Median(latencies),
            (long)Median(runs.Select(r => (double)r.Ops)),
            PerOp(r => r.Bytes),
            PerOp(r => r.EstimatedBytes));
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}

/// <summary>Runs a configuration: one warm-up, then the timed runs; prints one line.</summary>
public static class Runner
{
    public static async Task<Measured> MeasureAsync(string name, BenchOptions options, Func<double, Task<RunResult>> run)
    {
        if (options.WarmupSeconds > 0)
        {
            await run(options.WarmupSeconds);
        }

        var runs = new List<RunResult>();
        for (var i = 0; i < options.Runs; i++)
        {
            runs.Add(await run(options.Seconds));
        }

        var m = Measured.Of(name, runs);
        Print(m);
        return m;
    }

    /// <summary>
    /// Several configurations measured in rotating order (A B C, B C A, C A B, ...), so that all see the same machine;
    /// one warm-up of each first. Prints one line each, with <paramref name="suffix"/> appended when given.
    /// </summary>
    public static async Task<IReadOnlyList<Measured>> MeasureSetAsync(BenchOptions options, IReadOnlyList<(string Name, Func<double, Task<RunResult>> Run)> configurations, Func<IReadOnlyList<Measured>, int, string>? suffix = null)
    {
        if (options.WarmupSeconds > 0)
        {
            foreach (var c in configurations)
            {
                await c.Run(options.WarmupSeconds);
            }
        }

        var runs = configurations.Select(_ => new List<RunResult>()).ToArray();
        for (var i = 0; i < options.Runs; i++)
        {
            for (var k = 0; k < configurations.Count; k++)
            {
                var c = (i + k) % configurations.Count;
                runs[c].Add(await configurations[c].Run(options.Seconds));
            }
        }

        var measured = configurations.Select((c, k) => Measured.Of(c.Name, runs[k])).ToList();
        for (var k = 0; k < measured.Count; k++)
        {
            Print(measured[k], suffix?.Invoke(measured, k));
        }

        return measured;
    }

    public static void Print(Measured m, string? suffix = null)
    {
        var name = m.Name;
        Console.WriteLine(
            $"  {name,-58} {Fmt.Rate(m.Rate),12}/s  (min {Fmt.Rate(m.MinRate)}, max {Fmt.Rate(m.MaxRate)}, {m.OpsPerRun:N0} per run)" +
            (m.WritesPerOp is { } w ? $"  writes/op {Fmt.PerOp(w)}" : "") +
            (m.TxPerOp is { } t ? $"  tx/op {Fmt.PerOp(t)}" : "") +
            (m.BytesPerOp is { } b ? $"  state bytes/op {b:F0}" : "") +
            (m.EstimatedBytesPerOp is { } e ? $" (row length x writes: {e:F0})" : "") +
            (m.LatencyUs is { } l ? $"  median latency {l:F0} us" : "") +
            (suffix ?? ""));
    }

    /// <summary>
    /// Two configurations measured in alternating runs (A B, B A, A B, ...), so that both see the same machine:
    /// on a shared 2-core machine the rate moves by 20% or more between minutes.
    /// </summary>
    public static async Task<(Measured A, Measured B)> MeasurePairAsync(string nameA, string nameB, BenchOptions options, Func<double, Task<RunResult>> runA, Func<double, Task<RunResult>> runB)
    {
        if (options.WarmupSeconds > 0)
        {
            await runA(options.WarmupSeconds);
            await runB(options.WarmupSeconds);
        }

        var a = new List<RunResult>();
        var b = new List<RunResult>();
        for (var i = 0; i < options.Runs; i++)
        {
            if (i % 2 == 0)
            {
                a.Add(await runA(options.Seconds));
                b.Add(await runB(options.Seconds));
            }
            else
            {
                b.Add(await runB(options.Seconds));
                a.Add(await runA(options.Seconds));
            }
        }

        var ma = Measured.Of(nameA, a);
        var mb = Measured.Of(nameB, b);
        Print(ma);
        Print(mb);
        return (ma, mb);
    }

    public static Task<Measured> Measure(string name, BenchOptions options, Func<double, RunResult> run) =>
        MeasureAsync(name, options, s => Task.FromResult(run(s)));
}

/// <summary>Number formatting.</summary>
public static class Fmt
{
    public static string Rate(double rate) => rate switch
    {
        >= 1e6 => (rate / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " M",
        >= 1e4 => (rate / 1e3).ToString("F1", CultureInfo.InvariantCulture) + " k",
        >= 1e3 => (rate / 1e3).ToString("F2", CultureInfo.InvariantCulture) + " k",
        _ => rate.ToString("F0", CultureInfo.InvariantCulture),
    };

    public static string Ratio(double ratio) => double.IsNaN(ratio) ? "-" : ratio switch
    {
        >= 10 => ratio.ToString("F0", CultureInfo.InvariantCulture) + "x",
        >= 0.1 => ratio.ToString("F2", CultureInfo.InvariantCulture) + "x",
        _ => ratio.ToString("F3", CultureInfo.InvariantCulture) + "x",
    };

    /// <summary>A per-op count: three decimals, or three significant digits below 0.01 (batched writes are rare per op).</summary>
    public static string PerOp(double value) => value is 0 or >= 0.01
        ? value.ToString("F3", CultureInfo.InvariantCulture)
        : value.ToString("0.###E+0", CultureInfo.InvariantCulture);

    public static string Opt(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
}
