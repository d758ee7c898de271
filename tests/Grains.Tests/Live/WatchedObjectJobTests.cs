using System.Globalization;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;
using OrleansShards.Readers.Objects;
using OrleansShards.Readers.Tests.Objects;

namespace OrleansShards.Grains.Tests.Live;

/// <summary>A watched object prefix (<c>"watch": true</c>) on real s3rver and Azurite: objects added later become new shards of the live job.</summary>
public sealed class WatchedObjectJobTests(ObjectServers servers) : IDisposable
{
    private readonly TestData _data = new();

    public void Dispose() => _data.Dispose();

    private Func<ISourceAdapter[]> Adapters() => () =>
        [new ObjectSourceAdapter(servers.Connections(), new ObjectSourceOptions { CacheDirectory = Path.Combine(_data.Root, "cache"), IndexStride = 64 })];

    private Task PutAsync(string kind, string container, string key, int firstId, int count) =>
        servers.PutAsync(kind, container, key, string.Concat(Enumerable.Range(firstId, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"{{\"id\":{i}}}\n"))));

    [Theory]
    [InlineData("s3")]
    [InlineData("azureblob")]
    public async Task Objects_added_after_the_job_started_are_discovered_and_every_record_is_delivered_once(string kind)
    {
        await servers.RequireAsync(kind);
        var container = await servers.CreateContainerAsync(kind);
        await PutAsync(kind, container, "in/a.jsonl", 0, 120);
        await PutAsync(kind, container, "in/b.jsonl", 120, 80);
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 2, adapters: Adapters());
        var job = cluster.Client.GetGrain<IJobGrain>("watch-" + kind);
        var created = await job.Create(new JobSpec
        {
            Id = "watch-" + kind,
            Source = new SourceSpec
            {
                Kind = kind,
                Connection = "store-" + kind,
                Bucket = kind == "s3" ? container : null,
                Container = kind == "azureblob" ? container : null,
                Prefix = "in/",
                Transformer = "jsonl",
                Partitions = 2,
                Watch = true,
            },
            ShardSize = 50,
            MaxWaitMs = 100,
        });
        Assert.Equal(2, created.Status.Partitions.Count);

        var deliveries = new Deliveries();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        async Task DrainAsync(long expected)
        {
            while (true)
            {
                var batch = await job.Lease(new LeaseRequest("w", 4));
                foreach (var lease in batch.Leases)
                {
                    var plan = await job.GetReadPlan();
                    using var page = await cluster.Reader.ReadAsync(plan, lease.TaskId, 0, (int)lease.Shard.Length, ["id"], stop.Token);
                    for (var i = 0; i < page.Count; i++)
                    {
                        deliveries.Add(0, long.Parse(page.GetText(i, "id")!, CultureInfo.InvariantCulture), lease.TaskId);
                    }

                    await job.Report(new TaskReport(lease.TaskId, lease.LeaseId, "w", Done: true));
                }

                var status = await job.GetStatus();
                if (batch.Leases.Count == 0 && status.Records.Delivered == expected && status.Partitions.All(p => p.Lag == 0))
                {
                    return;
                }

                await Task.Delay(batch.RetryAfterMs ?? 20, stop.Token);
            }
        }

        await DrainAsync(200);
        await PutAsync(kind, container, "in/c.jsonl", 200, 70);
        await PutAsync(kind, container, "in/d.jsonl", 270, 130);
        await PutAsync(kind, container, "elsewhere/e.jsonl", 10_000, 10);
        await DrainAsync(400);

        deliveries.AssertExactlyOnce(1, 400);
        var final = await job.GetStatus();
        Assert.Equal(400, final.Partitions.Sum(p => p.Committed!.Value));
        Assert.Equal(JobStates.Running, final.State);
    }

    [Fact]
    public async Task Watching_needs_a_fixed_number_of_hash_partitions_and_is_refused_naming_the_field_otherwise()
    {
        var spec = new JobSpec
        {
            Id = "watch-bad",
            Source = new SourceSpec { Kind = "s3", Connection = "store-s3", Bucket = "b", Transformer = "jsonl", Watch = true },
        };
        Assert.Equal("source.partitions", spec.Validate()?.Field);
        Assert.Equal("source.watch", (spec with { Source = new SourceSpec { Kind = "csv", Paths = ["a.csv"], Watch = true } }).Validate()?.Field);
        Assert.Equal("epochs", (spec with { Epochs = 2, Source = spec.Source with { Partitions = 2 } }).Validate()?.Field);
        await Task.CompletedTask;
    }
}
