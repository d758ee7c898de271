using System.Globalization;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;
using OrleansShards.Readers.Live;
using OrleansShards.Tests.Servers;
using StackExchange.Redis;

namespace OrleansShards.Grains.Tests.Live;

/// <summary>Redis Streams as a live source, end to end: a real redis-server, a real test cluster, stream keys as partitions.</summary>
public sealed class RedisStreamsJobTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private SourceConnectionsOptions Connections => new()
    {
        Connections = { ["events"] = new SourceConnection { Kind = "redis", ConnectionString = redis.Connection } },
    };

    [Fact]
    public async Task Entries_added_while_workers_lease_are_delivered_exactly_once_in_offset_order_per_stream()
    {
        redis.Require();
        var prefix = "s-" + Guid.NewGuid().ToString("N")[..6] + "-";
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Connection);
        var database = connection.GetDatabase();
        // One stream was trimmed before the job: the job starts at its first retained entry.
        for (var i = 0; i < 50; i++)
        {
            await database.StreamAddAsync(prefix + "0", [new NameValueEntry("id", 100_000 + i)]);
        }

        await database.StreamTrimAsync(prefix + "0", 10);

        using var data = new TestData();
        await using var cluster = await ShardsCluster.StartAsync(data, adapters: () => [new RedisStreamsSourceAdapter(Connections)]);
        var job = cluster.Client.GetGrain<IJobGrain>("redis-stream");
        await job.Create(new JobSpec
        {
            Id = "redis-stream",
            Source = new SourceSpec { Kind = "redisstreams", Connection = "events", Keys = [prefix + "0", prefix + "1", prefix + "2"] },
            ShardSize = 300,
            MaxWaitMs = 100,
        });
        var status = await job.GetStatus();
        Assert.Equal([40L, 0L, 0L], status.Partitions.Select(p => p.Committed!.Value));

        const int Entries = 9_000;
        var producer = Task.Run(async () =>
        {
            for (var id = 0; id < Entries; id += 100)
            {
                var batch = Enumerable.Range(id, 100).Select(i => database.StreamAddAsync(prefix + (i % 3), [new NameValueEntry("id", i), new NameValueEntry("text", $"entry {i}")]));
                await Task.WhenAll(batch);
            }
        });

        var deliveries = new Deliveries();
        var firstLeases = new List<(long Sequence, ShardRange Shard)>();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var workers = Enumerable.Range(0, 2).Select(w => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var batch = await job.Lease(new LeaseRequest("w" + w, 2));
                if (batch.Leases.Count == 0)
                {
                    if (producer.IsCompleted && (await job.GetStatus()).Partitions.All(p => p.Lag == 0 && p.HighWatermark > 0))
                    {
                        return;
                    }

                    await Task.Delay(batch.RetryAfterMs ?? 50);
                    continue;
                }

                var plan = await job.GetReadPlan();
                foreach (var lease in batch.Leases)
                {
                    lock (firstLeases)
                    {
                        firstLeases.Add((LeaseIds.SequenceOf(lease.LeaseId)!.Value, lease.Shard));
                    }

                    using var page = await cluster.Reader.ReadAsync(plan, lease.TaskId, 0, (int)lease.Shard.Length, ["id"], CancellationToken.None);
                    for (var i = 0; i < page.Count; i++)
                    {
                        deliveries.Add(0, long.Parse(page.GetText(i, "id")!, CultureInfo.InvariantCulture), lease.TaskId);
                    }

                    await job.Report(new TaskReport(lease.TaskId, lease.LeaseId, "w" + w, Done: true));
                }
            }
        })).ToArray();
        await producer;
        await Task.WhenAll(workers);

        Assert.Empty(deliveries.Missing(0, Entries));
        Assert.Empty(deliveries.Repeated);
        // Of the entries added before the job, the 40 trimmed ones are gone and the 10 retained ones delivered.
        Assert.All(Enumerable.Range(100_000, 50), id => Assert.Equal(id >= 100_040 ? 1 : 0, deliveries.Count(0, id)));
        // Leases in the order the job granted them (by lease id): each stream's shards follow one another.
        foreach (var partition in firstLeases.OrderBy(l => l.Sequence).Select(l => l.Shard).GroupBy(s => s.Partition))
        {
            var expected = partition.Key == 0 ? 40L : 0L;
            foreach (var shard in partition)
            {
                Assert.Equal(expected, shard.Start);
                expected = shard.End;
            }
        }

        status = await job.GetStatus();
        Assert.Equal([3050L, 3000L, 3000L], status.Partitions.Select(p => p.Committed!.Value));
    }

    [Fact]
    public async Task A_key_that_is_not_a_stream_is_refused_at_creation_naming_the_field()
    {
        redis.Require();
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Connection);
        var key = "plain-" + Guid.NewGuid().ToString("N")[..6];
        await connection.GetDatabase().StringSetAsync(key, "x");
        using var data = new TestData();
        await using var cluster = await ShardsCluster.StartAsync(data, silos: 1, adapters: () => [new RedisStreamsSourceAdapter(Connections)]);
        var error = await Assert.ThrowsAsync<ShardsException>(() => cluster.Client.GetGrain<IJobGrain>("bad").Create(new JobSpec
        {
            Id = "bad",
            Source = new SourceSpec { Kind = "redisstreams", Connection = "events", Keys = [key] },
        }));
        Assert.Equal("source.keys", error.Field);
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }
}
