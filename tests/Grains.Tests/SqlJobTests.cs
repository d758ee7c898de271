using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;
using OrleansShards.Readers.Sql;
using OrleansShards.Tests.Sql;

namespace OrleansShards.Grains.Tests;

/// <summary>SQL table sources end to end: jobs on a real two-silo cluster over a real PostgreSQL server and a SQLite file.</summary>
public sealed class SqlJobTests(PostgresServer server) : IAsyncDisposable
{
    private const string PasswordVariable = "SHARDS_TEST_PG_PASSWORD";
    private const long Rows = 50_000;
    private readonly TestData _data = new();
    private string? _database;

    public async ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        if (_database is not null)
        {
            try
            {
                await server.ExecuteAsync("postgres", $"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)");
            }
            catch (Npgsql.NpgsqlException)
            {
            }
        }

        _data.Dispose();
    }

    /// <summary>A database on the test server holding <c>events</c>: ids [0, 50,000) inserted in random order.</summary>
    private async Task<SourceConnectionsOptions> PostgresEvents()
    {
        server.Require();
        _database = await server.CreateDatabaseAsync("jobs");
        await server.ExecuteAsync(_database, $"""
            CREATE TABLE events (id bigint PRIMARY KEY, payload text, score double precision, seen timestamptz);
            INSERT INTO events SELECT g, 'event ' || g, g * 0.25, timestamptz '2025-01-01 00:00:00+00' + g * interval '1 minute'
              FROM generate_series(0, {Rows - 1}) g ORDER BY random();
            CREATE TABLE dupes (grp integer, v integer);
            INSERT INTO dupes VALUES (1, 1), (2, 2), (2, 3);
            """);
        // The password is set here, in the test process, and named by reference only.
        Environment.SetEnvironmentVariable(PasswordVariable, server.Password);
        var connections = new SourceConnectionsOptions();
        connections.Connections["warehouse"] = new SourceConnection
        {
            Kind = "postgres",
            ConnectionString = server.ConnectionStringWithoutPassword(_database),
            Secret = "env:" + PasswordVariable,
        };
        return connections;
    }

    private async Task SqliteEvents()
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_data.DataDir, "events.db")};Pooling=False");
        await connection.OpenAsync();
        await using var transaction = connection.BeginTransaction();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT, score REAL); CREATE TABLE dupes (grp INTEGER, v INTEGER); INSERT INTO dupes VALUES (1, 1), (1, 2);";
        await command.ExecuteNonQueryAsync();
        command.CommandText = "INSERT INTO events VALUES (@id, @payload, @score)";
        var id = command.Parameters.Add("@id", SqliteType.Integer);
        var payload = command.Parameters.Add("@payload", SqliteType.Text);
        var score = command.Parameters.Add("@score", SqliteType.Real);
        foreach (var g in Enumerable.Range(0, (int)Rows).OrderBy(i => (i * 7919L) % Rows))
        {
            id.Value = g;
            payload.Value = $"event {g}";
            score.Value = g * 0.25;
            await command.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    private Func<ISourceAdapter[]> Adapters(SourceConnectionsOptions connections) =>
        () => [new SqlSourceAdapter(new DataRoots(_data.DataDir), connections)];

    private static JobSpec Spec(string id, SourceSpec source) => new()
    {
        Id = id,
        Source = source,
        ShardSize = 2_000,
        Epochs = 2,
        Shuffle = true,
        Seed = 17,
        LeaseTimeoutSeconds = 60,
        MaxAttempts = 3,
    };

    private static async Task RunToCompletion(ShardsCluster cluster, string jobId)
    {
        var deliveries = new Deliveries();
        var reports = await Task.WhenAll(Enumerable.Range(0, 4).Select(w => new ThickWorker(cluster, jobId, $"w{w}", deliveries).RunAsync()));
        deliveries.AssertExactlyOnce(epochs: 2, Rows);
        Assert.Equal(50, reports.Sum());
        var status = await cluster.Client.GetGrain<IJobGrain>(jobId).GetStatus();
        Assert.Equal(JobStates.Completed, status.State);
        Assert.Equal(2 * Rows, status.Records.Delivered);
    }

    [Fact]
    public async Task A_postgres_table_job_on_two_silos_delivers_every_id_exactly_once_per_epoch()
    {
        var connections = await PostgresEvents();
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 2, adapters: Adapters(connections));
        var job = cluster.Client.GetGrain<IJobGrain>("pg-events");
        var created = await job.Create(Spec("pg-events", new SourceSpec { Kind = "postgres", Connection = "warehouse", Table = "events", KeyColumn = "id" }));

        Assert.True(created.Created);
        var partition = Assert.Single(created.Status.Partitions);
        Assert.Equal(Rows, partition.Records);
        Assert.Equal("postgres://warehouse/events#id", partition.Path);
        Assert.Equal(25, created.Status.Shards.Total);
        await RunToCompletion(cluster, "pg-events");
    }

    [Fact]
    public async Task A_sqlite_table_job_on_two_silos_delivers_every_id_exactly_once_per_epoch()
    {
        await SqliteEvents();
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 2, adapters: Adapters(new SourceConnectionsOptions()));
        var job = cluster.Client.GetGrain<IJobGrain>("lite-events");
        var created = await job.Create(Spec("lite-events", new SourceSpec { Kind = "sqlite", Path = "events.db", Table = "events", KeyColumn = "id" }));

        var partition = Assert.Single(created.Status.Partitions);
        Assert.Equal(Rows, partition.Records);
        Assert.Equal("sqlite://events.db/events#id", partition.Path);
        await RunToCompletion(cluster, "lite-events");
    }

    [Fact]
    public async Task Bad_sql_sources_are_refused_at_creation_naming_the_place_and_the_silos_keep_serving()
    {
        await SqliteEvents();
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 1, adapters: Adapters(new SourceConnectionsOptions()));
        async Task<ShardsException> Refused(string id, SourceSpec source)
        {
            var refused = await Assert.ThrowsAsync<ShardsException>(() => cluster.Client.GetGrain<IJobGrain>(id).Create(Spec(id, source)));
            Assert.Equal(ShardsErrorKind.Invalid, refused.Kind);
            return refused;
        }

        var lite = new SourceSpec { Kind = "sqlite", Path = "events.db", Table = "events", KeyColumn = "id" };
        var table = await Refused("no-table", lite with { Table = "nothere" });
        Assert.Equal("source.table", table.Field);
        Assert.Contains("sqlite database 'events.db' has no table 'nothere'", table.Message, StringComparison.Ordinal);

        var column = await Refused("no-column", lite with { KeyColumn = "nokey" });
        Assert.Equal("source.keyColumn", column.Field);
        Assert.Contains("no column 'nokey'", column.Message, StringComparison.Ordinal);

        var duplicate = await Refused("dupes", lite with { Table = "dupes", KeyColumn = "grp" });
        Assert.Contains("the source cannot be described", duplicate.Message, StringComparison.Ordinal);
        Assert.Contains("key column 'grp' of table 'dupes'", duplicate.Message, StringComparison.Ordinal);
        Assert.Contains("is not unique", duplicate.Message, StringComparison.Ordinal);
        var gone = await Assert.ThrowsAsync<ShardsException>(() => cluster.Client.GetGrain<IJobGrain>("dupes").GetStatus());
        Assert.Equal(ShardsErrorKind.NotFound, gone.Kind);

        var outside = await Refused("outside", lite with { Path = "../../etc/passwd" });
        Assert.Equal("source.path", outside.Field);

        var unknown = await Refused("no-connection", new SourceSpec { Kind = "postgres", Connection = "warehouse", Table = "events", KeyColumn = "id" });
        Assert.Equal("source.connection", unknown.Field);
        var smuggled = await Refused("smuggled", new SourceSpec { Kind = "postgres", Connection = "Host=evil;Password=x", Table = "events", KeyColumn = "id" });
        Assert.Equal("source.connection", smuggled.Field);
        Assert.Contains("no connection 'Host=evil;Password=x' is defined", smuggled.Message, StringComparison.Ordinal);

        // The silo is fine: a good job still runs.
        var created = await cluster.Client.GetGrain<IJobGrain>("good").Create(Spec("good", lite) with { Epochs = 1, ShardSize = 25_000 });
        Assert.Equal(Rows, Assert.Single(created.Status.Partitions).Records);
    }

    [Fact]
    public async Task A_table_changed_under_a_running_job_fails_its_reads()
    {
        var connections = await PostgresEvents();
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 2, adapters: Adapters(connections));
        var job = cluster.Client.GetGrain<IJobGrain>("changing");
        await job.Create(Spec("changing", new SourceSpec { Kind = "postgres", Connection = "warehouse", Table = "events", KeyColumn = "id" }));
        var deliveries = new Deliveries();
        var worker = new ThickWorker(cluster, "changing", "w", deliveries);
        await worker.RunAsync(maxTasks: 1, stopAfterReports: 2);

        await server.ExecuteAsync(_database!, "INSERT INTO events (id, payload) VALUES (-1, 'late')");
        await Task.Delay(1_100); // the row count is compared at most once a second per table
        var lease = Assert.Single((await job.Lease(new LeaseRequest("w2", 1))).Leases);
        var plan = await job.GetReadPlan();
        var changed = Assert.Throws<SourceChangedException>(() => worker.Read(plan, lease));
        Assert.Contains("postgres://warehouse/events#id", changed.Message, StringComparison.Ordinal);
        Assert.Contains("50001 rows, the job's snapshot 50000", changed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_postgres_password_is_in_no_grain_state_checkpoint_or_log()
    {
        var connections = await PostgresEvents();
        var logs = new CapturedLogs();
        await using (var cluster = await ShardsCluster.StartAsync(
            _data,
            silos: 2,
            adapters: Adapters(connections),
            configureSilo: silo => silo.Services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs))))
        {
            var job = cluster.Client.GetGrain<IJobGrain>("secret");
            await job.Create(Spec("secret", new SourceSpec { Kind = "postgres", Connection = "warehouse", Table = "events", KeyColumn = "id" }) with { Epochs = 1 });
            var deliveries = new Deliveries();
            await new ThickWorker(cluster, "secret", "w", deliveries).RunAsync(maxTasks: 3, stopAfterReports: 10);
            var checkpoint = JsonSerializer.Serialize(await job.ExportCheckpoint(), JsonSerializerOptions.Web);
            Assert.Contains("postgres://warehouse/events#id", checkpoint, StringComparison.Ordinal);
            Assert.DoesNotContain(server.Password, checkpoint, StringComparison.Ordinal);
            Assert.DoesNotContain("Password", checkpoint, StringComparison.OrdinalIgnoreCase);
            var status = JsonSerializer.Serialize(await job.GetStatus(), JsonSerializerOptions.Web);
            Assert.DoesNotContain(server.Password, status, StringComparison.Ordinal);
        }

        var text = logs.Text();
        Assert.True(logs.Count > 100, $"the test captured only {logs.Count} log entries");
        Assert.Contains("secret", text, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Password, text, StringComparison.Ordinal);
        SqliteConnection.ClearAllPools();
        var stateFiles = Directory.GetFiles(Path.GetDirectoryName(_data.StateFile)!);
        Assert.NotEmpty(stateFiles);
        foreach (var file in stateFiles)
        {
            var bytes = await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken);
            Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(server.Password)));
            Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(server.Password)));
        }
    }
    [Fact]
    public async Task A_checkpoint_of_a_sqlite_table_job_continues_in_another_cluster_and_a_changed_table_is_refused()
    {
        await SqliteEvents();
        var deliveries = new Deliveries();
        string json;
        await using (var first = await ShardsCluster.StartAsync(_data, silos: 2, adapters: Adapters(new SourceConnectionsOptions())))
        {
            var job = first.Client.GetGrain<IJobGrain>("moving-table");
            await job.Create(Spec("moving-table", new SourceSpec { Kind = "sqlite", Path = "events.db", Table = "events", KeyColumn = "id" }));
            await new ThickWorker(first, "moving-table", "a", deliveries).RunAsync(maxTasks: 2, stopAfterReports: 12);
            json = JsonSerializer.Serialize(await job.ExportCheckpoint(), JsonSerializerOptions.Web);
        }

        Assert.Contains("sqlite://events.db/events#id", json, StringComparison.Ordinal);
        Assert.DoesNotContain(_data.Root, json, StringComparison.Ordinal);
        using var elsewhere = new TestData();
        SqliteConnection.ClearAllPools();
        File.Copy(Path.Combine(_data.DataDir, "events.db"), Path.Combine(elsewhere.DataDir, "events.db"));
        await using var second = await ShardsCluster.StartAsync(elsewhere, silos: 2, adapters: () => [new SqlSourceAdapter(new DataRoots(elsewhere.DataDir), new SourceConnectionsOptions())]);
        var imported = await second.Client.GetGrain<IJobGrain>("moving-table").ImportCheckpoint(JsonSerializer.Deserialize<CheckpointDocument>(json, JsonSerializerOptions.Web)!);
        Assert.True(imported.Created);
        await new ThickWorker(second, "moving-table", "b", deliveries).RunAsync();
        Assert.Empty(deliveries.Missing(0, Rows));
        Assert.Empty(deliveries.Missing(1, Rows));
        Assert.Equal(JobStates.Completed, (await second.Client.GetGrain<IJobGrain>("moving-table").GetStatus()).State);

        // The same checkpoint against a table that gained a row no longer matches.
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(elsewhere.DataDir, "events.db")};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO events VALUES (-5, 'late', 0)";
            await command.ExecuteNonQueryAsync();
        }

        var refused = await Assert.ThrowsAsync<ShardsException>(() => second.Client.GetGrain<IJobGrain>("moving-table-2")
            .ImportCheckpoint(JsonSerializer.Deserialize<CheckpointDocument>(json, JsonSerializerOptions.Web)!));
        Assert.Contains("does not match the checkpoint's source", refused.Message, StringComparison.Ordinal);
    }
}
