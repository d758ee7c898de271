using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using OrleansShards.Providers.Postgres;

namespace OrleansShards.Providers.Tests.Storage;

/// <summary>
/// What the PostgreSQL dialect adds to the conformance suite: several silos on one database (schema created once by
/// silos starting together, ETags checked across silos) and group commit across grains.
/// </summary>
public sealed class PostgresGrainStorageTests(SiloFixture silo, StoragePostgresServer postgres) : IClassFixture<SiloFixture>
{
    private static GrainId Id(string key) => GrainId.Create("counter", key);

    private async Task<(PostgresGrainStorage[] Storages, string Database)> OpenAsync(int count, string? database = null)
    {
        var server = await postgres.RequireAsync();
        database ??= await postgres.CreateDatabaseAsync("pgstorage");
        var connectionString = server.ConnectionString(database, withPassword: true);
        var storages = Enumerable.Range(0, count).Select(i => new PostgresGrainStorage(
            $"silo{i}",
            new PostgresGrainStorageOptions { ConnectionString = connectionString },
            silo.SiloServices.GetRequiredService<IGrainStorageSerializer>(),
            Options.Create(new ClusterOptions { ServiceId = "pg-service", ClusterId = "pg" }),
            silo.SiloServices.GetRequiredService<IActivatorProvider>(),
            NullLogger<PostgresGrainStorage>.Instance)).ToArray();
        return (storages, database);
    }

    [Fact]
    public async Task Silos_starting_together_on_an_empty_database_create_the_schema_once()
    {
        var (storages, database) = await OpenAsync(6);
        try
        {
            await Task.WhenAll(storages.Select(s => Task.Run(() => s.InitializeAsync(TestContext.Current.CancellationToken))));
            var server = await postgres.RequireAsync();
            await using var connection = new NpgsqlConnection(server.ConnectionString(database, withPassword: true));
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            await using var command = new NpgsqlCommand(
                "SELECT count(*) FROM pg_class WHERE relname IN ('orleans_grain_state', 'orleans_grain_etag')", connection);
            Assert.Equal(2L, await command.ExecuteScalarAsync(TestContext.Current.CancellationToken));
        }
        finally
        {
            foreach (var storage in storages)
            {
                storage.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_write_by_another_silo_makes_this_silos_etag_stale()
    {
        var (storages, _) = await OpenAsync(2);
        using var a = storages[0];
        using var b = storages[1];
        var onA = new GrainState<CounterState>(new CounterState { Value = 1 });
        await a.WriteStateAsync("s", Id("moved"), onA);

        // The grain moved to silo B (A died): B reads, writes.
        var onB = new GrainState<CounterState>();
        await b.ReadStateAsync("s", Id("moved"), onB);
        Assert.Equal(onA.ETag, onB.ETag);
        onB.State!.Value = 2;
        await b.WriteStateAsync("s", Id("moved"), onB);

        // A's late write, with the ETag it had, must not overwrite B's.
        onA.State!.Value = 100;
        var conflict = await Assert.ThrowsAsync<InconsistentStateException>(() => a.WriteStateAsync("s", Id("moved"), onA));
        Assert.Equal(onB.ETag, conflict.StoredEtag);
        var back = new GrainState<CounterState>();
        await a.ReadStateAsync("s", Id("moved"), back);
        Assert.Equal(2, back.State!.Value);
    }

    [Fact]
    public async Task Writes_of_many_grains_share_transactions()
    {
        var (storages, _) = await OpenAsync(1);
        using var storage = storages[0];
        await storage.InitializeAsync(TestContext.Current.CancellationToken);
        const int grains = 400;
        await Task.WhenAll(Enumerable.Range(0, grains).Select(g => Task.Run(() =>
            storage.WriteStateAsync("s", Id($"g{g}"), new GrainState<CounterState>(new CounterState { Value = g })))));

        var statistics = storage.Statistics;
        Assert.Equal(grains, statistics.Writes);
        Assert.True(statistics.LargestBatch > 1, $"every write had a transaction of its own ({statistics})");
        Assert.True(statistics.Transactions < grains, $"no group commit: {statistics}");
    }

    [Fact]
    public async Task After_its_idle_connection_is_killed_the_writer_reconnects_and_no_write_fails()
    {
        var (storages, database) = await OpenAsync(1);
        using var storage = storages[0];
        var state = new GrainState<CounterState>(new CounterState { Value = 1 });
        await storage.WriteStateAsync("s", Id("survivor"), state);

        // What a database restart or failover does to the writer's session.
        var server = await postgres.RequireAsync();
        await using (var admin = new NpgsqlConnection(server.ConnectionString(database, withPassword: true)))
        {
            await admin.OpenAsync(TestContext.Current.CancellationToken);
            await using var kill = new NpgsqlCommand(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", admin);
            Assert.True((long)(await kill.ExecuteScalarAsync(TestContext.Current.CancellationToken))! >= 1);
        }

        // Nothing of the next batch was sent on the dead session: it goes out again on a new one, so no write fails.
        state.State!.Value = 2;
        await storage.WriteStateAsync("s", Id("survivor"), state);
        state.State.Value = 3;
        await storage.WriteStateAsync("s", Id("survivor"), state);
        var back = new GrainState<CounterState>();
        await storage.ReadStateAsync("s", Id("survivor"), back);
        Assert.Equal(3, back.State!.Value);
        Assert.Equal(state.ETag, back.ETag);
    }
}
