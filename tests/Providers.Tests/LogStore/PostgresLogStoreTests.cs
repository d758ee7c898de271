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

    [Fact]
    public async Task Another_process_append_wakes_a_waiter_at_once_through_notify()
    {
        var ct = TestContext.Current.CancellationToken;

        // Both poll only every 5 minutes: only the notification can end the wait in time.
        var writer = Open(pollInterval: TimeSpan.FromMinutes(5));
        var watcher = Open(pollInterval: TimeSpan.FromMinutes(5));
        await writer.CreateTopicAsync("notify:me", 2, ct);
        Assert.False(await watcher.WaitForAppendAsync("notify:me", 1, 0, TimeSpan.FromMilliseconds(300), ct)); // starts listening

        // The listening connection opens in the background: wait until a notification has come through once.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var next = (await writer.GetBoundsAsync("notify:me", 0, ct)).HighWatermark;
            var primed = watcher.WaitForAppendAsync("notify:me", 0, next, TimeSpan.FromSeconds(3), ct).AsTask();
            await Task.Delay(50, ct);
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            await writer.AppendAsync("notify:me", 0, [Json("0")], ct);
            if (await primed && stopwatch.Elapsed < TimeSpan.FromSeconds(2.5))
            {
                break; // Woken before its timeout: by the notification.
            }

            Assert.True(DateTime.UtcNow < deadline, "no notification came through in 60 s");
        }

        var single = watcher.WaitForAppendAsync("notify:me", 1, 0, TimeSpan.FromMinutes(2), ct).AsTask();
        var any = watcher.WaitForAnyAppendAsync([("notify:me", 0, 0), ("notify:me", 1, 0)], TimeSpan.FromMinutes(2), ct).AsTask();
        await Task.Delay(200, ct);
        Assert.False(single.IsCompleted);
        await writer.AppendAsync("notify:me", 1, [Json("1")], ct);
        Assert.True(await single.WaitAsync(TimeSpan.FromSeconds(30), ct));
        Assert.True(await any.WaitAsync(TimeSpan.FromSeconds(30), ct));
    }
}
