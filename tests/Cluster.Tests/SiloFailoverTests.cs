using System.Diagnostics;
using OrleansShards.GrainInterfaces;
using OrleansShards.Tests.Servers;
using OrleansShards.Tests.Sql;

namespace OrleansShards.Cluster.Tests;

/// <summary>
/// Failover with real processes: two silos on loopback, a job run through the HTTP API of either, SIGKILL of the
/// silo that hosts the job mid-run, and the job completes on the other with no id missing. Each silo has its own data
/// directory, so only the configured shared grain storage (<c>Shards:Storage:Provider</c>) can carry the job over.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class SiloFailoverTests(PostgresServer postgres, RedisFixture redis, AzuriteFixture azurite)
{
    private const int Rows = 4_000;

    [Fact]
    public async Task Sigkill_mid_run_on_postgres_clustering_and_storage_the_job_completes_on_the_survivor_with_no_id_missing()
    {
        postgres.Require();
        var database = await postgres.CreateDatabaseAsync("failover");
        var connection = postgres.ConnectionStringWithoutPassword(database);
        await using var cluster = new SiloCluster(
            "failover-pg",
            2,
            (_, _) =>
            [
                "--Shards:Clustering=postgres",
                $"--Shards:ClusteringConnectionString={connection}",
                "--Shards:ClusteringPassword=env:SHARDS_TEST_PG_PASSWORD",
                "--Shards:Storage:Provider=postgres",
                $"--Shards:Storage:ConnectionString={connection}",
                "--Shards:Storage:Password=env:SHARDS_TEST_PG_PASSWORD",
            ],
            new Dictionary<string, string> { ["SHARDS_TEST_PG_PASSWORD"] = postgres.Password });
        await KillTheJobsSiloMidRunAsync(cluster);
    }

    [Fact]
    public async Task Sigkill_mid_run_on_redis_clustering_and_storage_the_job_completes_on_the_survivor_with_no_id_missing()
    {
        redis.Require();
        await using var cluster = new SiloCluster("failover-redis", 2, (_, _) =>
        [
            "--Shards:Clustering=redis",
            $"--Shards:RedisConnection={redis.Connection}",
            "--Shards:Storage:Provider=redis",
            $"--Shards:Storage:ConnectionString={redis.Connection}",
        ]);
        await KillTheJobsSiloMidRunAsync(cluster);
    }

    [Fact]
    public async Task Sigkill_mid_run_on_azure_table_clustering_and_blob_storage_the_job_completes_on_the_survivor_with_no_id_missing()
    {
        await azurite.RequireAsync();
        await using var cluster = new SiloCluster(
            "failover-azure",
            2,
            (_, _) =>
            [
                "--Shards:Clustering=azuretable",
                "--Shards:ClusteringConnectionString=env:SHARDS_TEST_AZURE_TABLE",
                "--Shards:Storage:Provider=blob",
                "--Shards:Storage:ConnectionString=env:SHARDS_TEST_AZURE_BLOB",
                "--Shards:Storage:Container=failover",
            ],
            new Dictionary<string, string> { ["SHARDS_TEST_AZURE_TABLE"] = azurite.TableConnection, ["SHARDS_TEST_AZURE_BLOB"] = azurite.BlobConnection });
        await KillTheJobsSiloMidRunAsync(cluster);
    }

    private static async Task KillTheJobsSiloMidRunAsync(SiloCluster cluster)
    {
        var ct = TestContext.Current.CancellationToken;
        var jobId = "failover-" + cluster.ClusterId;
        cluster.WriteCsv("rows.csv", Rows);
        await cluster.StartAsync(TimeSpan.FromMinutes(2));
        var clients = cluster.Silos.Select(cluster.Client).ToList();
        var created = await clients[1].CreateJobAsync(JobWorkers.Spec(jobId, "rows.csv", shardSize: 20), ct);
        Assert.Equal(Rows / 20, created.Shards.Total);

        var workers = new JobWorkers(jobId, clients, workers: 2);
        var work = workers.RunAsync(TimeSpan.FromMinutes(4), ct);
        await SiloShutdownTests.WaitAsync(() => workers.Acknowledged >= 30 || work.IsCompleted, TimeSpan.FromMinutes(2), "30 reports before the kill");
        Assert.False(work.IsCompleted, "the job ended before the kill: make it longer");

        var victim = await cluster.HostOfJobAsync(jobId);
        var survivor = cluster.Silos.Single(s => s != victim);
        var view = await cluster.OrleansThroughAsync(survivor);
        var acknowledgedAtKill = workers.Acknowledged;
        var clock = Stopwatch.StartNew();
        victim.Kill();

        await work;
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"SIGKILL of {victim.Name} after {acknowledgedAtKill} reports; job completed on {survivor.Name} {clock.Elapsed.TotalSeconds:F1} s later; {workers.Errors} calls retried elsewhere");
        var status = await cluster.Client(survivor).GetJobAsync(jobId, ct);
        Assert.Equal(JobStates.Completed, status.State);
        Assert.Equal(created.Shards.Total, status.Shards.Done);
        Assert.Equal(Enumerable.Range(0, Rows).Select(i => (long)i), workers.Ids.Order());
        await SiloShutdownTests.WaitAsync(
            async () => (await SiloCluster.MembershipSeenByAsync(view))[victim.SiloPort] == SiloStatus.Dead,
            TimeSpan.FromSeconds(60),
            $"{victim.Name} Dead in the survivor's membership");
    }
}
