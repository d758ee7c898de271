using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Grains.Tests.Faults;

namespace OrleansShards.Grains.Tests.Live;

/// <summary>
/// Streaming jobs on the built-in log, end to end on a real test cluster and a real SQLite log file:
/// a producer appends while workers lease, and every record is delivered.
/// </summary>
public sealed class LiveJobTests
{
    [Fact]
    public async Task A_producer_and_three_workers_deliver_every_record_exactly_once_with_shards_cut_in_offset_order()
    {
        await using var live = await LiveScenario.StartAsync(partitions: 4);
        var job = await live.CreateJobAsync(new JobSpec { Id = "stream", ShardSize = 1_000, MaxWaitMs = 100, LeaseTimeoutSeconds = 30 });
        var producer = live.ProduceAsync(200_000, batch: 500);
        var workers = Enumerable.Range(0, 3).Select(w => live.Worker(job, "w" + w).RunAsync(live.Stop.Token)).ToArray();
        await producer;
        await live.WaitUntilCommittedAsync(job);
        await live.Stop.CancelAsync();
        await Task.WhenAll(workers);

        live.Deliveries.AssertExactlyOnce(1, 200_000);
        live.AssertShardsCutInOffsetOrder();
        var status = await live.Job(job).GetStatus();
        Assert.All(status.Partitions, p => Assert.Equal((p.HighWatermark, 0L), (p.Committed, p.Lag)));
        Assert.Equal(200_000, status.Records.Delivered);
    }

    [Fact]
    public async Task A_worker_killed_mid_run_loses_nothing_its_shards_come_again_after_expiry()
    {
        await using var live = await LiveScenario.StartAsync(partitions: 4);
        var job = await live.CreateJobAsync(new JobSpec { Id = "killed", ShardSize = 500, MaxWaitMs = 100, LeaseTimeoutSeconds = 2, MaxAttempts = 10 });
        var producer = live.ProduceAsync(40_000, batch: 400);
        var doomed = live.Worker(job, "doomed");
        var doomedRun = doomed.RunAsync(live.Stop.Token, stopAfterReports: 5);
        var workers = Enumerable.Range(0, 2).Select(w => live.Worker(job, "w" + w).RunAsync(live.Stop.Token)).ToArray();
        await producer;
        await doomedRun;
        Assert.NotEmpty(doomed.Abandoned);
        await live.WaitUntilCommittedAsync(job);
        await live.Stop.CancelAsync();
        await Task.WhenAll(workers);

        Assert.Empty(live.Deliveries.Missing(0, 40_000));
        foreach (var (_, id, _) in live.Deliveries.Repeated)
        {
            Assert.Contains(live.Deliveries.TaskOf(0, id), doomed.Abandoned.Select(l => l.TaskId));
        }

        Assert.True((await live.Job(job).GetStatus()).EpochHistory[0].LeasesExpired >= doomed.Abandoned.Count);
    }

    [Fact]
    public async Task An_ordered_job_never_has_two_leases_on_one_partition()
    {
        await using var live = await LiveScenario.StartAsync(partitions: 2);
        var job = await live.CreateJobAsync(new JobSpec { Id = "ordered", ShardSize = 100, MaxWaitMs = 50, Ordered = true });
        var producer = live.ProduceAsync(10_000, batch: 100);
        var workers = Enumerable.Range(0, 3).Select(w => live.Worker(job, "w" + w).RunAsync(live.Stop.Token)).ToArray();
        await producer;
        await live.WaitUntilCommittedAsync(job);
        await live.Stop.CancelAsync();
        await Task.WhenAll(workers);

        live.Deliveries.AssertExactlyOnce(1, 10_000);
        Assert.Equal(1, live.MostLeasesHeldOnOnePartition);
        live.AssertShardsCutInOffsetOrder();
    }

