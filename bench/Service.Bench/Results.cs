using System.Globalization;

namespace OrleansShards.Service.Bench;

/// <summary>Keys of the measured configurations, shared by the benchmarks and the summary.</summary>
public static class Keys
{
    public static string Memory(long shards, int maxTasks) => $"mem/{shards}/{maxTasks}";

    public const string BlobSerial = "blob/serial";
    public const string BlobReentrant = "blob/reentrant";
    public const string BlobManyGrains = "blob/64grains";
    public const string RawSqlite = "sqlite/raw";

    public static string Cycles(int workers, int maxTasks) => $"cycles/{workers}/{maxTasks}";

    public static string SizeLatency(long shards) => $"size/{shards}/1worker";

    public static string SizeThroughput(long shards) => $"size/{shards}/64workers";

    public static string Durability(string mode, int workers, int maxTasks) => $"durability/{mode}/{workers}/{maxTasks}";

    public static string DurabilityReference(int workers, int maxTasks) => $"durability/reference/{workers}/{maxTasks}";

    public static string Bytes(long shards, int workers) => $"bytes/{shards}/{workers}";

    public static string Storage(string provider) => $"storage/{provider}";
}

/// <summary>Everything measured, and the summary table printed at the end.</summary>
public sealed class Results(bool normal)
{
    /// <summary>ANCHORS.md figures (the machine's ceilings) for the baseline rows, at synchronous FULL or NORMAL.</summary>
    private double AnchorSerial => normal ? 54_000 : 7_000;

    private double AnchorReentrant => normal ? 400_000 : 170_000;

    private double AnchorRawSqlite => normal ? 36_000 : 6_600;

    private string Mode => normal ? "NORMAL" : "FULL";

    private readonly Dictionary<string, Measured> _measured = [];
    private readonly Dictionary<(long Shards, string Point), long> _stateBytes = [];

    public void Add(string key, Measured m) => _measured[key] = m;

    public Measured? Get(string key) => _measured.GetValueOrDefault(key);

    public void AddStateSize(long shards, string point, long bytes) => _stateBytes[(shards, point)] = bytes;

    public IEnumerable<string> StatePoints => _stateBytes.Keys.Select(k => k.Point).Distinct();

    public long? StateSize(long shards, string point) => _stateBytes.TryGetValue((shards, point), out var b) ? b : null;

