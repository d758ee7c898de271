using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;

namespace OrleansShards.Grains;

/// <summary>
/// Serves the batches of training runs outside the run grain: maps a rank's positions of the epoch's global order
/// (<see cref="RunOrder"/>) to shards, reads whole shards through the source readers into a silo-wide cache bounded in
/// bytes, and reads ahead the steps after the highest step asked for, so a rank's batch usually comes from memory.
/// </summary>
/// <remarks>
/// Shards are read whole because a shuffled shard's records come in a seeded order over the whole shard (as a leased
/// shuffled shard is read) and the window mixes several shards into every step; a shard read once serves every step
/// and every rank that draws from it. Evicted batches are left to the garbage collector rather than disposed, since
/// a request may still be writing records of one.
/// </remarks>
public sealed partial class RunBatchReader(SourceReaders readers, IOptions<RunOptions> options, ILogger<RunBatchReader> logger)
{
    private const int LatencySamples = 1024;
    private readonly Lock _gate = new();
    private readonly Dictionary<ShardKey, LinkedListNode<CacheEntry>> _cache = [];
    private readonly LinkedList<CacheEntry> _recency = new();
    private readonly ConcurrentDictionary<(string Job, string Run, string Columns), ReadAhead> _readAhead = new();
    private readonly ConcurrentDictionary<(string Job, string Run), Stats> _stats = new();
    private long _cachedBytes;

    /// <summary>Bytes (estimated) of decoded shards in memory.</summary>
    public long CachedBytes
    {
        get
        {
            lock (_gate)
            {
                return _cachedBytes;
            }
        }
    }

