using Npgsql;
using OrleansShards.Tests.Sql;

namespace OrleansShards.Cluster.Tests;

/// <summary>Silo processes on PostgreSQL clustering: they apply the schema themselves and form one cluster.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class PostgresClusterTests(PostgresServer postgres)
{
    [Fact]
    public async Task Two_silos_started_together_on_an_empty_database_apply_the_schema_and_form_one_cluster()
    {
        postgres.Require();
        var database = await postgres.CreateDatabaseAsync("formation");
        var connection = postgres.ConnectionStringWithoutPassword(database);
        await using var cluster = new SiloCluster(
            "formation",
            2,
            (_, dataDir) =>
            [
                "--Shards:Clustering=postgres",
                // A multi-silo silo refuses per-silo grain state: the silos of this host share one SQLite file.
                $"--Shards:SqliteFile={Path.Combine(Path.GetDirectoryName(dataDir)!, "shards.db")}",
                $"--Shards:ClusteringConnectionString={connection}",
                "--Shards:ClusteringPassword=env:SHARDS_TEST_PG_PASSWORD",
            ],
            new Dictionary<string, string> { ["SHARDS_TEST_PG_PASSWORD"] = postgres.Password });

        await cluster.StartAsync(TimeSpan.FromMinutes(2));

        // Each silo sees both Active.
        foreach (var silo in cluster.Silos)
        {
            var view = await SiloCluster.MembershipSeenByAsync(await cluster.OrleansThroughAsync(silo));
            Assert.Equal(SiloStatus.Active, view[cluster.Silos[0].SiloPort]);
            Assert.Equal(SiloStatus.Active, view[cluster.Silos[1].SiloPort]);
        }

        // And the table says so: one version row, two Active silos of this cluster, their gateways.
        await using var db = await postgres.OpenAsync(database);
        await using var rows = new NpgsqlCommand("SELECT port, proxy_port, status FROM shards_membership WHERE deployment_id = @cluster ORDER BY port", db);
        rows.Parameters.AddWithValue("cluster", cluster.ClusterId);
        var found = new List<(int Port, int ProxyPort, int Status)>();
        await using (var reader = await rows.ExecuteReaderAsync(TestContext.Current.CancellationToken))
        {
            while (await reader.ReadAsync(TestContext.Current.CancellationToken))
            {
                found.Add((reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2)));
            }
        }

        Assert.Equal(
            cluster.Silos.Select(s => (s.SiloPort, s.GatewayPort, (int)SiloStatus.Active)).OrderBy(r => r.SiloPort),
            found);

        // Both applied the schema at start, one after the other: exactly one of them created the tables.
        var logs = cluster.Silos.Select(s => s.Log()).ToList();
        Assert.All(logs, log => Assert.Contains("Clustering schema on PostgreSQL 127.0.0.1:", log, StringComparison.Ordinal));
        Assert.Single(logs, log => log.Contains("created tables orleansquery, shards_membership_version, shards_membership", StringComparison.Ordinal));
    }
}
