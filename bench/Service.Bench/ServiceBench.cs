using System.Diagnostics;
using Microsoft.Data.Sqlite;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Service.Bench;

/// <summary>The benchmarks that go through the silo: the 2 KiB baselines, JobGrain cycles, and 1k vs 1M shards.</summary>
public sealed partial class ServiceBench(ServiceHost service, BenchOptions options, Results results)
{
    private const int Callers = 64;
    private const long SmallJob = 1_000;
    private const long LargeJob = 1_000_000;
    private const int InFlightWorkers = 64;
    private const int InFlightPerWorker = 8;
    private int _jobSequence;

    /// <summary>The machine's baseline on the same provider: a grain writing ~2 KiB of state in every call.</summary>
    public async Task BaselineAsync()
    {
        Console.WriteLine($"[baseline] grain writing {BlobGrainBase.PayloadBytes} B of state to the same SQLite provider in every call, {Callers} concurrent callers");
        var serial = service.Grains.GetGrain<IBlobGrain>(1);
        await serial.Write();
        results.Add(Keys.BlobSerial, await Runner.MeasureAsync("1 grain, non-reentrant, 64 callers", options, s => CallersRun(_ => serial.Write(), s)));

        var reentrant = service.Grains.GetGrain<IReentrantBlobGrain>(2);
        await reentrant.Write();
        results.Add(Keys.BlobReentrant, await Runner.MeasureAsync("1 grain, reentrant (Orleans coalesces writes), 64 callers", options, s => CallersRun(_ => reentrant.Write(), s)));

        results.Add(Keys.RawSqlite, await Runner.Measure("raw SQLite (no Orleans): 1 upsert of 2 KiB per transaction, 1 thread", options, RawSqliteRun));

        var many = Enumerable.Range(100, Callers).Select(i => service.Grains.GetGrain<IBlobGrain>(i)).ToArray();
        await Task.WhenAll(many.Select(g => g.Write()));
        results.Add(Keys.BlobManyGrains, await Runner.MeasureAsync("64 grains, non-reentrant, 1 caller each", options, s => CallersRun(c => many[c].Write(), s)));
        Console.WriteLine();
    }

    /// <summary>Lease + report cycles through the Orleans client, strict durability, a fresh job of shardSize 1 per run.</summary>
    public async Task CyclesAsync()
    {
        Console.WriteLine($"[cycles] JobGrain lease + report, strict durability, a fresh job per run over {options.Rows:N0} rows, shardSize 1 ({options.Rows:N0} shards), shuffled");
        var created = Stopwatch.StartNew();
        var first = await CreateJobAsync("warm", shardSize: 1, epochs: 1);
        Console.WriteLine($"  (creating a job of {options.Rows:N0} shards, source described: {created.Elapsed.TotalMilliseconds:F0} ms the first time; " +
            $"state row {service.JobStateBytes(first):N0} B)");
        foreach (var workers in new[] { 1, 64 })
        {
            foreach (var maxTasks in new[] { 1, 16 })
            {
                var m = await Runner.MeasureAsync($"{workers} worker{(workers == 1 ? "" : "s")}, maxTasks {maxTasks}", options, async s =>
                    await CycleRunAsync(await CreateJobAsync("cycles", shardSize: 1, epochs: 1), workers, maxTasks, s, latency: maxTasks == 1));
                results.Add(Keys.Cycles(workers, maxTasks), m);
            }
        }

        Console.WriteLine();
    }