    [Fact]
    public async Task A_partial_shard_is_cut_after_max_wait_and_new_partitions_are_picked_up()
    {
        await using var live = await LiveScenario.StartAsync(partitions: 1);
        var job = await live.CreateJobAsync(new JobSpec { Id = "partial", ShardSize = 1_000, MaxWaitMs = 200 });
        await live.AppendAsync(0, 0, 7);
        var lease = await live.LeaseOneAsync(job, TimeSpan.FromSeconds(20));
        Assert.Equal(new ShardRange(0, 0, 7), lease.Shard);

        await live.Store.AddPartitionsAsync(LiveScenario.Topic, 2);
        await live.AppendAsync(1, 7, 3);
        var second = await live.LeaseOneAsync(job, TimeSpan.FromSeconds(30));
        Assert.Equal(new ShardRange(1, 0, 3), second.Shard);
        Assert.Equal(2, (await live.Job(job).GetStatus()).Partitions.Count);
    }

    [Fact]
    public async Task After_a_full_restart_live_jobs_resume_with_no_client_call_and_lose_nothing()
    {
        await using var live = await LiveScenario.StartAsync(partitions: 2);
        var job = await live.CreateJobAsync(new JobSpec { Id = "restart", ShardSize = 100, MaxWaitMs = 100 });
        await live.ProduceAsync(5_000, batch: 250);
        var first = live.Worker(job, "before");
        await first.RunAsync(CancellationToken.None, stopAfterReports: 10);

        await live.RestartAsync();
        // Nobody calls the job: the silo's start-up task wakes it, and its splitters cut what arrives now.
        await live.ProduceAsync(5_000, batch: 250, firstId: 5_000);
        var splitUpTo = await live.WaitForSplitterStateAsync(job, expectedTotal: 10_000, TimeSpan.FromSeconds(60));
        Assert.Equal(10_000, splitUpTo);

        var worker = live.Worker(job, "after").RunAsync(live.Stop.Token);
        await live.WaitUntilCommittedAsync(job);
        await live.Stop.CancelAsync();
        await worker;
        Assert.Empty(live.Deliveries.Missing(0, 10_000));
        foreach (var (_, id, _) in live.Deliveries.Repeated)
        {
            Assert.Contains(live.Deliveries.TaskOf(0, id), first.Abandoned.Select(l => l.TaskId));
        }
    }

    [Theory]
    [InlineData(FaultKind.CrashBefore)]
    [InlineData(FaultKind.CrashAfter)]
    public async Task A_splitter_crash_at_its_offset_write_loses_no_record(FaultKind kind)
    {
        await using var live = await LiveScenario.StartAsync(partitions: 1, faults: true);
        var job = await live.CreateJobAsync(new JobSpec { Id = "splitter-crash", ShardSize = 100, MaxWaitMs = 100 });
        // The splitter stored its assignment at creation: its next write follows the job's acknowledgement of its first cut.
        live.Faults.Arm("splitter", 1, kind);
        await live.ProduceAsync(1_000, batch: 100);
        await live.Faults.Tripped.WaitAsync(TimeSpan.FromSeconds(30));

        await live.RestartAsync();
        await live.ProduceAsync(1_000, batch: 100, firstId: 1_000);
        var worker = live.Worker(job, "w").RunAsync(live.Stop.Token);
        await live.WaitUntilCommittedAsync(job);
        await live.Stop.CancelAsync();
        await worker;
        live.Deliveries.AssertExactlyOnce(1, 2_000);
        live.AssertShardsCutInOffsetOrder();
    }