    public void PrintSummary()
    {
        Console.WriteLine("=== SUMMARY (medians; ratios are measured side by side in this run) ===");
        var mem1 = Get(Keys.Memory(1_000_000, 1));
        var mem16 = Get(Keys.Memory(1_000_000, 16));
        var serial = Get(Keys.BlobSerial);
        var reentrant = Get(Keys.BlobReentrant);

        var table = new Table("what", "rate/s", "writes/op", "tx/op", "latency us", "vs 2KiB grain serial", "vs 2KiB grain reentrant", "vs in-memory TaskBook");
        void Row(string label, Measured? m, Measured? memory)
        {
            if (m is null)
            {
                return;
            }

            table.Add(
                label,
                Fmt.Rate(m.Rate),
                Fmt.Opt(m.WritesPerOp, "F3"),
                Fmt.Opt(m.TxPerOp, "F3"),
                Fmt.Opt(m.LatencyUs, "F0"),
                serial is null ? "-" : Fmt.Ratio(m.Rate / serial.Rate),
                reentrant is null ? "-" : Fmt.Ratio(m.Rate / reentrant.Rate),
                memory is null ? "-" : Fmt.Ratio(m.Rate / memory.Rate));
        }

        Row("in-memory TaskBook, 1M shards, maxTasks 1 (cycles)", mem1, null);
        Row("in-memory TaskBook, 1M shards, maxTasks 16 (cycles)", mem16, null);
        Row("in-memory TaskBook, 1k shards, maxTasks 1 (cycles)", Get(Keys.Memory(1_000, 1)), null);
        Row("2 KiB grain, non-reentrant, 64 callers (calls)", serial, null);
        Row("2 KiB grain, reentrant, 64 callers (calls)", reentrant, null);
        Row("raw SQLite, 1 upsert (2 KiB) per transaction (commits)", Get(Keys.RawSqlite), null);
        Row("2 KiB grain x 64 grains, 1 caller each (calls)", Get(Keys.BlobManyGrains), null);
        foreach (var workers in new[] { 1, 64 })
        {
            foreach (var maxTasks in new[] { 1, 16 })
            {
                Row($"JobGrain cycles, {workers} worker{(workers == 1 ? "" : "s")}, maxTasks {maxTasks}", Get(Keys.Cycles(workers, maxTasks)), maxTasks == 1 ? mem1 : mem16);
            }
        }

        if (table.Count > 0)
        {
            table.Print();
            Console.WriteLine("  op = one lease + report cycle (one shard leased and reported done) for TaskBook/JobGrain rows, one grain call for 2 KiB rows.");
            Console.WriteLine("  writes/op = grain state rows written to SQLite per op; tx/op = SQLite commits (each one fsync at FULL) per op.");
        }

        if (serial is not null || reentrant is not null)
        {
            Console.WriteLine();
            var anchors = new Table("baseline", "measured/s", "ANCHORS.md", "measured / anchor");
            if (serial is not null)
            {
                anchors.Add($"2 KiB grain, SQLite {Mode}, 64 callers (non-reentrant)", Fmt.Rate(serial.Rate), Fmt.Rate(AnchorSerial), Fmt.Ratio(serial.Rate / AnchorSerial));
            }

            if (reentrant is not null)
            {
                anchors.Add($"reentrant grain with group commit, {Mode}", Fmt.Rate(reentrant.Rate), Fmt.Rate(AnchorReentrant), Fmt.Ratio(reentrant.Rate / AnchorReentrant));
            }

            if (Get(Keys.RawSqlite) is { } raw)
            {
                anchors.Add($"SQLite WAL, one upsert per transaction, {Mode}", Fmt.Rate(raw.Rate), Fmt.Rate(AnchorRawSqlite), Fmt.Ratio(raw.Rate / AnchorRawSqlite));
            }

            anchors.Print();
        }

        var shardsSmall = 1_000L;
        var shardsLarge = 1_000_000L;
        if (_stateBytes.Count > 0 || Get(Keys.SizeLatency(shardsSmall)) is not null)
        {
            Console.WriteLine();
            var size = new Table("JobGrain, 1k vs 1M shards", "1,000 shards", "1,000,000 shards", "1M / 1k", "within 20%");
            foreach (var point in StatePoints)
            {
                var a = StateSize(shardsSmall, point);
                var b = StateSize(shardsLarge, point);
                size.Add($"state bytes, {point}", a?.ToString("N0", CultureInfo.InvariantCulture) ?? "-", b?.ToString("N0", CultureInfo.InvariantCulture) ?? "-",
                    a is > 0 && b is { } bb ? Fmt.Ratio((double)bb / a.Value) : "-", Within(a, b));
            }

            void Pair(string label, Func<long, string> key, Func<Measured, double?> f, string format)
            {
                var va = Get(key(shardsSmall)) is { } a ? f(a) : null;
                var vb = Get(key(shardsLarge)) is { } b ? f(b) : null;
                size.Add(label, Fmt.Opt(va, format), Fmt.Opt(vb, format), va is > 0 && vb is { } v ? Fmt.Ratio(v / va.Value) : "-", Within(va, vb));
            }

            Pair("cycle latency, 1 worker, maxTasks 1 (us)", Keys.SizeLatency, m => m.LatencyUs, "F0");
            Pair("cycles/s, 1 worker, maxTasks 1", Keys.SizeLatency, m => m.Rate, "F0");
            Pair("cycles/s, 64 workers, maxTasks 1", Keys.SizeThroughput, m => m.Rate, "F0");
            Pair("writes per cycle, 64 workers, maxTasks 1", Keys.SizeThroughput, m => m.WritesPerOp, "F3");
            size.Print();
        }

        PrintDurability(serial);
        PrintBytes(shardsSmall, shardsLarge);
        PrintStorage();
    }

    private void PrintStorage()
    {
        var sqlite = Get(Keys.Storage(OrleansShards.Silo.Hosting.StorageSettings.Sqlite));
        var table = new Table($"grain storage, {StorageBench.Workers} workers, maxTasks {StorageBench.MaxTasks}, strict", "cycles/s", "min..max", "latency us", "writes/cycle", "tx/cycle", "vs sqlite");
        foreach (var provider in StorageBench.Providers)
        {
            if (Get(Keys.Storage(provider)) is not { } m)
            {
                continue;
            }

            table.Add(provider, Fmt.Rate(m.Rate), $"{Fmt.Rate(m.MinRate)}..{Fmt.Rate(m.MaxRate)}", Fmt.Opt(m.LatencyUs, "F0"),
                Fmt.Opt(m.WritesPerOp, "F3"), Fmt.Opt(m.TxPerOp, "F3"), sqlite is null ? "-" : Fmt.Ratio(m.Rate / sqlite.Rate));
        }

        if (table.Count == 0)
        {
            return;
        }

        Console.WriteLine();
        table.Print();
        Console.WriteLine("  latency us = median time of one lease + report; writes/cycle and tx/cycle are counted by the relational writer (sqlite, postgres) only.");
    }

