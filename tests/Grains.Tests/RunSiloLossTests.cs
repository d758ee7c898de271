using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains.Tests;

/// <summary>Three silos on one SQLite file; the silo hosting a training run is killed: every acknowledged commit survives on the others.</summary>
public sealed class RunSiloLossTests : IDisposable
{
    private readonly TestData _data = new();

    public RunSiloLossTests() => _data.WriteCsv("part-{0}.csv", 9_000, 3);

    public void Dispose() => _data.Dispose();

    [Fact]
    public async Task Killing_the_silo_that_hosts_a_run_keeps_its_commits()
    {
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 3);
        var job = cluster.Client.GetGrain<IJobGrain>("run-loss");
        await job.Create(new JobSpec { Id = "run-loss", Source = new SourceSpec { Kind = "csv", Paths = ["part-*.csv"] }, ShardSize = 500, Epochs = 2, Shuffle = true, Seed = 3 });
        var run = cluster.Client.GetGrain<IRunGrain>(IRunGrain.KeyOf("run-loss", "r"));
        await Eventually(() => run.Create(new RunSpec(600)));
        await run.Commit(0, 2, "a");
        var before = await run.Commit(0, 4, "b");

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

        await cluster.Cluster.KillSiloAsync(cluster.SiloOf(run));
        RunStatus? after = null;
        await Eventually(async () => after = await run.GetStatus());
        Assert.Equal((before.Committed, before.ResumeAt), (after!.Committed, after.ResumeAt));
        Assert.Equal(new RunPosition(0, 5), after.ResumeAt);
        Assert.Equal(new RunPosition(0, 7), (await run.Commit(0, 6, "c")).ResumeAt);
        Assert.Equal(new RunPosition(0, 3), (await run.Rewind("a", null, null)).ResumeAt);
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
