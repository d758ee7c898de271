using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using OrleansShards.Client;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Grains;
using OrleansShards.Providers.Files;
using OrleansShards.Providers.Postgres;
using OrleansShards.Providers.Sqlite;
using OrleansShards.Silo.Hosting;
using OrleansShards.Testing.Servers;
using OrleansShards.Tests.Sql;

namespace OrleansShards.Silo.Tests;

/// <summary>
/// The grain storage is chosen by <c>Shards:Storage</c>: the real server on each provider and its real store runs a
/// job, is stopped, and a new server on the same configuration carries on where the first stood.
/// </summary>
public sealed class StorageConfigurationTests(PostgresServer postgres) : IDisposable
{
    private const string PasswordVariable = "SHARDS_TEST_SILO_STORAGE_PASSWORD";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "shards-storage-cfg-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<IAsyncDisposable> _servers = [];

    public void Dispose()
    {
        foreach (var server in _servers)
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Theory]
    [InlineData("sqlite", typeof(SqliteGrainStorage))]
    [InlineData("file", typeof(FileGrainStorage))]
    [InlineData("postgres", typeof(PostgresGrainStorage))]
    [InlineData("redis", null)]
    [InlineData("blob", typeof(AzureBlobGrainStorage))]
    public async Task A_job_runs_on_the_configured_storage_and_resumes_after_a_restart(string provider, Type? storageType)
    {
        var dataDir = Path.Combine(_root, "data");
        Directory.CreateDirectory(dataDir);
        var csv = new StringBuilder("id,name\n");
        for (var id = 0; id < 2_500; id++)
        {
            csv.Append(id).Append(",n").Append(id).Append('\n');
        }

        await File.WriteAllTextAsync(Path.Combine(dataDir, "rows.csv"), csv.ToString(), TestContext.Current.CancellationToken);
        var storage = await StorageArgumentsAsync(provider);

        string[] Args() =>
        [
            "--urls", "http://127.0.0.1:0",
            $"--Shards:DataDir={dataDir}",
            $"--Shards:SiloPort={FreePort()}",
            $"--Shards:GatewayPort={FreePort()}",
            .. storage,
        ];

        string leaseOfTheFirst;
        await using (var first = await StartAsync(Args()))
        {
            var keyed = first.App.Services.GetRequiredKeyedService<IGrainStorage>(ShardsOptions.StorageName);
            if (storageType is not null)
            {
                Assert.IsType(storageType, keyed);
            }
            else
            {
                Assert.Equal("RedisGrainStorage", keyed.GetType().Name);
            }

            // The same store serves as the default storage and as the stream subscriptions' store.
            Assert.Same(keyed, first.App.Services.GetRequiredKeyedService<IGrainStorage>("Default"));
            Assert.Same(keyed, first.App.Services.GetRequiredKeyedService<IGrainStorage>("PubSubStore"));

            var created = await first.Client.CreateJobAsync(new JobSpec { Id = "resume", Source = new SourceSpec { Kind = "csv", Paths = ["rows.csv"] }, ShardSize = 500 });
            Assert.Equal(5, created.Shards.Total);
            var leased = await first.Client.LeaseAsync("resume", "w1", 2);
            Assert.Equal(2, leased.Leases.Count);
            await first.Client.ReportAsync("resume", new TaskReport(leased.Leases[0].TaskId, leased.Leases[0].LeaseId, "w1", true));
            leaseOfTheFirst = leased.Leases[1].LeaseId;
        }

        await using var second = await StartAsync(Args());
        var status = await second.Client.GetJobAsync("resume");
        Assert.Equal((5L, 1L, 1L), (status.Shards.Total, status.Shards.Done, status.Shards.Doing));
        var done = 1;
        while (true)
        {
            var batch = await second.Client.LeaseAsync("resume", "w2", 5);
            if (batch.Leases.Count == 0)
            {
                break;
            }

            foreach (var lease in batch.Leases)
            {
                Assert.NotEqual(leaseOfTheFirst, lease.LeaseId);
                await second.Client.ReportAsync("resume", new TaskReport(lease.TaskId, lease.LeaseId, "w2", true));
                done++;
            }
        }

        Assert.Equal(4, done);
        var final = await second.Client.GetJobAsync("resume");
        Assert.Equal((4L, 1L), (final.Shards.Done, final.Shards.Doing));
    }