    [Fact]
    public async Task A_checkpoint_of_a_live_job_holds_its_offsets_and_an_import_goes_on_from_them()
    {
        await using var live = await LiveScenario.StartAsync(partitions: 2);
        var job = await live.CreateJobAsync(new JobSpec { Id = "to-export", ShardSize = 100, MaxWaitMs = 50 });
        await live.ProduceAsync(3_000, batch: 150);
        var first = live.Worker(job, "before");
        await first.RunAsync(CancellationToken.None, stopAfterReports: 8);
        await live.WaitForSplitterStateAsync(job, expectedTotal: 3_000, TimeSpan.FromSeconds(30));

        var checkpoint = await live.Job(job).ExportCheckpoint();
        var partitions = checkpoint.Live!;
        Assert.Equal(2, partitions.Count);
        Assert.All(partitions, p => Assert.Equal(1_500, p.SplitUpTo));
        Assert.Equal(first.Abandoned.Count, checkpoint.Doing!.Count);
        // Eight shards reported: of 100 records each, or fewer where maxWaitMs cut a shard before it filled (a busy machine).
        Assert.Equal(8, first.Reported.Count);
        Assert.Equal(first.Reported.Sum(l => l.Shard.Length), checkpoint.Done!.TotalRecords);
        await live.Job(job).Delete();

        var imported = await live.Job("imported").ImportCheckpoint(checkpoint);
        Assert.Equal(["topic/0".Replace("topic", LiveScenario.Topic, StringComparison.Ordinal), LiveScenario.Topic + "/1"], imported.Status.Partitions.Select(p => p.Path));
        await live.ProduceAsync(1_000, batch: 100, firstId: 3_000);
        var after = live.Worker("imported", "after").RunAsync(live.Stop.Token);
        await live.WaitUntilCommittedAsync("imported");
        await live.Stop.CancelAsync();
        await after;

        // Every record is delivered; only what was in flight at the export is delivered twice.
        Assert.Empty(live.Deliveries.Missing(0, 4_000));
        foreach (var (_, id, _) in live.Deliveries.Repeated)
        {
            Assert.Contains(live.Deliveries.TaskOf(0, id), first.Abandoned.Select(l => l.TaskId));
        }
    }

