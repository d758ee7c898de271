using System.Diagnostics;
using OrleansShards.GrainInterfaces;
using OrleansShards.Tests.Servers;

namespace OrleansShards.Cluster.Tests;

/// <summary>
/// Graceful shutdown with real processes: SIGTERM (what Kubernetes sends) makes a silo leave its cluster in good order,
/// hand its grains over and exit 0 within its grace period, and the job goes on on the other silo.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class SiloShutdownTests(RedisFixture redis)
{
    [Fact]
    public async Task Sigterm_leaves_the_cluster_at_once_exits_zero_in_the_grace_period_and_the_job_goes_on_on_the_survivor()
    {
        redis.Require();
        var shutdownTimeout = TimeSpan.FromSeconds(20);
        var sharedState = Path.Combine(Path.GetTempPath(), $"shards-shutdown-{Guid.NewGuid():N}.db");
        // Orleans' own membership defaults: a silo that vanished is declared dead only after 3 missed probes of 5 s,
        // so anything the survivor learns sooner it learns because the leaver said goodbye.
        await using var cluster = new SiloCluster("shutdown", 2, (_, _) =>
        [
            "--Shards:Clustering=redis",
            $"--Shards:RedisConnection={redis.Connection}",
            "--Shards:Membership:UseOrleansDefaults=true",
            $"--Shards:ShutdownTimeout={shutdownTimeout}",
            // Both processes keep grain state in one SQLite file: the state must outlive the silo that wrote it.
            $"--Shards:SqliteFile={sharedState}",
        ]);
        try
        {
            cluster.WriteCsv("rows.csv", 4_000);
            await cluster.StartAsync(TimeSpan.FromMinutes(2));
            var clients = cluster.Silos.Select(cluster.Client).ToList();
            await clients[0].CreateJobAsync(JobWorkers.Spec("graceful", "rows.csv", shardSize: 20), TestContext.Current.CancellationToken);
            var workers = new JobWorkers("graceful", clients, workers: 2);
            var work = workers.RunAsync(TimeSpan.FromMinutes(4), TestContext.Current.CancellationToken);
            await WaitAsync(() => workers.Acknowledged >= 30 || work.IsCompleted, TimeSpan.FromMinutes(2), "30 reports before the shutdown");
            Assert.False(work.IsCompleted, "the job ended before the shutdown: make it longer");

            var leaver = await cluster.HostOfJobAsync("graceful");
            var survivor = cluster.Silos.Single(s => s != leaver);
            var view = await cluster.OrleansThroughAsync(survivor);
            Assert.Equal(SiloStatus.Active, (await SiloCluster.MembershipSeenByAsync(view))[leaver.SiloPort]);

            var clock = Stopwatch.StartNew();
            leaver.Terminate();

            // The survivor sees it leave long before failure detection could have declared it dead.
            SiloStatus seen;
            while ((seen = (await SiloCluster.MembershipSeenByAsync(view))[leaver.SiloPort]) == SiloStatus.Active)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the survivor still sees {leaver.Name} Active {clock.Elapsed.TotalSeconds:F1} s after SIGTERM");
                await Task.Delay(50);
            }

            var leaving = clock.Elapsed;
            Assert.Contains(seen, new[] { SiloStatus.ShuttingDown, SiloStatus.Stopping, SiloStatus.Dead });

            var exitCode = await leaver.WaitForExitAsync(shutdownTimeout + TimeSpan.FromSeconds(10));
            var exited = clock.Elapsed;
            Assert.True(exitCode is not null, $"{leaver.Name} still ran {exited.TotalSeconds:F0} s after SIGTERM:\n{leaver.Tail()}");
            Assert.True(exitCode == 0, $"{leaver.Name} exited with {exitCode} after SIGTERM:\n{leaver.Tail()}");
            TestContext.Current.TestOutputHelper?.WriteLine($"SIGTERM -> survivor sees {seen} after {leaving.TotalMilliseconds:F0} ms; process exited 0 after {exited.TotalMilliseconds:F0} ms");

            await WaitAsync(async () => (await SiloCluster.MembershipSeenByAsync(view))[leaver.SiloPort] == SiloStatus.Dead, TimeSpan.FromSeconds(30), $"{leaver.Name} Dead in the survivor's membership");

            await work;
            var status = await cluster.Client(survivor).GetJobAsync("graceful", TestContext.Current.CancellationToken);
            Assert.Equal(JobStates.Completed, status.State);
            Assert.Equal(Enumerable.Range(0, 4_000).Select(i => (long)i), workers.Ids.Order());
        }
        finally
        {
            foreach (var file in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(sharedState) + "*"))
            {
                File.Delete(file);
            }
        }
    }

    [Fact]
    public async Task Sigterm_hands_over_state_the_silo_had_not_written_yet_and_leases_it_granted_stay_valid()
    {
        redis.Require();
        var sharedState = Path.Combine(Path.GetTempPath(), $"shards-handover-{Guid.NewGuid():N}.db");
        await using var cluster = new SiloCluster("handover", 2, (_, _) =>
        [
            "--Shards:Clustering=redis",
            $"--Shards:RedisConnection={redis.Connection}",
            $"--Shards:SqliteFile={sharedState}",
        ]);
        try
        {
            cluster.WriteCsv("rows.csv", 1_000);
            await cluster.StartAsync(TimeSpan.FromMinutes(2));
            var ct = TestContext.Current.CancellationToken;
            // Batched durability with a flush interval far beyond the test: the reports below reach the
            // database only if the grain writes its state when the shutdown deactivates it.
            var spec = JobWorkers.Spec("handover", "rows.csv", shardSize: 10) with { Durability = "batched", FlushIntervalMs = 600_000 };
            var first = cluster.Client(cluster.Silos[0]);
            await first.CreateJobAsync(spec, ct);
            var reported = 0;
            while (reported < 20)
            {
                foreach (var lease in (await first.LeaseAsync("handover", "w", maxTasks: 5, cancellationToken: ct)).Leases)
                {
                    Assert.True((await first.ReportAsync("handover", new TaskReport(lease.TaskId, lease.LeaseId, "w", Done: true), ct)).Accepted);
                    reported++;
                }
            }

            var held = (await first.LeaseAsync("handover", "w", maxTasks: 3, cancellationToken: ct)).Leases;
            Assert.Equal(3, held.Count);

            var leaver = await cluster.HostOfJobAsync("handover");
            var survivor = cluster.Silos.Single(s => s != leaver);
            leaver.Terminate();
            var exitCode = await leaver.WaitForExitAsync(TimeSpan.FromSeconds(35));
            Assert.True(exitCode == 0, $"{leaver.Name} exited with {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing (still running)"} after SIGTERM:\n{leaver.Tail()}");

            var next = cluster.Client(survivor);
            var status = await next.GetJobAsync("handover", ct);
            Assert.Equal(reported, status.Shards.Done);
            Assert.Equal(3, status.Shards.Doing);

            // The leases granted before the shutdown are in the job's state: the survivor takes their reports.
            foreach (var lease in held)
            {
                Assert.True((await next.ReportAsync("handover", new TaskReport(lease.TaskId, lease.LeaseId, "w", Done: true), ct)).Accepted);
            }

            Assert.Equal(reported + 3, (await next.GetJobAsync("handover", ct)).Shards.Done);
        }
        finally
        {
            foreach (var file in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(sharedState) + "*"))
            {
                File.Delete(file);
            }
        }
    }

    internal static async Task WaitAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        await WaitAsync(() => Task.FromResult(condition()), timeout, what);

    internal static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < timeout, $"waited {timeout.TotalSeconds:F0} s for {what}");
            await Task.Delay(100);
        }
    }
}

/// <summary>Tests that run silo processes run one at a time: two pairs of silos on two cores would starve each other.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SiloProcessCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "silo processes";
}
