using OrleansShards.Providers.Sqlite;

namespace OrleansShards.Providers.Tests;

/// <summary>The provider inside a real silo, with Orleans' own serializer and IPersistentState.</summary>
public sealed class SqliteClusterTests(SiloFixture fixture) : IClassFixture<SiloFixture>
{
    private static string Key() => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Grain_state_round_trips_across_deactivation()
    {
        var grain = fixture.Cluster.Client.GetGrain<ICounterGrain>(Key());
        Assert.Equal(5, await grain.Add(5));
        Assert.Equal(7, await grain.Add(2));
        var written = await grain.Get();
        Assert.True(written.RecordExists);
        Assert.NotNull(written.ETag);

        await grain.Deactivate();
        await Task.Delay(100, TestContext.Current.CancellationToken);
        var back = await grain.Reread();
        Assert.Equal(7, back.Value);
        Assert.Equal(written.ETag, back.ETag);
        Assert.True(back.RecordExists);
        Assert.Equal("counter", back.Label);
    }

    [Fact]
    public async Task Grains_of_the_same_type_and_of_different_types_are_isolated()
    {
        var key = Key();
        var a = fixture.Cluster.Client.GetGrain<ICounterGrain>(key);
        var b = fixture.Cluster.Client.GetGrain<ICounterGrain>(key + "-b");
        var c = fixture.Cluster.Client.GetGrain<IOtherCounterGrain>(key);
        await a.Add(1);
        await b.Add(20);
        await c.Add(300);

        Assert.Equal(1, (await a.Reread()).Value);
        Assert.Equal(20, (await b.Reread()).Value);
        var other = await c.Reread();
        Assert.Equal(300, other.Value);
        Assert.Equal("other", other.Label);
    }

    [Fact]
    public async Task Clear_removes_the_state()
    {
        var grain = fixture.Cluster.Client.GetGrain<ICounterGrain>(Key());
        await grain.Add(9);
        await grain.Clear();
        var cleared = await grain.Get();
        Assert.False(cleared.RecordExists);
        Assert.Equal(0, cleared.Value);

        var reread = await grain.Reread();
        Assert.False(reread.RecordExists);
        Assert.Null(reread.ETag);
        Assert.Equal(4, await grain.Add(4));
    }

    [Fact]
    public async Task Sixty_four_grains_writing_at_once_all_land_in_shared_transactions()
    {
        var storage = fixture.ClusterStorage;
        var keys = Enumerable.Range(0, 64).Select(i => $"{Key()}-{i}").ToArray();
        var grains = keys.Select(k => fixture.Cluster.Client.GetGrain<ICounterGrain>(k)).ToArray();
        var before = storage.Statistics;

        Task<int>[] calls;
        using (var blocker = Db.HoldWriteLock(fixture.DatabasePath))
        {
            calls = grains.Select((g, i) => g.Add(i + 1)).ToArray();
            await Db.WaitUntil(() => storage.Statistics.Pending >= 64, "64 grain writes wait behind the lock", () => storage.Statistics.ToString());
            Db.Execute(blocker, "ROLLBACK");
        }

        var results = await Task.WhenAll(calls);
        Assert.Equal(Enumerable.Range(1, 64), results);
        var after = storage.Statistics;
        Assert.Equal(64, after.Writes - before.Writes);
        Assert.True(after.Transactions - before.Transactions <= 2, $"{after.Transactions - before.Transactions} transactions for 64 writes");

        // Read back from the file through a storage instance of its own, under the silo's service id.
        await using var direct = new StorageOverClusterFile(fixture);
        for (var i = 0; i < 64; i++)
        {
            var state = new Orleans.GrainState<CounterState>();
            await direct.Storage.ReadStateAsync("s", grains[i].GetGrainId(), state);
            Assert.True(state.RecordExists);
            Assert.Equal(i + 1, state.State!.Value);
        }
    }

    [Fact]
    public async Task A_new_cluster_on_the_same_file_reads_the_state()
    {
        using var dir = new TempDirectory();
        var path = dir.File("restart.db");
        var key = Key();

        var serviceId = "restart-" + key;
        var first = TestClusters.Build(path, serviceId);
        await first.DeployAsync(TestContext.Current.CancellationToken);
        await first.Client.GetGrain<ICounterGrain>(key).Add(11);
        await first.Client.GetGrain<IOtherCounterGrain>(key).Add(22);
        await first.StopAllSilosAsync(TestContext.Current.CancellationToken);
        await first.DisposeAsync();

        var second = TestClusters.Build(path, serviceId);
        await second.DeployAsync(TestContext.Current.CancellationToken);
        try
        {
            var again = await second.Client.GetGrain<ICounterGrain>(key).Get();
            Assert.Equal(11, again.Value);
            Assert.True(again.RecordExists);
            Assert.Equal(22, (await second.Client.GetGrain<IOtherCounterGrain>(key).Get()).Value);
            Assert.Equal(12, await second.Client.GetGrain<ICounterGrain>(key).Add(1));
        }
        finally
        {
            await second.StopAllSilosAsync(TestContext.Current.CancellationToken);
            await second.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_silo_on_a_corrupt_file_fails_to_start_naming_the_file()
    {
        using var dir = new TempDirectory();
        var path = dir.File("corrupt.db");
        await File.WriteAllTextAsync(path, new string('x', 10_000), TestContext.Current.CancellationToken);

        var cluster = TestClusters.Build(path);
        try
        {
            var error = await Assert.ThrowsAnyAsync<Exception>(() => cluster.DeployAsync(TestContext.Current.CancellationToken));
            var messages = Flatten(error).Select(e => e.Message).ToList();
            Assert.Contains(messages, m => m.Contains(path) && m.Contains("file is not a database"));
        }
        finally
        {
            try
            {
                await cluster.DisposeAsync();
            }
            catch (Exception)
            {
                // A cluster whose silo never started may not dispose cleanly; the assertion above is the point.
            }
        }
    }

    private static IEnumerable<Exception> Flatten(Exception exception)
    {
        yield return exception;
        var inner = exception is AggregateException aggregate ? aggregate.InnerExceptions : (IEnumerable<Exception>)[.. exception.InnerException is null ? [] : new[] { exception.InnerException }];
        foreach (var child in inner)
        {
            foreach (var nested in Flatten(child))
            {
                yield return nested;
            }
        }
    }

    /// <summary>A second storage instance over the cluster's file, with the cluster's service id.</summary>
    private sealed class StorageOverClusterFile : IAsyncDisposable
    {
        public StorageOverClusterFile(SiloFixture fixture) =>
            Storage = SqliteGrainStorageFactory.Create(fixture.SiloServices, "sqlite");

        public SqliteGrainStorage Storage { get; }

        public ValueTask DisposeAsync()
        {
            Storage.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