    /// <summary>Persisted state size and cycle cost for a job of 1,000 shards and one of 1,000,000 shards over the same file.</summary>
    public async Task SizeAsync()
    {
        Console.WriteLine($"[size] JobGrain of {SmallJob:N0} vs {LargeJob:N0} shards over the same {options.Rows:N0}-row file (shardSize {options.Rows / SmallJob:N0} vs {options.Rows / LargeJob:N0})");
        Console.WriteLine($"  the {SmallJob:N0}-shard job has many epochs so that a timed run cannot exhaust it; the {LargeJob:N0}-shard job has one");
        foreach (var shards in new[] { SmallJob, LargeJob })
        {
            var id = await CreateJobAsync(Name(shards), options.Rows / shards, Epochs(shards));
            var job = service.Grains.GetGrain<IJobGrain>(id);
            Record(shards, "created, 0 in flight", service.JobStateBytes(id));

            var inFlight = InFlightWorkers * InFlightPerWorker;
            var batches = await Task.WhenAll(Enumerable.Range(0, InFlightWorkers).Select(w => job.Lease(new LeaseRequest($"w{w}", InFlightPerWorker))));
            var leases = batches.SelectMany((b, w) => b.Leases.Select(l => (Worker: $"w{w}", Lease: l))).ToList();
            if (leases.Count != inFlight)
            {
                throw new InvalidOperationException($"expected {inFlight} leases, got {leases.Count}");
            }

            Record(shards, $"{inFlight} leases in flight", service.JobStateBytes(id));
            await Task.WhenAll(leases.Select(x => job.Report(new TaskReport(x.Lease.TaskId, x.Lease.LeaseId, x.Worker, Done: true))));
            Record(shards, $"{inFlight} reported, 0 in flight", service.JobStateBytes(id));
        }

        // The two sizes run alternately (1k, 1M, then 1M, 1k, ...) so that machine noise hits both alike.
        string? lastSmall = null, lastLarge = null;
        Func<double, Task<RunResult>> Run(long shards, int workers) => async s =>
        {
            var id = await CreateJobAsync(Name(shards), options.Rows / shards, Epochs(shards));
            if (workers > 1 && shards == SmallJob)
            {
                lastSmall = id;
            }
            else if (workers > 1)
            {
                lastLarge = id;
            }

            return await CycleRunAsync(id, workers, 1, s, latency: true);
        };

        var (small1, large1) = await Runner.MeasurePairAsync($"{SmallJob:N0} shards, 1 worker, maxTasks 1", $"{LargeJob:N0} shards, 1 worker, maxTasks 1", options, Run(SmallJob, 1), Run(LargeJob, 1));
        results.Add(Keys.SizeLatency(SmallJob), small1);
        results.Add(Keys.SizeLatency(LargeJob), large1);
        var (small64, large64) = await Runner.MeasurePairAsync($"{SmallJob:N0} shards, 64 workers, maxTasks 1", $"{LargeJob:N0} shards, 64 workers, maxTasks 1", options, Run(SmallJob, 64), Run(LargeJob, 64));
        results.Add(Keys.SizeThroughput(SmallJob), small64);
        results.Add(Keys.SizeThroughput(LargeJob), large64);
        foreach (var (shards, id) in new[] { (SmallJob, lastSmall!), (LargeJob, lastLarge!) })
        {
            var status = await service.Grains.GetGrain<IJobGrain>(id).GetStatus();
            Record(shards, "after the last 64-worker run", service.JobStateBytes(id));
            Console.WriteLine($"    (that job ended the run in epoch {status.Epoch}, {status.EpochHistory.Count} epoch counters in its state)");
        }

        Console.WriteLine();

        static string Name(long shards) => shards == SmallJob ? "size1k" : "size1m";
    }

    /// <summary>The 1,000-shard job gets many epochs so that a timed run cannot exhaust it; the 1,000,000-shard job one.</summary>
    private static int Epochs(long shards) => shards == SmallJob ? 100_000 : 1;

    /// <summary>The disk's floor through SQLite alone: one 2 KiB upsert per transaction, in a file beside the state file.</summary>
    private RunResult RawSqliteRun(double seconds)
    {
        var file = Path.Combine(Path.GetDirectoryName(service.StateFile)!, "raw.db");
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
        connection.Open();
        using (var setup = connection.CreateCommand())
        {
            setup.CommandText = $"PRAGMA journal_mode = WAL; PRAGMA synchronous = {(options.Normal ? "NORMAL" : "FULL")}; " +
                "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, data BLOB NOT NULL);";
            setup.ExecuteNonQuery();
        }

        using var upsert = connection.CreateCommand();
        upsert.CommandText = "INSERT INTO t (id, data) VALUES (1, $d) ON CONFLICT (id) DO UPDATE SET data = excluded.data";
        var payload = new byte[BlobGrainBase.PayloadBytes];
        new Random(42).NextBytes(payload);
        var parameter = upsert.Parameters.Add("$d", SqliteType.Blob);
        parameter.Value = payload;
        upsert.Prepare();
        var limit = TimeSpan.FromSeconds(seconds);
        var clock = Stopwatch.StartNew();
        long n = 0;
        while (clock.Elapsed < limit)
        {
            payload[0] = (byte)n;
            upsert.ExecuteNonQuery(); // autocommit: one transaction, one WAL fsync at FULL
            n++;
        }

        return new RunResult(n, clock.Elapsed.TotalSeconds, n, n);
    }

    private void Record(long shards, string point, long bytes)
    {
        results.AddStateSize(shards, point, bytes);
        Console.WriteLine($"  state row, {shards:N0} shards, {point}: {bytes:N0} B");
    }