    [Fact]
    public async Task A_live_checkpoint_whose_shards_do_not_tile_is_refused_naming_the_partition()
    {
        await using var live = await LiveScenario.StartAsync(partitions: 1);
        var job = await live.CreateJobAsync(new JobSpec { Id = "tiles", ShardSize = 100, MaxWaitMs = 50 });
        await live.ProduceAsync(500, batch: 100);
        await live.WaitForSplitterStateAsync(job, expectedTotal: 500, TimeSpan.FromSeconds(30));
        var checkpoint = await live.Job(job).ExportCheckpoint();
        var broken = checkpoint with { Live = [checkpoint.Live![0] with { SplitUpTo = 600 }] };
        var error = await Assert.ThrowsAsync<ShardsException>(() => live.Job("broken").ImportCheckpoint(broken));
        Assert.Equal(("live[0]", ShardsErrorKind.Invalid), (error.Field, error.Kind));
        Assert.Contains("splitUpTo 600", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cancelled_live_job_stops_cutting_and_a_paused_one_goes_on()
    {
        await using var live = await LiveScenario.StartAsync(partitions: 1);
        var paused = await live.CreateJobAsync(new JobSpec { Id = "paused", ShardSize = 100, MaxWaitMs = 50 });
        var cancelled = await live.CreateJobAsync(new JobSpec { Id = "cancelled", ShardSize = 100, MaxWaitMs = 50 });
        await live.ProduceAsync(300, batch: 100);
        await live.WaitForSplitterStateAsync(cancelled, expectedTotal: 300, TimeSpan.FromSeconds(30));
        await live.WaitForSplitterStateAsync(paused, expectedTotal: 300, TimeSpan.FromSeconds(30));
        await live.Job(paused).Pause();
        await live.Job(cancelled).Cancel();

        await live.ProduceAsync(300, batch: 100, firstId: 300);
        await live.WaitForSplitterStateAsync(paused, expectedTotal: 600, TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(300, (await live.Job(cancelled).GetStatus()).Partitions[0].SplitUpTo);
        Assert.Equal(JobStates.Cancelled, (await live.Job(cancelled).GetStatus()).State);
    }

    [Fact]
    public async Task A_live_job_on_a_missing_topic_is_refused_naming_the_field()
    {
        await using var live = await LiveScenario.StartAsync(partitions: 1);
        var error = await Assert.ThrowsAsync<ShardsException>(() => live.Job("missing").Create(new JobSpec
        {
            Id = "missing",
            Source = new SourceSpec { Kind = "topic", Topic = "no-such-topic" },
        }));
        Assert.Equal(("source.topic", ShardsErrorKind.Invalid), (error.Field, error.Kind));
        Assert.Contains("no-such-topic", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>A topic on a real SQLite log file, a real test cluster whose silos read it, and the workers' deliveries.</summary>
internal sealed class LiveScenario : IAsyncDisposable
{
    public const string Topic = "events";
    private readonly TestData _data = new();
    private readonly bool _faults;
    private readonly ConcurrentQueue<(long Sequence, ShardRange Shard)> _leased = new();
    private readonly ConcurrentDictionary<int, int> _held = new();
    private ShardsCluster? _cluster;
    private int _mostHeld;
    private int _partitions;

    private LiveScenario(bool faults) => _faults = faults;

    public ILogStore Store { get; private set; } = null!;

    public FaultInjector Faults { get; } = new();

    public Deliveries Deliveries { get; } = new();

    public CancellationTokenSource Stop { get; } = new();

    public ShardsCluster Cluster => _cluster!;

    public int MostLeasesHeldOnOnePartition => _mostHeld;

    public string LogFile => Path.Combine(_data.Root, "state", "log.db");

    public static async Task<LiveScenario> StartAsync(int partitions, bool faults = false)
    {
        var scenario = new LiveScenario(faults) { _partitions = partitions };
        Directory.CreateDirectory(Path.Combine(scenario._data.Root, "state"));
        scenario.Store = LiveTestStores.OpenSqlite(scenario.LogFile);
        await scenario.Store.CreateTopicAsync(Topic, partitions);
        await scenario.StartClusterAsync();
        return scenario;
    }

    private async Task StartClusterAsync()
    {
        var store = Store;
        _cluster = await ShardsCluster.StartAsync(
            _data,
            silos: _faults ? (short)1 : (short)2,
            faults: _faults && !Faults.Crashed ? Faults : null,
            adapters: () => [new OrleansShards.Readers.Live.TopicSourceAdapter(store)],
            configureSilo: silo =>
            {
                silo.Services.AddSingleton(store);
                OrleansShards.Silo.Hosting.ShardsServer.AddLiveJobWakeUp(silo);
            });
    }

    public IJobGrain Job(string id) => Cluster.Client.GetGrain<IJobGrain>(id);

    public async Task<string> CreateJobAsync(JobSpec spec)
    {
        var created = await Job(spec.Id!).Create(spec with { Source = new SourceSpec { Kind = "topic", Topic = Topic } });
        return created.Status.Id;
    }

    /// <summary>Appends records <c>{"id": n}</c> for ids <c>[firstId, firstId + count)</c>, round-robin over the partitions in batches.</summary>
    public async Task ProduceAsync(long count, int batch, long firstId = 0)
    {
        var partitions = (await Store.GetTopicAsync(Topic))!.Partitions;
        var next = firstId;
        var partition = 0;
        while (next < firstId + count)
        {
            var size = (int)Math.Min(batch, firstId + count - next);
            await AppendAsync(partition, next, size);
            next += size;
            partition = (partition + 1) % partitions;
        }
    }

    public async Task AppendAsync(int partition, long firstId, int count)
    {
        var records = new ReadOnlyMemory<byte>[count];
        for (var i = 0; i < count; i++)
        {
            records[i] = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{{\"id\":{firstId + i},\"text\":\"record {firstId + i}\"}}"));
        }

        await Store.AppendAsync(Topic, partition, records);
    }

    public LiveWorker Worker(string jobId, string workerId) => new(this, jobId, workerId);

    internal void Leased(TaskLease lease)
    {
        _leased.Enqueue((LeaseIds.SequenceOf(lease.LeaseId)!.Value, lease.Shard));
        var held = _held.AddOrUpdate(lease.Shard.Partition, 1, (_, n) => n + 1);
        InterlockedMax(ref _mostHeld, held);
    }

    internal void Ended(TaskLease lease) => _held.AddOrUpdate(lease.Shard.Partition, 0, (_, n) => n - 1);

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    /// <summary>Shards of each partition, in the order first leased, tile the partition from 0 with no gap or overlap.</summary>
    public void AssertShardsCutInOffsetOrder()
    {
        foreach (var partition in _leased.GroupBy(l => l.Shard.Partition))
        {
            var firstLeases = partition.GroupBy(l => l.Shard).Select(g => g.Min(l => l.Sequence) is var s ? (Sequence: s, g.Key) : default).OrderBy(l => l.Sequence).ToList();
            var expected = 0L;
            foreach (var (_, shard) in firstLeases)
            {
                Assert.True(shard.Start == expected, $"partition {partition.Key}: shard {shard} was first leased after the shard ending at {expected}");
                expected = shard.End;
            }
        }
    }

    public async Task WaitUntilCommittedAsync(string jobId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var topic = (await Store.GetTopicAsync(Topic))!;
        while (true)
        {
            var bounds = await Task.WhenAll(Enumerable.Range(0, topic.Partitions).Select(p => Store.GetBoundsAsync(Topic, p).AsTask()));
            var status = await Job(jobId).GetStatus();
            if (status.Partitions.Count == topic.Partitions && status.Partitions.All(p => p.Committed == bounds[p.Partition].HighWatermark))
            {
                return;
            }

            await Task.Delay(50, timeout.Token);
        }
    }

    public async Task<TaskLease> LeaseOneAsync(string jobId, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        while (true)
        {
            var batch = await Job(jobId).Lease(new LeaseRequest("probe", 1));
            if (batch.Leases.Count > 0)
            {
                return batch.Leases[0];
            }

            await Task.Delay(batch.RetryAfterMs ?? 50, timeout.Token);
        }
    }

    /// <summary>Waits until the splitters, woken by no one but the silo, have split <paramref name="expectedTotal"/> records; reads their state without calling the job.</summary>
    public async Task<long> WaitForSplitterStateAsync(string jobId, long expectedTotal, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        while (true)
        {
            var total = 0L;
            for (var p = 0; p < _partitions; p++)
            {
                total += (await Cluster.Client.GetGrain<ISplitterGrain>(SplitterGrain.KeyOf(jobId, p)).GetStatus()).SplitUpTo;
            }

            if (total >= expectedTotal)
            {
                return total;
            }

            await Task.Delay(100, timeout.Token);
        }
    }

    /// <summary>Kills every silo and starts a new cluster on the same state and log files; the log store is reopened too.</summary>
    public async Task RestartAsync()
    {
        await Cluster.KillAllAsync();
        await Cluster.DisposeAsync();
        await LiveTestStores.CloseAsync(Store);
        Store = LiveTestStores.OpenSqlite(LogFile);
        await StartClusterAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Stop.CancelAsync();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        await LiveTestStores.CloseAsync(Store);
        _data.Dispose();
        Stop.Dispose();
    }
}

/// <summary>A thick worker of a live job: leases, reads the shard from the log itself, reports; until stopped.</summary>
internal sealed class LiveWorker(LiveScenario scenario, string jobId, string workerId)
{
    /// <summary>Leases read and never reported (the worker "died" holding them).</summary>
    public List<TaskLease> Abandoned { get; } = [];

    /// <summary>Leases reported done.</summary>
    public List<TaskLease> Reported { get; } = [];

    public async Task RunAsync(CancellationToken stop, int? stopAfterReports = null)
    {
        var reports = 0;
        while (!stop.IsCancellationRequested)
        {
            LeaseBatch batch;
            try
            {
                batch = await scenario.Job(jobId).Lease(new LeaseRequest(workerId, 2));
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }

            if (batch.Leases.Count == 0)
            {
                try
                {
                    await Task.Delay(batch.RetryAfterMs ?? 50, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            var plan = await scenario.Job(jobId).GetReadPlan();
            foreach (var lease in batch.Leases)
            {
                scenario.Leased(lease);
                using (var page = await scenario.Cluster.Reader.ReadAsync(plan, lease.TaskId, 0, (int)lease.Shard.Length, ["id"], CancellationToken.None))
                {
                    Assert.Equal(lease.Shard.Length, page.Count);
                    for (var i = 0; i < page.Count; i++)
                    {
                        scenario.Deliveries.Add(0, long.Parse(page.GetText(i, "id")!, CultureInfo.InvariantCulture), lease.TaskId);
                    }
                }

                if (stopAfterReports is { } limit && reports >= limit)
                {
                    Abandoned.Add(lease);
                    continue;
                }

                scenario.Ended(lease);
                await scenario.Job(jobId).Report(new TaskReport(lease.TaskId, lease.LeaseId, workerId, Done: true));
                Reported.Add(lease);
                reports++;
            }

            if (Abandoned.Count > 0)
            {
                return;
            }
        }
    }
}
