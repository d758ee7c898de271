using Npgsql;
using OrleansShards.Providers.LogStore;
using OrleansShards.Tests.Sql;

namespace OrleansShards.Providers.Tests.LogStore;

/// <summary>The conformance suite on a real PostgreSQL server, a fresh empty database per test.</summary>
public sealed class PostgresLogStoreTests(PostgresServer server) : LogStoreConformanceTests
{
    private string _connectionString = string.Empty;

    protected override async ValueTask PrepareDatabaseAsync()
    {
        server.Require();
        var database = await server.CreateDatabaseAsync("log");
        _connectionString = new NpgsqlConnectionStringBuilder(server.ConnectionStringWithoutPassword(database)) { Password = server.Password }.ConnectionString;
    }

    protected override RelationalLogStore CreateStore(TimeProvider? timeProvider, TimeSpan pollInterval) =>
        new PostgresLogStore(new PostgresLogStoreOptions { ConnectionString = _connectionString, PollInterval = pollInterval }, timeProvider);

    [Fact]
    public async Task Two_stores_creating_the_tables_at_once_on_an_empty_database_both_work()
    {
        var ct = TestContext.Current.CancellationToken;
        var stores = Enumerable.Range(0, 4).Select(_ => Open()).ToList();
        await Task.WhenAll(stores.Select((s, i) => s.CreateTopicAsync("same", 2, ct).AsTask()));
        Assert.All(await Task.WhenAll(stores.Select(s => s.GetTopicAsync("same", ct).AsTask())), t => Assert.Equal(2, t!.Partitions));
    }
}
