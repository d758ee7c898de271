using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Providers;
using Orleans.Storage;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains.Tests;

public sealed class JobClusterTests : IDisposable
{
    private readonly TestData _data = new();

    public void Dispose() => _data.Dispose();

    private static JobSpec Spec(string id, long shardSize = 5_000, int epochs = 2, int leaseTimeoutSeconds = 60, string durability = JobSpec.Strict) => new()
    {
        Id = id,
        Source = new SourceSpec { Kind = "csv", Paths = ["part-*.csv"] },
        ShardSize = shardSize,
        Epochs = epochs,
        Shuffle = true,
        Seed = 11,
        LeaseTimeoutSeconds = leaseTimeoutSeconds,
        MaxAttempts = 5,
        Durability = durability,
    };

    [Theory]
    [InlineData(JobSpec.Strict)]
    [InlineData(JobSpec.Batched)]
    public async Task Two_silos_and_four_workers_deliver_every_id_exactly_once_per_epoch(string durability)
    {
        const long rows = 120_000;
        _data.WriteCsv("part-{0}.csv", rows, 4);
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 2);
        var job = cluster.Client.GetGrain<IJobGrain>("two-silos");
        var created = await job.Create(Spec("two-silos", durability: durability) with { FlushIntervalMs = durability == JobSpec.Batched ? 50 : null });
        Assert.True(created.Created);
        Assert.Equal(rows, created.Status.Partitions.Sum(p => p.Records));
        Assert.Equal(24, created.Status.Shards.Total);

        var deliveries = new Deliveries();
        var workers = Enumerable.Range(0, 4).Select(w => new ThickWorker(cluster, "two-silos", $"w{w}", deliveries).RunAsync()).ToArray();
        var reports = await Task.WhenAll(workers);

