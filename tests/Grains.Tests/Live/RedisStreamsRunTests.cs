using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Grains.Tests.Faults;
using OrleansShards.Readers;
using OrleansShards.Readers.Live;
using OrleansShards.Tests.Servers;
using StackExchange.Redis;

namespace OrleansShards.Grains.Tests.Live;

/// <summary>A training run over Redis Streams (a live source other than the built-in log): a real redis-server and a real test cluster.</summary>
public sealed class RedisStreamsRunTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task A_live_run_over_redis_streams_seals_steps_as_entries_arrive_and_refuses_a_rewind_past_trimmed_entries()
    {
        redis.Require();
        var prefix = "run-" + Guid.NewGuid().ToString("N")[..6] + "-";
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Connection);
        var database = connection.GetDatabase();
        async Task Add(int stream, int first, int count)
        {
            for (var i = first; i < first + count; i++)
            {
                await database.StreamAddAsync(prefix + stream, [new NameValueEntry("id", i)]);
            }
        }

        await Add(0, 0, 6);
        await Add(1, 100, 6);
        var connections = new SourceConnectionsOptions { Connections = { ["events"] = new SourceConnection { Kind = "redis", ConnectionString = redis.Connection } } };
        using var data = new TestData();
        await using var cluster = await ShardsCluster.StartAsync(data, silos: 1, adapters: () => [new RedisStreamsSourceAdapter(connections)]);
        await cluster.Client.GetGrain<IJobGrain>("redis-run").Create(new JobSpec
        {
            Id = "redis-run",
            Source = new SourceSpec { Kind = "redisstreams", Connection = "events", Keys = [prefix + "0", prefix + "1"] },
            ShardSize = 100,
            MaxWaitMs = 100,
        });
        var run = cluster.Client.GetGrain<IRunGrain>(IRunGrain.KeyOf("redis-run", "r"));
        while (true)
        {
            try
            {
                Assert.True((await run.Create(new RunSpec(8))).Status.Live);
                break;
            }
            catch (ShardsException e) when (e.Kind == ShardsErrorKind.Conflict)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken); // the job still describes its source
            }
        }

        var readers = new SourceReaders(Options.Create(new ShardsOptions { DataDir = data.DataDir }), [new RedisStreamsSourceAdapter(connections)]);
        var runOptions = Options.Create(new RunOptions());
        var served = new RunBatchReader(readers, runOptions, Microsoft.Extensions.Logging.Abstractions.NullLogger<RunBatchReader>.Instance);
        var reader = new LiveRunBatchReader(readers, served, runOptions, TimeProvider.System);
        async Task<string[]> Ids(long step)
        {
            var plan = await reader.SealAsync(run, step, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            Assert.NotNull(plan);
            var batch = await reader.ReadAsync("redis-run", "r", plan, step, 0, 1, ["id"], TestContext.Current.CancellationToken);
            return [.. Enumerable.Range(0, batch.Count).Select(i => batch.GetText(i, "id")!)];
        }

        Assert.Equal(["0", "100", "1", "101", "2", "102", "3", "103"], await Ids(0));

        // Step 1 is not full (4 entries left) until more arrive; then stream 0 gives its last 2 and stream 1 the rest.
        Assert.False((await run.SealLiveStep(1)).Sealed);
        await Add(1, 106, 4);
        Assert.Equal(["4", "104", "5", "105", "106", "107", "108", "109"], await Ids(1));

        Assert.Equal(2, served.StatsOf("redis-run", "r").Fetches);
        await run.Commit(0, 0, "c0");
        var status = await run.Commit(0, 1, "c1");
        Assert.Equal([(6L, 0L), (10L, 0L)], status.Partitions!.Select(p => (p.Committed, p.Lag)));

        // Redis trims stream 0 past what a rewind to c0 needs (offset 4): the rewind is 409 naming the first retained offset.
        await database.StreamTrimAsync(prefix + "0", 1);
        var gone = await Assert.ThrowsAsync<ShardsException>(() => run.Rewind("c0", null, null));
        Assert.Equal(ShardsErrorKind.Conflict, gone.Kind);
        Assert.Contains("first retained offset is 5", gone.Message, StringComparison.Ordinal);
        Assert.Equal("c1", (await run.GetStatus()).Committed!.Checkpoint);
    }

    [Fact]
    public async Task Killing_the_silo_that_hosts_a_live_run_keeps_its_sealed_steps_and_commits()
    {
        redis.Require();
        var prefix = "loss-" + Guid.NewGuid().ToString("N")[..6] + "-";
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Connection);
        var database = connection.GetDatabase();
        for (var i = 0; i < 12; i++)
        {
            await database.StreamAddAsync(prefix + (i % 3 == 0 ? 0 : 1), [new NameValueEntry("id", i)]);
        }

        var connections = new SourceConnectionsOptions { Connections = { ["events"] = new SourceConnection { Kind = "redis", ConnectionString = redis.Connection } } };
        using var data = new TestData();
        await using var cluster = await ShardsCluster.StartAsync(data, silos: 3, adapters: () => [new RedisStreamsSourceAdapter(connections)]);
        await cluster.Client.GetGrain<IJobGrain>("redis-loss").Create(new JobSpec
        {
            Id = "redis-loss",
            Source = new SourceSpec { Kind = "redisstreams", Connection = "events", Keys = [prefix + "0", prefix + "1"] },
            ShardSize = 100,
            MaxWaitMs = 100,
        });
        var run = cluster.Client.GetGrain<IRunGrain>(IRunGrain.KeyOf("redis-loss", "r"));
        await Eventually(() => run.Create(new RunSpec(4)));
        var sealedSteps = new List<IReadOnlyList<LiveStepRange>>();
        for (var step = 0; step < 3; step++)
        {
            var plan = await run.SealLiveStep(step);
            Assert.True(plan.Sealed);
            sealedSteps.Add(plan.Ranges);
        }

        await run.Commit(0, 0, "a");

        // The primary silo holds the test cluster's membership: keep the run off it, so the kill is of a plain silo.
        if (cluster.SiloOf(run) == cluster.Cluster.Silos[0])
        {
            await cluster.Cluster.MigrateAsync(run, cluster.Cluster.Silos[1].SiloAddress);
            await Eventually(async () =>
            {
                await run.GetStatus();
                Assert.NotEqual(cluster.Cluster.Silos[0], cluster.SiloOf(run));
            });
        }

        // More entries arrive while the silo dies: the steps already sealed keep their ranges on the survivors.
        await cluster.Cluster.KillSiloAsync(cluster.SiloOf(run));
        for (var i = 12; i < 20; i++)
        {
            await database.StreamAddAsync(prefix + "0", [new NameValueEntry("id", i)]);
        }

        RunStatus? after = null;
        await Eventually(async () => after = await run.GetStatus());
        Assert.Equal(("a", new RunPosition(0, 1), 3L), (after!.Committed!.Checkpoint, after.ResumeAt, after.SealedSteps!.Value));
        for (var step = 1; step < 3; step++)
        {
            Assert.Equal(sealedSteps[step], (await run.SealLiveStep(step)).Ranges);
        }

        Assert.Equal(new RunPosition(0, 3), (await run.Commit(0, 2, "b")).ResumeAt);
    }

    /// <summary>
    /// The persistence point of a seal (docs/durability.md): a crash right before the run's state write leaves the step
    /// unsealed (it was never served: it is cut again from what the streams hold then); right after, the step is sealed
    /// with the ranges cut before the crash, whatever arrived since.
    /// </summary>
    [Theory]
    [InlineData(FaultKind.CrashBefore)]
    [InlineData(FaultKind.CrashAfter)]
    public async Task Crash_at_the_seal_write(FaultKind kind)
    {
        redis.Require();
        var prefix = "crash-" + Guid.NewGuid().ToString("N")[..6] + "-";
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Connection);
        var database = connection.GetDatabase();
        async Task Add(int stream, int count)
        {
            for (var i = 0; i < count; i++)
            {
                await database.StreamAddAsync(prefix + stream, [new NameValueEntry("id", i)]);
            }
        }

        await Add(0, 2);
        await Add(1, 10);
        var connections = new SourceConnectionsOptions { Connections = { ["events"] = new SourceConnection { Kind = "redis", ConnectionString = redis.Connection } } };
        using var data = new TestData();
        var faults = new FaultInjector();
        var cluster = await ShardsCluster.StartAsync(data, silos: 1, faults, adapters: () => [new RedisStreamsSourceAdapter(connections)]);
        try
        {
            await cluster.Client.GetGrain<IJobGrain>("redis-crash").Create(new JobSpec
            {
                Id = "redis-crash",
                Source = new SourceSpec { Kind = "redisstreams", Connection = "events", Keys = [prefix + "0", prefix + "1"] },
                ShardSize = 100,
                MaxWaitMs = 100,
            });
            var run = cluster.Client.GetGrain<IRunGrain>(IRunGrain.KeyOf("redis-crash", "r"));
            await Eventually(() => run.Create(new RunSpec(4)));
            Assert.Equal([new LiveStepRange(0, 0, 2), new LiveStepRange(1, 0, 2)], (await run.SealLiveStep(0)).Ranges);

            // Step 1 would be 4 entries of stream 1 (stream 0 has none left): the silo dies at its seal's write.
            faults.Arm("run", 1, kind);
            Assert.NotNull(await Record.ExceptionAsync(() => run.SealLiveStep(1)));
            await faults.Tripped.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            await cluster.KillAllAsync();
            await cluster.DisposeAsync();
            cluster = await ShardsCluster.StartAsync(data, silos: 1, adapters: () => [new RedisStreamsSourceAdapter(connections)]);

            // Entries arrive on stream 0 before the trainer asks again.
            await Add(0, 4);
            run = cluster.Client.GetGrain<IRunGrain>(IRunGrain.KeyOf("redis-crash", "r"));
            var step1 = await run.SealLiveStep(1);
            Assert.True(step1.Sealed);
            LiveStepRange[] expected = kind == FaultKind.CrashBefore
                ? [new LiveStepRange(0, 2, 4), new LiveStepRange(1, 2, 4)]
                : [new LiveStepRange(1, 2, 6)];
            Assert.Equal(expected, step1.Ranges);
            Assert.Equal([new LiveStepRange(0, 0, 2), new LiveStepRange(1, 0, 2)], (await run.SealLiveStep(0)).Ranges);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    private static async Task Eventually(Func<Task> action)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                await action();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }
}