    /// <summary>Reads the batch of rank <paramref name="rank"/> of <paramref name="worldSize"/> at (<paramref name="epoch"/>, <paramref name="step"/>).</summary>
    /// <exception cref="ShardsException">A request outside the run (invalid, names the field), a projection naming an unknown column.</exception>
    /// <exception cref="SourceChangedException">A file changed since the job pinned it.</exception>
    public async Task<RunBatch> ReadAsync(
        string jobId, string run, RunBatchPlan plan, int epoch, long step, int rank, int worldSize, IReadOnlyList<string>? columns, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Steps.Validate(plan.Job.Epochs, epoch, step, rank, worldSize) is { } problem)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, problem.Field, problem.Reason);
        }

        if (plan.Job.Mixture is not null)
        {
            return await ReadMixtureAsync(jobId, run, plan, epoch, step, rank, worldSize, columns, cancellationToken);
        }

        var started = Stopwatch.GetTimestamp();
        var order = OrderOf(plan, epoch);
        var sourceKey = SourceKeyOf(plan.Job.Source, columns);
        var count = plan.Steps.GlobalBatchSize / worldSize;
        var slots = new RunSlot[count];
        for (var i = 0; i < count; i++)
        {
            slots[i] = order.At(plan.Steps.PositionOf(step, rank, worldSize, i));
        }

        var loads = new Dictionary<long, Task<RecordBatch>>();
        var fromMemory = true;
        foreach (var slot in slots)
        {
            if (!loads.ContainsKey(slot.ShardIndex))
            {
                var (load, cached) = Load(plan.Job, sourceKey, slot.Shard, columns);
                loads[slot.ShardIndex] = load;
                fromMemory &= cached && load.IsCompletedSuccessfully;
            }
        }

        var sources = new RecordBatch[count];
        var rows = new int[count];
        var batches = new Dictionary<long, RecordBatch>(loads.Count);
        foreach (var (index, load) in loads)
        {
            batches[index] = await Translate(load.WaitAsync(cancellationToken), columns);
        }

        for (var i = 0; i < count; i++)
        {
            sources[i] = batches[slots[i].ShardIndex];
            rows[i] = (int)slots[i].Row;
        }

        ReadAheadFrom(jobId, run, plan, sourceKey, columns, new RunPosition(epoch, step));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var stats = _stats.GetOrAdd((jobId, run), _ => new Stats());
        stats.Record(elapsed, fromMemory);
        ShardsMetrics.RunBatchServed(jobId, run, count, elapsed, fromMemory);
        return new RunBatch(sources, rows, fromMemory);
    }

    /// <summary>How this silo served the batches of <paramref name="run"/> of <paramref name="jobId"/> (zeros when it served none).</summary>
    public RunServingStats StatsOf(string jobId, string run) =>
        _stats.TryGetValue((jobId, run), out var stats) ? stats.Snapshot() : new RunServingStats(0, 0, null, null);

    /// <summary>Counts a batch served outside this reader (a live run's, <see cref="LiveRunBatchReader"/>) in the run's serving figures.</summary>
    public void RecordServed(string jobId, string run, TimeSpan elapsed, bool fromMemory) =>
        _stats.GetOrAdd((jobId, run), _ => new Stats()).Record(elapsed, fromMemory);

    /// <summary>Whether a read-ahead of <paramref name="run"/> of <paramref name="jobId"/> is under way on this silo.</summary>
    public bool IsReadingAhead(string jobId, string run) =>
        _readAhead.Any(pair => pair.Key.Job == jobId && pair.Key.Run == run && pair.Value.Running);

    /// <summary>Forgets the serving statistics and read-ahead position of a deleted run.</summary>
    public void Forget(string jobId, string run)
    {
        _stats.TryRemove((jobId, run), out _);
        foreach (var key in _readAhead.Keys.Where(k => k.Job == jobId && k.Run == run))
        {
            _readAhead.TryRemove(key, out _);
        }
    }

    private static RunOrder OrderOf(RunBatchPlan plan, int epoch) =>
        new([.. plan.Job.Files.Select(f => f.RecordCount)], plan.Job.ShardSize, plan.Job.Shuffle, unchecked((ulong)plan.Job.Seed), epoch);

    private static string SourceKeyOf(SourceSpec source, IReadOnlyList<string>? columns) =>
        JsonSerializer.Serialize(source) + "|" + (columns is null ? "*" : string.Join(',', columns));

    private (Task<RecordBatch> Load, bool Cached) Load(JobReadPlan plan, string sourceKey, ShardRange shard, IReadOnlyList<string>? columns)
    {
        var file = plan.Files[shard.Partition];
        var key = new ShardKey(sourceKey, file.Path, file.Length, file.LastWriteTimeUtcTicks, file.ContentHash, shard);
        lock (_gate)
        {
            if (_cache.TryGetValue(key, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                return (node.Value.Batch, true);
            }
        }

        // Read outside the lock; a shard asked for twice at once may be read twice, and the second read is dropped.
        var bytes = Math.Max(shard.Length * 16, file.RecordCount > 0 ? file.Length * shard.Length / file.RecordCount : 0);
        var reader = readers.For(SourceOfPartition(plan, shard.Partition));
        var expected = new FileFingerprint(file.Length, file.LastWriteTimeUtcTicks, file.ContentHash);
        var load = reader.ReadAsync(new ShardReadRequest(file.Path, expected, shard.Start, shard.End, columns), CancellationToken.None).AsTask();
        lock (_gate)
        {
            if (_cache.TryGetValue(key, out var raced))
            {
                return (raced.Value.Batch, true);
            }

            var node = _recency.AddFirst(new CacheEntry(key, load, bytes));
            _cache[key] = node;
            _cachedBytes += bytes;
            Evict();
        }

        // A failed read is not cached: the next request reads again (and reports the error itself).
        _ = load.ContinueWith(
            failed =>
            {
                lock (_gate)
                {
                    if (_cache.TryGetValue(key, out var node) && node.Value.Batch == failed)
                    {
                        _cache.Remove(key);
                        _recency.Remove(node);
                        _cachedBytes -= node.Value.Bytes;
                    }
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return (load, false);
    }

    private void Evict()
    {
        while (_cachedBytes > options.Value.CacheBytes && _recency.Last is { } last && last != _recency.First)
        {
            _recency.RemoveLast();
            _cache.Remove(last.Value.Key);
            _cachedBytes -= last.Value.Bytes;
        }
    }

    private void ReadAheadFrom(string jobId, string run, RunBatchPlan plan, string sourceKey, IReadOnlyList<string>? columns, RunPosition asked)
    {
        if (options.Value.PrefetchSteps < 1)
        {
            return;
        }

        var ahead = _readAhead.GetOrAdd((jobId, run, sourceKey), _ => new ReadAhead());
        lock (ahead)
        {
            if (ahead.Highest is { } highest && asked <= highest)
            {
                return;
            }

            ahead.Highest = asked;
            if (ahead.Running)
            {
                return;
            }

            ahead.Running = true;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                RunPosition from;
                do
                {
                    lock (ahead)
                    {
                        from = ahead.Highest!.Value;
                    }

                    await ReadStepsAfter(plan, sourceKey, columns, from);
                    lock (ahead)
                    {
                        if (ahead.Highest == from)
                        {
                            ahead.Running = false;
                            return;
                        }
                    }
                }
                while (true);
            }
            catch (Exception e)
            {
                lock (ahead)
                {
                    ahead.Running = false;
                }

                logger.LogDebug(e, "Read-ahead of run {Run} of job {Job} stopped; batches are read when asked for", run, jobId);
            }
        });
    }

    private async Task ReadStepsAfter(RunBatchPlan plan, string sourceKey, IReadOnlyList<string>? columns, RunPosition from)
    {
        var budget = options.Value.PrefetchBytes;
        var position = from;
        var seen = new HashSet<(int Epoch, ShardRange Shard)>();
        for (var ahead = 0; ahead < options.Value.PrefetchSteps && budget > 0; ahead++)
        {
            position = plan.Steps.After(position.Epoch, position.Step);
            if (position.Epoch >= plan.Job.Epochs)
            {
                return;
            }

            var loads = new List<Task<RecordBatch>>();
            foreach (var shard in ShardsOfStep(plan, position))
            {
                if (budget <= 0)
                {
                    break;
                }

                if (seen.Add((position.Epoch, shard)))
                {
                    var (load, cached) = Load(plan.Job, sourceKey, shard, columns);
                    if (!cached)
                    {
                        var file = plan.Job.Files[shard.Partition];
                        budget -= Math.Max(shard.Length * 16, file.RecordCount > 0 ? file.Length * shard.Length / file.RecordCount : 0);
                        loads.Add(load);
                    }
                }
            }

            await Task.WhenAll(loads);
        }
    }

    private static async Task<RecordBatch> Translate(Task<RecordBatch> load, IReadOnlyList<string>? columns)
    {
        try
        {
            return await load;
        }
        catch (ArgumentException e) when (columns is not null && e is not ArgumentOutOfRangeException)
        {
            // The readers refuse a projection naming a column the file does not have.
            throw new ShardsException(ShardsErrorKind.Invalid, "columns", e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal));
        }
    }

    private sealed record ShardKey(string Source, string Path, long Length, long Ticks, ulong Hash, ShardRange Shard);

    private sealed record CacheEntry(ShardKey Key, Task<RecordBatch> Batch, long Bytes);

    private sealed class ReadAhead
    {
        public RunPosition? Highest { get; set; }

        public volatile bool Running;
    }

    private sealed class Stats
    {
        private readonly double[] _latencies = new double[LatencySamples];
        private long _fetches;
        private long _hits;

        public void Record(TimeSpan elapsed, bool hit)
        {
            lock (_latencies)
            {
                _latencies[_fetches % LatencySamples] = elapsed.TotalMilliseconds;
                _fetches++;
                if (hit)
                {
                    _hits++;
                }
            }
        }

        public RunServingStats Snapshot()
        {
            lock (_latencies)
            {
                if (_fetches == 0)
                {
                    return new RunServingStats(0, 0, null, null);
                }

                var sorted = _latencies.Take((int)Math.Min(_fetches, LatencySamples)).Order().ToArray();
                return new RunServingStats(_fetches, _hits, Percentile(sorted, 0.50), Percentile(sorted, 0.99));
            }
        }

        private static double Percentile(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
    }
}
