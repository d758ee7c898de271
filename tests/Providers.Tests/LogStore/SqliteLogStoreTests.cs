using OrleansShards.Providers.LogStore;
using OrleansShards.Providers.Sqlite;

namespace OrleansShards.Providers.Tests.LogStore;

/// <summary>The conformance suite on a real SQLite file.</summary>
public sealed class SqliteLogStoreTests : LogStoreConformanceTests
{
    private readonly TempDirectory _directory = new();

    private string DataSource => _directory.File("log/log.db");

    protected override ValueTask PrepareDatabaseAsync() => ValueTask.CompletedTask;

    protected override RelationalLogStore CreateStore(TimeProvider? timeProvider, TimeSpan pollInterval) =>
        new SqliteLogStore(new SqliteLogStoreOptions { DataSource = DataSource, PollInterval = pollInterval }, timeProvider);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task The_file_is_in_wal_mode_with_full_sync_by_default()
    {
        var store = Open();
        await store.CreateTopicAsync("t", 1, TestContext.Current.CancellationToken);
        using var connection = Db.Open(DataSource);
        Assert.Equal("wal", Db.Scalar(connection, "PRAGMA journal_mode"));
        Assert.Equal(SqliteSynchronousMode.Full, new SqliteLogStoreOptions().Synchronous);
    }

    [Fact]
    public void Options_name_the_field_at_fault()
    {
        var missing = Assert.Throws<ArgumentException>(() => new SqliteLogStore(new SqliteLogStoreOptions()));
        Assert.Contains(nameof(SqliteLogStoreOptions.DataSource), missing.Message, StringComparison.Ordinal);
        var memory = Assert.Throws<ArgumentException>(() => new SqliteLogStore(new SqliteLogStoreOptions { DataSource = ":memory:" }));
        Assert.Contains(":memory:", memory.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Appends_of_one_record_from_many_producers_are_group_committed()
    {
        var store = Open();
        var ct = TestContext.Current.CancellationToken;
        await store.CreateTopicAsync("g", 1, ct);
        var before = store.Transactions;

        // Holding SQLite's write lock from another connection makes the appends queue up behind it.
        using (var locker = Db.HoldWriteLock(DataSource))
        {
            var appends = Enumerable.Range(0, 200).Select(i => store.AppendAsync("g", 0, [Json(i.ToString(System.Globalization.CultureInfo.InvariantCulture))], ct).AsTask()).ToList();
            await Task.Delay(300, ct);
            Assert.DoesNotContain(appends, a => a.IsCompleted);
            Db.Execute(locker, "COMMIT");
            await Task.WhenAll(appends);
        }

        Assert.Equal(200, (await store.GetBoundsAsync("g", 0, ct)).HighWatermark);
        Assert.True(store.Transactions - before <= 3, $"{store.Transactions - before} transactions for 200 queued appends");
    }
}