    [Fact]
    public async Task The_migrate_step_creates_the_postgres_schema_on_an_empty_database()
    {
        postgres.Require();
        var database = await postgres.CreateDatabaseAsync("migrate");
        Environment.SetEnvironmentVariable(PasswordVariable, postgres.Password);
        var settings = new StorageSettings
        {
            Provider = "postgres",
            ConnectionString = postgres.ConnectionStringWithoutPassword(database),
            Password = $"env:{PasswordVariable}",
        };

        await settings.CreateSchemaAsync(TestContext.Current.CancellationToken);
        await settings.CreateSchemaAsync(TestContext.Current.CancellationToken);

        await using var connection = await postgres.OpenAsync(database);
        await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM orleans_grain_state", connection);
        Assert.Equal(0L, await command.ExecuteScalarAsync(TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("Shards:Storage:Provider", "--Shards:Storage:Provider=mongo")]
    [InlineData("Shards:Storage:ConnectionString", "--Shards:Storage:Provider=postgres")]
    [InlineData("Shards:Storage:ConnectionString", "--Shards:Storage:Provider=postgres", "--Shards:Storage:ConnectionString=Host=db;Username=u;Password=inline")]
    [InlineData("Shards:Storage:ConnectionString", "--Shards:Storage:Provider=postgres", "--Shards:Storage:ConnectionString=Hots=db")]
    [InlineData("Shards:Storage:Password", "--Shards:Storage:Provider=postgres", "--Shards:Storage:ConnectionString=Host=db;Username=u", "--Shards:Storage:Password=hunter2")]
    [InlineData("Shards:Storage:Password", "--Shards:Storage:Provider=postgres", "--Shards:Storage:ConnectionString=Host=db;Username=u", "--Shards:Storage:Password=env:SHARDS_TEST_NOT_SET")]
    [InlineData("Shards:Storage:ConnectionString", "--Shards:Storage:Provider=redis")]
    [InlineData("Shards:Storage:ConnectionString", "--Shards:Storage:Provider=redis", "--Shards:Storage:ConnectionString=,,,")]
    [InlineData("Shards:Storage:ServiceUri", "--Shards:Storage:Provider=blob")]
    [InlineData("Shards:Storage:ServiceUri", "--Shards:Storage:Provider=blob", "--Shards:Storage:ServiceUri=not a uri")]
    [InlineData("Shards:Storage:Container", "--Shards:Storage:Provider=blob", "--Shards:Storage:ServiceUri=https://acct.blob.core.windows.net", "--Shards:Storage:Container=Bad_Name")]
    [InlineData("Shards:Storage:ConnectionString", "--Shards:Storage:Provider=blob", "--Shards:Storage:ConnectionString=nonsense")]
    public void A_wrong_or_missing_setting_fails_at_startup_naming_the_key(string key, params string[] settings)
    {
        string[] args = [$"--Shards:DataDir={Path.Combine(_root, "data")}", .. settings];
        var error = Assert.Throws<InvalidOperationException>(() =>
        {
            var app = ShardsServer.Build(args);
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        });
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("inline", error.Message, StringComparison.Ordinal);
    }

    private async Task<string[]> StorageArgumentsAsync(string provider)
    {
        switch (provider)
        {
            case "sqlite":
                return [$"--Shards:SqliteFile={Path.Combine(_root, "elsewhere", "state.db")}"];
            case "file":
                return ["--Shards:Storage:Provider=file", $"--Shards:Storage:Directory={Path.Combine(_root, "grains")}"];
            case "postgres":
                postgres.Require();
                var database = await postgres.CreateDatabaseAsync("silo_storage");
                Environment.SetEnvironmentVariable(PasswordVariable, postgres.Password);
                return
                [
                    "--Shards:Storage:Provider=postgres",
                    $"--Shards:Storage:ConnectionString={postgres.ConnectionStringWithoutPassword(database)}",
                    $"--Shards:Storage:Password=env:{PasswordVariable}",
                ];
            case "redis":
                var redis = await Require(LocalServers.StartRedisAsync);
                return ["--Shards:Storage:Provider=redis", $"--Shards:Storage:ConnectionString=127.0.0.1:{redis.Port}"];
            case "blob":
                var azurite = await Require(LocalServers.StartAzuriteAsync);
                return ["--Shards:Storage:Provider=blob", $"--Shards:Storage:ConnectionString={LocalServers.AzuriteConnectionString(azurite.Port)}", "--Shards:Storage:Container=silo-state"];
            default:
                throw new ArgumentOutOfRangeException(nameof(provider), provider, null);
        }
    }

    private async Task<ServerProcess> Require(Func<string?, Task<ServerProcess>> start)
    {
        try
        {
            var server = await start(null);
            _servers.Add(server);
            return server;
        }
        catch (ServerMissingException e)
        {
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
            {
                Assert.Fail($"{e.Message} (CI is set, so this is a failure, not a skip)");
            }

            Assert.Skip($"SKIPPED, server missing: {e.Message}");
            throw;
        }
    }

    private async Task<ServerProcess> Require(Func<Task<ServerProcess>> start) => await Require(_ => start());

    private static async Task<RunningServer> StartAsync(string[] args)
    {
        var app = ShardsServer.Build(args, builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync();
        var http = new HttpClient { BaseAddress = app.ListeningAddress() };
        return new RunningServer(app, http, new ShardsClient(http));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed record RunningServer(WebApplication App, HttpClient Http, ShardsClient Client) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }
}