    private void PrintDurability(Measured? serial)
    {
        var table = new Table("JobGrain durability (cycles)", "cycles/s", "writes/cycle", "tx/cycle", "writes/s", "latency us", "vs 2KiB grain, interleaved", "vs strict");
        foreach (var workers in DurabilityMode.Workers)
        {
            foreach (var maxTasks in DurabilityMode.MaxTasks)
            {
                var strict = Get(Keys.Durability(DurabilityMode.All[0].Key, workers, maxTasks));
                var reference = Get(Keys.DurabilityReference(workers, maxTasks));
                foreach (var mode in DurabilityMode.All)
                {
                    if (Get(Keys.Durability(mode.Key, workers, maxTasks)) is not { } m)
                    {
                        continue;
                    }

                    table.Add(
                        $"{workers} worker{(workers == 1 ? "" : "s")}, maxTasks {maxTasks}, {mode.Label}",
                        Fmt.Rate(m.Rate),
                        m.WritesPerOp is { } w ? Fmt.PerOp(w) : "-",
                        m.TxPerOp is { } t ? Fmt.PerOp(t) : "-",
                        m.WritesPerOp is { } ws ? (ws * m.Rate).ToString("F0", CultureInfo.InvariantCulture) : "-",
                        Fmt.Opt(m.LatencyUs, "F0"),
                        reference is null ? "-" : Fmt.Ratio(m.Rate / reference.Rate),
                        strict is null || ReferenceEquals(strict, m) ? "-" : Fmt.Ratio(m.Rate / strict.Rate));
                }

                if (reference is not null)
                {
                    table.Add("  reference: 2 KiB grain, 64 callers (calls/s)", Fmt.Rate(reference.Rate), Fmt.Opt(reference.WritesPerOp, "F3"), Fmt.Opt(reference.TxPerOp, "F3"),
                        reference.WritesPerOp is { } rw ? (rw * reference.Rate).ToString("F0", CultureInfo.InvariantCulture) : "-", "-", "1.00x", "-");
                }
            }
        }

        if (table.Count == 0)
        {
            return;
        }

        Console.WriteLine();
        table.Print();
        Console.WriteLine("  writes/s = writes/cycle x cycles/s: for batched it should sit near 1000 / flushIntervalMs (~10/s and ~1/s), whatever the cycle rate.");
        Console.WriteLine("  latency us = median time of one lease + report for maxTasks 1.");
        foreach (var maxTasks in DurabilityMode.MaxTasks)
        {
            if (Get(Keys.Durability(DurabilityMode.All[0].Key, 64, maxTasks)) is { } m && Get(Keys.DurabilityReference(64, maxTasks)) is { } reference)
            {
                var ratio = m.Rate / reference.Rate;
                Console.WriteLine($"  acceptance: strict, 64 workers, maxTasks {maxTasks}: {Fmt.Rate(m.Rate)} cycles/s = {Fmt.Ratio(ratio)} the 2 KiB grain writing once per call " +
                    $"({Fmt.Rate(reference.Rate)} calls/s, interleaved{(serial is null ? "" : $"; {Fmt.Ratio(m.Rate / serial.Rate)} the baseline section's {Fmt.Rate(serial.Rate)}")}); " +
                    $"target >= 10x: {(ratio >= 10 ? "yes" : "NO")}");
            }
        }
    }

    private void PrintBytes(long small, long large)
    {
        var table = new Table("JobGrain state bytes written, 1k vs 1M shards (strict, maxTasks 1)", "1,000 shards", "1,000,000 shards", "1M / 1k", "within 20%");
        foreach (var workers in new[] { 1, 64 })
        {
            var a = Get(Keys.Bytes(small, workers));
            var b = Get(Keys.Bytes(large, workers));
            if (a is null && b is null)
            {
                continue;
            }

            var w = $"{workers} worker{(workers == 1 ? "" : "s")}";
            void Row(string label, Func<Measured, double?> f, string format, bool judge)
            {
                var va = a is null ? null : f(a);
                var vb = b is null ? null : f(b);
                table.Add(label, Fmt.Opt(va, format), Fmt.Opt(vb, format), va is > 0 && vb is { } v ? Fmt.Ratio(v / va.Value) : "-", judge ? Within(va, vb) : "");
            }

            Row($"state bytes written per cycle, {w}", m => m.BytesPerOp, "F0", judge: true);
            Row($"  cross-check: row length x writes, per cycle, {w}", m => m.EstimatedBytesPerOp, "F0", judge: false);
            Row($"  writes per cycle, {w}", m => m.WritesPerOp, "F3", judge: false);
            Row($"  bytes per write, {w}", m => m.BytesPerOp / m.WritesPerOp, "F0", judge: false);
            Row($"  cycles/s, {w}", m => m.Rate, "F0", judge: false);
        }

        if (table.Count == 0)
        {
            return;
        }

        Console.WriteLine();
        table.Print();
        Console.WriteLine("  bytes = serialized state (the row's data) handed to SQLite, summed over the run's writes of that job; SQLite itself writes whole pages to the WAL.");
    }

    private static string Within(double? a, double? b) =>
        a is > 0 && b is { } v ? (Math.Abs(v / a.Value - 1) <= 0.20 ? "yes" : "NO") : "-";

    private static string Within(long? a, long? b) => Within((double?)a, (double?)b);
}

/// <summary>A plain text table: first column left-aligned, the rest right-aligned.</summary>
public sealed class Table(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public int Count => _rows.Count;

    public void Add(params string[] cells) => _rows.Add(cells);

    public void Print()
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        string Line(string[] cells) => "  " + string.Join(" | ", cells.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i])));
        Console.WriteLine(Line(headers));
        Console.WriteLine("  " + string.Join("-+-", widths.Select(w => new string('-', w))));
        foreach (var row in _rows)
        {
            Console.WriteLine(Line(row));
        }
    }
}