        deliveries.AssertExactlyOnce(epochs: 2, rows);
        Assert.Equal(48, reports.Sum());
        var status = await job.GetStatus();
        Assert.Equal(JobStates.Completed, status.State);
        Assert.Equal(2 * rows, status.Records.Delivered);
        Assert.All(status.EpochHistory, e => Assert.Equal(rows, e.RecordsDelivered));
    }

    [Fact]
    public async Task A_lease_never_reported_expires_and_its_shard_is_delivered_by_another_worker()
    {
        const long rows = 20_000;
        _data.WriteCsv("part-{0}.csv", rows, 2);
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 2);
        var job = cluster.Client.GetGrain<IJobGrain>("ghost");
        await job.Create(Spec("ghost", shardSize: 2_000, epochs: 1, leaseTimeoutSeconds: 1));

        var ghost = await job.Lease(new LeaseRequest("ghost-worker", 1));
        var abandoned = Assert.Single(ghost.Leases);
        var deliveries = new Deliveries();
        await new ThickWorker(cluster, "ghost", "survivor", deliveries).RunAsync();

        deliveries.AssertExactlyOnce(epochs: 1, rows);
        var status = await job.GetStatus();
        Assert.Equal(JobStates.Completed, status.State);
        Assert.Equal(1, status.EpochHistory[0].LeasesExpired);
        var late = await Assert.ThrowsAsync<ShardsException>(() => job.Report(new TaskReport(abandoned.TaskId, abandoned.LeaseId, "ghost-worker", true)));
        Assert.Equal(ShardsErrorKind.Conflict, late.Kind);
    }

    [Fact]
    public async Task A_whole_restart_mid_job_loses_nothing_and_repeats_only_what_was_in_flight()
    {
        const long rows = 60_000;
        _data.WriteCsv("part-{0}.csv", rows, 3);
        var deliveries = new Deliveries();
        var inFlight = new List<TaskLease>();
        await using (var first = await ShardsCluster.StartAsync(_data, silos: 1))
        {
            await first.Client.GetGrain<IJobGrain>("restart").Create(Spec("restart", shardSize: 2_000, leaseTimeoutSeconds: 2));
            var workers = Enumerable.Range(0, 3).Select(w => new ThickWorker(first, "restart", $"a{w}", deliveries)).ToList();
            await Task.WhenAll(workers.Select(w => w.RunAsync(maxTasks: 2, stopAfterReports: 6)));
            inFlight.AddRange(workers.SelectMany(w => w.Unreported));
        }

        Assert.NotEmpty(inFlight);
        await using var second = await ShardsCluster.StartAsync(_data, silos: 1);
        var job = second.Client.GetGrain<IJobGrain>("restart");
        var before = await job.GetStatus();
        Assert.Equal(inFlight.Count, before.Shards.Doing + before.EpochHistory[0].LeasesExpired);
        Assert.Equal(18, before.EpochHistory[0].ShardsDone);

        await Task.WhenAll(Enumerable.Range(0, 3).Select(w => new ThickWorker(second, "restart", $"b{w}", deliveries).RunAsync()));

        for (var epoch = 0; epoch < 2; epoch++)
        {
            Assert.Empty(deliveries.Missing(epoch, rows));
        }

        var inFlightTasks = inFlight.Select(l => (l.Epoch, l.TaskId)).ToHashSet();
        var repeated = deliveries.Repeated.ToList();
        Assert.NotEmpty(repeated);
        Assert.All(repeated, r =>
        {
            Assert.Equal(2, r.Count);
            Assert.Equal(0, r.Epoch);
        });
        // Every repeat lies in a shard that was in flight when the cluster stopped.
        var shardsOfRepeats = repeated.Select(r => inFlight.Single(l => l.Shard.Partition == (int)(r.Id / 20_000) && r.Id % 20_000 >= l.Shard.Start && r.Id % 20_000 < l.Shard.End)).Distinct().ToList();
        Assert.Equal(inFlight.Count, shardsOfRepeats.Count);
        Assert.Equal(inFlight.Sum(l => l.Shard.Length), repeated.Count);
        Assert.Equal(JobStates.Completed, (await job.GetStatus()).State);
    }

    [Fact]
    public async Task A_thin_worker_grain_reads_batches_inside_the_silo()
    {
        const long rows = 25_000;
        _data.WriteCsv("part-{0}.csv", rows, 2);
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 2);
        await cluster.Client.GetGrain<IJobGrain>("thin").Create(Spec("thin", shardSize: 4_000, epochs: 1));
        var worker = cluster.Client.GetGrain<IWorkerGrain>("thin-1");
        var deliveries = new Deliveries();
        var batches = 0;
        while (true)
        {
            var batch = await worker.Next("thin", 1_500);
            if (batch.TaskId is null)
            {
                if (batch.JobState == JobStates.Completed)
                {
                    break;
                }

                await Task.Delay(20);
                continue;
            }

            batches++;
            using var records = JsonDocument.Parse(batch.RecordsJson);
            Assert.Equal(batch.Count, records.RootElement.GetArrayLength());
            foreach (var record in records.RootElement.EnumerateArray())
            {
                deliveries.Add(batch.Epoch, long.Parse(record.GetProperty("id").GetString()!, System.Globalization.CultureInfo.InvariantCulture), batch.TaskId);
            }
        }

        deliveries.AssertExactlyOnce(epochs: 1, rows);
        Assert.True(batches >= 18, $"pages of 1,500 of 4,000-record shards: {batches}");
    }

    [Fact]
    public async Task A_thin_worker_moving_to_another_job_releases_its_lease_of_the_first()
    {
        _data.WriteCsv("part-{0}.csv", 4_000, 1);
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 1);
        var first = cluster.Client.GetGrain<IJobGrain>("first");
        var second = cluster.Client.GetGrain<IJobGrain>("second");
        await first.Create(Spec("first", shardSize: 1_000, epochs: 1));
        await second.Create(Spec("second", shardSize: 1_000, epochs: 1));
        var worker = cluster.Client.GetGrain<IWorkerGrain>("mover");

        var batch = await worker.Next("first", 10);
        Assert.Equal(10, batch.Count);
        Assert.Equal(1, (await first.GetStatus()).Shards.Doing);
        Assert.Equal(10, (await worker.Next("second", 10)).Count);
        var left = await first.GetStatus();
        Assert.Equal((0L, 4L), (left.Shards.Doing, left.Shards.Todo));
        Assert.Equal(1, (await second.GetStatus()).Shards.Doing);
    }

    [Fact]
    public async Task Create_is_idempotent_for_the_same_spec_and_refuses_another()
    {
        _data.WriteCsv("part-{0}.csv", 1_000, 1);
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 1);
        var job = cluster.Client.GetGrain<IJobGrain>("same");
        Assert.True((await job.Create(Spec("same"))).Created);
        Assert.False((await job.Create(Spec("same"))).Created);
        var conflict = await Assert.ThrowsAsync<ShardsException>(() => job.Create(Spec("same", shardSize: 7)));
        Assert.Equal(ShardsErrorKind.Conflict, conflict.Kind);
        var outside = await Assert.ThrowsAsync<ShardsException>(() => cluster.Client.GetGrain<IJobGrain>("outside").Create(Spec("outside") with { Source = new SourceSpec { Kind = "csv", Paths = ["../../../etc/passwd"] } }));
        Assert.Equal(("source.paths", ShardsErrorKind.Invalid), (outside.Field, outside.Kind));
        Assert.Contains("outside", outside.Message, StringComparison.Ordinal);
        Assert.Contains("same", await cluster.Client.GetGrain<IJobRegistryGrain>(IJobRegistryGrain.Key).List());
    }

    [Fact]
    public async Task Concurrent_creates_of_one_id_create_it_once()
    {
        _data.WriteCsv("part-{0}.csv", 3_000, 3);
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 1);
        var job = cluster.Client.GetGrain<IJobGrain>("racing");
        var same = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => job.Create(Spec("racing"))));
        Assert.Single(same, r => r.Created);
        Assert.All(same, r => Assert.Equal(3, r.Status.Partitions.Count));

        var other = cluster.Client.GetGrain<IJobGrain>("racing-2");
        var outcomes = await Task.WhenAll(
            Record.ExceptionAsync(() => other.Create(Spec("racing-2"))).AsTask(),
            Record.ExceptionAsync(() => other.Create(Spec("racing-2", shardSize: 77))).AsTask());
        var conflict = Assert.Single(outcomes, e => e is not null);
        Assert.Equal(ShardsErrorKind.Conflict, Assert.IsType<ShardsException>(conflict).Kind);
    }

    [Fact]
    public async Task The_embedded_sqlite_store_is_also_the_silos_default_storage()
    {
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 1);
        var services = cluster.Cluster.GetSiloServiceProvider();
        var shards = services.GetRequiredKeyedService<IGrainStorage>(ShardsOptions.StorageName);
        Assert.IsType<Providers.Sqlite.SqliteGrainStorage>(shards);
        Assert.Same(shards, services.GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME));
        Assert.Same(shards, services.GetRequiredService<IGrainStorage>());
    }

    [Fact]
    public async Task A_file_changed_under_a_running_job_fails_its_shards_with_a_clear_error()
    {
        _data.WriteCsv("part-{0}.csv", 5_000, 1);
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 1);
        var job = cluster.Client.GetGrain<IJobGrain>("changed");
        await job.Create(Spec("changed", shardSize: 1_000, epochs: 1) with { MaxAttempts = 1 });
        var plan = await job.GetReadPlan();
        File.AppendAllText(Path.Combine(_data.DataDir, "part-0.csv"), "99999,late,0\n");

        var lease = (await job.Lease(new LeaseRequest("w", 1))).Leases[0];
        var error = await Assert.ThrowsAsync<Readers.SourceChangedException>(async () => await cluster.Reader.ReadAsync(plan, lease.TaskId, 0, null, null, CancellationToken.None));
        Assert.Contains("part-0.csv", error.Message, StringComparison.Ordinal);

        var thin = await Assert.ThrowsAsync<ShardsException>(() => cluster.Client.GetGrain<IWorkerGrain>("thin-changed").Next("changed", 100));
        Assert.Contains("changed since the job was created", thin.Message, StringComparison.Ordinal);
        var status = await job.GetStatus();
        var dead = Assert.Single(status.DeadLetters);
        Assert.Contains("part-0.csv", dead.LastError, StringComparison.Ordinal);
    }
}