    private async Task<RunResult> CallersRun(Func<int, Task> call, double seconds)
    {
        var before = service.Statistics;
        var limit = TimeSpan.FromSeconds(seconds);
        var clock = Stopwatch.StartNew();
        var counts = await Task.WhenAll(Enumerable.Range(0, Callers).Select(c => Task.Run(async () =>
        {
            long n = 0;
            while (clock.Elapsed < limit)
            {
                await call(c);
                n++;
            }

            return n;
        })));
        var elapsed = clock.Elapsed.TotalSeconds;
        var after = service.Statistics;
        return new RunResult(counts.Sum(), elapsed, after.Transactions - before.Transactions, after.Writes - before.Writes);
    }

    private async Task<RunResult> CycleRunAsync(string jobId, int workers, int maxTasks, double seconds, bool latency, bool bytes = false)
    {
        var job = service.Grains.GetGrain<IJobGrain>(jobId);
        var latencies = latency ? Enumerable.Range(0, workers).Select(_ => new List<double>()).ToArray() : null;
        var jobBefore = service.StateBytes.Job(jobId);
        var before = service.Statistics;
        var limit = TimeSpan.FromSeconds(seconds);
        var clock = Stopwatch.StartNew();
        var counts = await Task.WhenAll(Enumerable.Range(0, workers).Select(w =>
            Task.Run(() => WorkerAsync(job, $"w{w}", maxTasks, clock, limit, latencies?[w]))));
        var elapsed = clock.Elapsed.TotalSeconds;
        var after = service.Statistics;
        var jobAfter = service.StateBytes.Job(jobId);
        double? median = latencies is null ? null : Measured.Median(latencies.SelectMany(l => l));
        var result = new RunResult(counts.Sum(), elapsed, after.Transactions - before.Transactions, after.Writes - before.Writes, median);
        if (!bytes)
        {
            return result;
        }

        // Exact: the bytes of every state of this job serialized for writing during the run. Estimate, for a cross-check:
        // the row's length now (strict: the last write of the run is in it) times the job's writes during the run.
        var jobWrites = jobAfter.Writes - jobBefore.Writes;
        return result with { Bytes = jobAfter.Bytes - jobBefore.Bytes, EstimatedBytes = service.JobStateBytes(jobId) * jobWrites };
    }

    /// <summary>A worker that does no work: lease, report each shard done, again until the time is up.</summary>
    private static async Task<long> WorkerAsync(IJobGrain job, string workerId, int maxTasks, Stopwatch clock, TimeSpan limit, List<double>? latencies)
    {
        long cycles = 0;
        while (clock.Elapsed < limit)
        {
            var start = Stopwatch.GetTimestamp();
            var batch = await job.Lease(new LeaseRequest(workerId, maxTasks));
            if (batch.Leases.Count == 0)
            {
                if (batch.State != JobStates.Running)
                {
                    throw new InvalidOperationException($"job {job.GetPrimaryKeyString()} is {batch.State}: it ran out of shards; pass more --rows");
                }

                // An epoch ends only when every lease of it is reported: ask again at once rather than after RetryAfterMs.
                await Task.Yield();
                continue;
            }

            foreach (var lease in batch.Leases)
            {
                var answer = await job.Report(new TaskReport(lease.TaskId, lease.LeaseId, workerId, Done: true));
                if (!answer.Accepted)
                {
                    throw new InvalidOperationException($"report of {lease.TaskId} by {workerId} was not accepted (duplicate: {answer.Duplicate})");
                }

                cycles++;
            }

            latencies?.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds / batch.Leases.Count);
        }

        return cycles;
    }

    private async Task<string> CreateJobAsync(string prefix, long shardSize, int epochs, string durability = JobSpec.Strict, int? flushIntervalMs = null)
    {
        var id = $"{prefix}-{++_jobSequence}";
        var job = service.Grains.GetGrain<IJobGrain>(id);
        await job.Create(new JobSpec
        {
            Id = id,
            Source = new SourceSpec { Kind = "csv", Paths = [service.CsvFile] },
            ShardSize = shardSize,
            Epochs = epochs,
            Shuffle = true,
            Seed = 42,
            LeaseTimeoutSeconds = 600,
            Durability = durability,
            FlushIntervalMs = flushIntervalMs,
        });
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var status = await job.GetStatus();
            if (status.Partitions.All(p => p.Acknowledged))
            {
                return id;
            }

            if (deadline.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException($"job {id}: its source was not described within 2 minutes");
            }

            await Task.Delay(10);
        }
    }
}
