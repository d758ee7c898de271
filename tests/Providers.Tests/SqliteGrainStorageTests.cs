using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Storage;
using OrleansShards.Providers.Sqlite;

namespace OrleansShards.Providers.Tests;

public sealed class SqliteGrainStorageTests(SiloFixture fixture) : IClassFixture<SiloFixture>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static GrainId Id(string key, string type = "counter") => GrainId.Create(type, key);

    private static GrainState<CounterState> State(int value, string? etag = null) =>
        new(new CounterState { Value = value, Label = $"v{value}" }) { ETag = etag };

    private static async Task<GrainState<CounterState>> Read(SqliteGrainStorage storage, GrainId id, string stateName = "s")
    {
        var state = new GrainState<CounterState>();
        await storage.ReadStateAsync(stateName, id, state);
        return state;
    }

    [Fact]
    public async Task Round_trip_sets_etag_and_record_exists()
    {
        using var storage = fixture.CreateStorage(_dir.File("a/b/state.db"));
        await storage.InitializeAsync(TestContext.Current.CancellationToken);
        Assert.True(File.Exists(_dir.File("a/b/state.db")));

        var missing = await Read(storage, Id("x"));
        Assert.False(missing.RecordExists);
        Assert.Null(missing.ETag);
        Assert.NotNull(missing.State);
        Assert.Equal(0, missing.State!.Value);

        var state = State(42);
        state.State!.History.Add("h1");
        await storage.WriteStateAsync("s", Id("x"), state);
        Assert.True(state.RecordExists);
        Assert.NotNull(state.ETag);

        var back = await Read(storage, Id("x"));
        Assert.True(back.RecordExists);
        Assert.Equal(state.ETag, back.ETag);
        Assert.Equal(42, back.State!.Value);
        Assert.Equal("v42", back.State!.Label);
        Assert.Equal(["h1"], back.State!.History);

        var firstEtag = state.ETag;
        state.State!.Value = 43;
        await storage.WriteStateAsync("s", Id("x"), state);
        Assert.NotEqual(firstEtag, state.ETag);
        Assert.Equal(43, (await Read(storage, Id("x"))).State!.Value);
    }

    [Fact]
    public async Task Stale_etag_throws_inconsistent_state_and_the_winner_stays()
    {
        using var storage = fixture.CreateStorage(_dir.File("state.db"));
        await storage.WriteStateAsync("s", Id("x"), State(1));

        var copy1 = await Read(storage, Id("x"));
        var copy2 = await Read(storage, Id("x"));
        copy1.State!.Value = 10;
        await storage.WriteStateAsync("s", Id("x"), copy1);

        copy2.State!.Value = 20;
        var conflict = await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", Id("x"), copy2));
        Assert.Equal(copy1.ETag, conflict.StoredEtag);
        Assert.Equal(copy2.ETag, conflict.CurrentEtag);
        Assert.Equal(10, (await Read(storage, Id("x"))).State!.Value);

        // A null ETag means "I believe there is no record": writing over an existing one is a conflict.
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", Id("x"), State(30)));

        // So is clearing with a stale ETag, or with an ETag the store never issued.
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync("s", Id("x"), copy2));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", Id("x"), State(40, "not-an-etag")));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync("s", Id("x"), State(0)));

        var final = await Read(storage, Id("x"));
        Assert.Equal(10, final.State!.Value);
        Assert.Equal(copy1.ETag, final.ETag);
    }

    [Fact]
    public async Task State_survives_closing_and_reopening_the_file()
    {
        var path = _dir.File("state.db");
        var state = State(7);
        using (var first = fixture.CreateStorage(path))
        {
            await first.WriteStateAsync("s", Id("x"), state);
        }

        using var second = fixture.CreateStorage(path);
        var back = await Read(second, Id("x"));
        Assert.True(back.RecordExists);
        Assert.Equal(7, back.State!.Value);
        Assert.Equal(state.ETag, back.ETag);

        // The ETag issued by the first instance is still the valid one.
        state.State!.Value = 8;
        await second.WriteStateAsync("s", Id("x"), state);
        Assert.Equal(8, (await Read(second, Id("x"))).State!.Value);
    }

    [Fact]
    public async Task Grains_and_state_names_never_see_each_others_state()
    {
        using var storage = fixture.CreateStorage(_dir.File("state.db"));
        await storage.WriteStateAsync("s", Id("k1"), State(1));
        await storage.WriteStateAsync("s", Id("k2"), State(2));
        await storage.WriteStateAsync("s", Id("k1", "other"), State(3));
        await storage.WriteStateAsync("t", Id("k1"), State(4));

        Assert.Equal(1, (await Read(storage, Id("k1"))).State!.Value);
        Assert.Equal(2, (await Read(storage, Id("k2"))).State!.Value);
        Assert.Equal(3, (await Read(storage, Id("k1", "other"))).State!.Value);
        Assert.Equal(4, (await Read(storage, Id("k1"), "t")).State!.Value);
        Assert.False((await Read(storage, Id("k3"))).RecordExists);

        // Another service id in the same file is another namespace.
        using var other = new SqliteGrainStorage("other-service",
            new SqliteGrainStorageOptions { DataSource = _dir.File("state.db") },
            fixture.SiloServices.GetRequiredService<IGrainStorageSerializer>(),
            Options.Create(new Orleans.Configuration.ClusterOptions { ServiceId = "another" }),
            fixture.SiloServices.GetRequiredService<Orleans.Serialization.Serializers.IActivatorProvider>(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<SqliteGrainStorage>.Instance);
        Assert.False((await Read(other, Id("k1"))).RecordExists);
    }

    [Fact]
    public async Task Clear_deletes_the_row_and_etags_are_never_reused()
    {
        var path = _dir.File("state.db");
        using var storage = fixture.CreateStorage(path);
        var state = State(5);
        await storage.WriteStateAsync("s", Id("x"), state);
        var oldEtag = state.ETag;

        await storage.ClearStateAsync("s", Id("x"), state);
        Assert.Null(state.ETag);
        Assert.False(state.RecordExists);
        Assert.Equal(0, state.State!.Value);

        var back = await Read(storage, Id("x"));
        Assert.False(back.RecordExists);
        Assert.Null(back.ETag);
        using (var db = Db.Open(path))
        {
            Assert.Equal(0L, Db.Scalar(db, "SELECT count(*) FROM orleans_grain_state"));
        }

        // Clearing what does not exist succeeds, as in Orleans' providers.
        await storage.ClearStateAsync("s", Id("never"), new GrainState<CounterState>());

        // Written again after the delete, the state gets a new ETag: a holder of the old one cannot overwrite it.
        var again = State(6);
        await storage.WriteStateAsync("s", Id("x"), again);
        Assert.NotEqual(oldEtag, again.ETag);
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", Id("x"), State(7, oldEtag)));
        Assert.Equal(6, (await Read(storage, Id("x"))).State!.Value);
    }

    [Fact]
    public async Task Clear_keeps_the_row_when_DeleteStateOnClear_is_false()
    {
        var path = _dir.File("state.db");
        using var storage = fixture.CreateStorage(path, o => o.DeleteStateOnClear = false);
        var state = State(5);
        await storage.WriteStateAsync("s", Id("x"), state);
        await storage.ClearStateAsync("s", Id("x"), state);
        Assert.NotNull(state.ETag);
        Assert.False(state.RecordExists);

        var back = await Read(storage, Id("x"));
        Assert.False(back.RecordExists);
        Assert.Equal(state.ETag, back.ETag);
        Assert.Equal(0, back.State!.Value);
        using (var db = Db.Open(path))
        {
            Assert.Equal(1L, Db.Scalar(db, "SELECT count(*) FROM orleans_grain_state WHERE data IS NULL"));
        }

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("s", Id("x"), State(9)));
        back.State!.Value = 9;
        await storage.WriteStateAsync("s", Id("x"), back);
        Assert.Equal(9, (await Read(storage, Id("x"))).State!.Value);
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_fails_at_init_naming_the_file()
    {
        var path = _dir.File("garbage.db");
        await File.WriteAllBytesAsync(path, Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("this is not a SQLite database. ", 300))),
            TestContext.Current.CancellationToken);
        using var storage = fixture.CreateStorage(path);

        var error = await Assert.ThrowsAsync<SqliteStorageException>(() => storage.InitializeAsync(TestContext.Current.CancellationToken));
        Assert.Contains(path, error.Message);
        Assert.Contains("file is not a database", error.Message);

        // On first use without init, the error names the grain as well.
        var read = await Assert.ThrowsAsync<SqliteStorageException>(() => storage.ReadStateAsync("s", Id("x"), new GrainState<CounterState>()));
        Assert.Contains(path, read.Message);
        Assert.Contains("counter/x", read.Message);
        var write = await Assert.ThrowsAsync<SqliteStorageException>(() => storage.WriteStateAsync("s", Id("x"), State(1)));
        Assert.Contains(path, write.Message);
        Assert.Contains("file is not a database", write.Message);
    }

    [Fact]
    public async Task A_corrupt_database_fails_at_init_naming_the_file()
    {
        var path = _dir.File("corrupt.db");
        using (var storage = fixture.CreateStorage(path))
        {
            await storage.WriteStateAsync("s", Id("x"), State(1));
        }

        // Keep the 100-byte header, so SQLite recognises the file, and wreck the schema page behind it.
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.Position = 100;
            var junk = new byte[4000];
            new Random(1).NextBytes(junk);
            await file.WriteAsync(junk, TestContext.Current.CancellationToken);
        }

        using var broken = fixture.CreateStorage(path);
        var error = await Assert.ThrowsAsync<SqliteStorageException>(() => broken.InitializeAsync(TestContext.Current.CancellationToken));
        Assert.Contains(path, error.Message);
        Assert.Contains("malformed", error.Message);
    }

    [Fact]
    public async Task Concurrent_writes_share_transactions_and_all_land()
    {
        var path = _dir.File("state.db");
        using var storage = fixture.CreateStorage(path);
        await storage.InitializeAsync(TestContext.Current.CancellationToken);
        var before = storage.Statistics;

        Task[] writes;
        using (var blocker = Db.HoldWriteLock(path))
        {
            writes = Enumerable.Range(0, 64).Select(i => storage.WriteStateAsync("s", Id($"g{i}"), State(i))).ToArray();
            await Db.WaitUntil(() => storage.Statistics.Pending >= 64, "64 writes wait behind the lock", () => storage.Statistics.ToString());
            Db.Execute(blocker, "ROLLBACK");
        }

        await Task.WhenAll(writes);
        var after = storage.Statistics;
        Assert.Equal(64, after.Writes - before.Writes);
        Assert.True(after.Transactions - before.Transactions <= 2, $"{after.Transactions - before.Transactions} transactions for 64 writes");
        Assert.True(after.LargestBatch >= 32, $"largest batch {after.LargestBatch}");

        using var reopened = fixture.CreateStorage(path);
        for (var i = 0; i < 64; i++)
        {
            Assert.Equal(i, (await Read(reopened, Id($"g{i}"))).State!.Value);
        }
    }

    [Fact]
    public async Task A_failing_write_fails_only_its_caller_in_a_shared_transaction()
    {
        var path = _dir.File("state.db");
        using var storage = fixture.CreateStorage(path);
        var stale = State(1);
        await storage.WriteStateAsync("s", Id("stale"), stale);
        var staleCopy = await Read(storage, Id("stale"));
        await storage.WriteStateAsync("s", Id("stale"), staleCopy);

        // Real SQLite failures: ABORT fails one statement; ROLLBACK throws away the whole transaction.
        using (var db = Db.Open(path))
        {
            Db.Execute(db, """
                CREATE TRIGGER poison BEFORE INSERT ON orleans_grain_state WHEN NEW.grain_id LIKE '%poison%'
                BEGIN SELECT RAISE(ABORT, 'poisoned by the test'); END;
                CREATE TRIGGER killer BEFORE INSERT ON orleans_grain_state WHEN NEW.grain_id LIKE '%killer%'
                BEGIN SELECT RAISE(ROLLBACK, 'transaction killed by the test'); END;
                """);
        }

        var before = storage.Statistics;
        Task first, staleWrite, poisonWrite, killerWrite;
        Task[] good;
        using (var blocker = Db.HoldWriteLock(path))
        {
            first = storage.WriteStateAsync("s", Id("good-first"), State(100));
            good = Enumerable.Range(0, 4).Select(i => storage.WriteStateAsync("s", Id($"good{i}"), State(i))).ToArray();
            stale.State!.Value = 99;
            staleWrite = storage.WriteStateAsync("s", Id("stale"), stale);
            poisonWrite = storage.WriteStateAsync("s", Id("poison"), State(1));
            killerWrite = storage.WriteStateAsync("s", Id("killer"), State(1));
            good = [.. good, .. Enumerable.Range(4, 4).Select(i => storage.WriteStateAsync("s", Id($"good{i}"), State(i)))];
            await Db.WaitUntil(() => storage.Statistics.Pending >= 12, "12 writes wait behind the lock", () => storage.Statistics.ToString());
            Db.Execute(blocker, "ROLLBACK");
        }

        await first;
        await Task.WhenAll(good);
        await Assert.ThrowsAsync<InconsistentStateException>(() => staleWrite);
        var poison = await Assert.ThrowsAsync<SqliteStorageException>(() => poisonWrite);
        Assert.Contains("counter/poison", poison.Message);
        Assert.Contains(path, poison.Message);
        Assert.Contains("poisoned by the test", poison.Message);
        Assert.IsType<SqliteException>(poison.InnerException);
        var killer = await Assert.ThrowsAsync<SqliteStorageException>(() => killerWrite);
        Assert.Contains("counter/killer", killer.Message);

        var after = storage.Statistics;
        Assert.Equal(9, after.Writes - before.Writes);
        // All twelve waited behind the lock, so the writer committed them in at most two transactions: the batch it had
        // taken before the lock was released and everything after. The queue is FIFO and the failing writes sit between
        // good ones, so each failing write shared its transaction with good writes that committed.
        Assert.True(after.Transactions - before.Transactions <= 2, $"{after.Transactions - before.Transactions} transactions");
        Assert.True(after.LargestBatch >= 5, $"largest batch {after.LargestBatch}");

        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(i, (await Read(storage, Id($"good{i}"))).State!.Value);
        }

        Assert.Equal(100, (await Read(storage, Id("good-first"))).State!.Value);
        Assert.Equal(1, (await Read(storage, Id("stale"))).State!.Value);
        Assert.False((await Read(storage, Id("poison"))).RecordExists);
        Assert.False((await Read(storage, Id("killer"))).RecordExists);
    }

    [Fact]
    public async Task Writes_after_close_fail_clearly()
    {
        var path = _dir.File("state.db");
        var storage = fixture.CreateStorage(path);
        await storage.WriteStateAsync("s", Id("x"), State(1));
        await storage.CloseAsync(TestContext.Current.CancellationToken);
        var error = await Assert.ThrowsAsync<SqliteStorageException>(() => storage.WriteStateAsync("s", Id("x"), State(2)));
        Assert.Contains(path, error.Message);
        Assert.Contains("closed", error.Message);
    }

    [Fact]
    public void Options_bind_from_configuration_and_the_validator_names_the_missing_field()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:DataSource"] = "/data/state.db",
            ["Storage:Synchronous"] = "NORMAL",
            ["Storage:DeleteStateOnClear"] = "false",
            ["Storage:MaxBatchSize"] = "64",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(fixture.SiloServices.GetRequiredService<IGrainStorageSerializer>());
        services.AddSingleton(fixture.SiloServices.GetRequiredService<Orleans.Serialization.Serializers.IActivatorProvider>());
        services.AddSqliteGrainStorage("bound", (OptionsBuilder<SqliteGrainStorageOptions> o) => o.Bind(configuration.GetSection("Storage")));
        services.AddSqliteGrainStorage("empty", (OptionsBuilder<SqliteGrainStorageOptions> _) => { });
        using var provider = services.BuildServiceProvider();

        var bound = provider.GetRequiredService<IOptionsMonitor<SqliteGrainStorageOptions>>().Get("bound");
        Assert.Equal("/data/state.db", bound.DataSource);
        Assert.Equal(SqliteSynchronousMode.Normal, bound.Synchronous);
        Assert.False(bound.DeleteStateOnClear);
        Assert.Equal(64, bound.MaxBatchSize);
        Assert.NotNull(bound.GrainStorageSerializer);

        var defaults = provider.GetRequiredService<IOptionsMonitor<SqliteGrainStorageOptions>>().Get("empty");
        Assert.Equal(SqliteSynchronousMode.Full, defaults.Synchronous);
        Assert.True(defaults.DeleteStateOnClear);

        var validators = provider.GetServices<IConfigurationValidator>().ToList();
        Assert.Equal(2, validators.Count);
        validators[0].ValidateConfiguration();
        var error = Assert.Throws<OrleansConfigurationException>(() => validators[1].ValidateConfiguration());
        Assert.Contains("DataSource", error.Message);
        Assert.Contains("empty", error.Message);

        var storage = provider.GetRequiredKeyedService<IGrainStorage>("bound");
        Assert.IsType<SqliteGrainStorage>(storage);
        Assert.Equal("/data/state.db", ((SqliteGrainStorage)storage).DataSource);
    }
}
