using System.Diagnostics;
using OrleansShards.Silo.Hosting;
using OrleansShards.Testing.Servers;

namespace OrleansShards.Service.Bench;

/// <summary>
/// The <c>storage</c> section: JobGrain lease + report cycles with 16 workers and strict durability on every grain
/// storage provider, one after another in one run, each on a real server started here with durable settings:
/// SQLite FULL; PostgreSQL with fsync and synchronous_commit on; redis-server with an append-only file fsynced
/// before every reply (<c>appendfsync always</c>); Azurite (an emulator: what it syncs is its business); files
/// fsynced, then renamed, then the directory fsynced.
/// </summary>
public static class StorageBench
{
    public const int Workers = 16;
    public const int MaxTasks = 1;

    public static readonly string[] Providers = [StorageSettings.Sqlite, StorageSettings.Postgres, StorageSettings.Redis, StorageSettings.Blob, StorageSettings.File];

    public static async Task RunAsync(BenchOptions options, Results results)
    {
        Console.WriteLine($"[storage] JobGrain lease + report, {Workers} workers, maxTasks {MaxTasks}, strict durability, a fresh job per run, on each grain storage provider;");
        Console.WriteLine("  one silo per provider, all started first, then measured in rotating order (A B C D E, B C D E A, ...) so that all see the same machine");
        var running = new List<(string Provider, IAsyncDisposable? Server, ServiceHost Host)>();
        try
        {
            foreach (var provider in Providers)
            {
                var started = Stopwatch.StartNew();
                IAsyncDisposable? server;
                StorageSettings settings;
                try
                {
                    (settings, server) = await StartServerAsync(provider);
                }
                catch (ServerMissingException e)
                {
                    Console.WriteLine($"  {provider}: SKIPPED, {e.Message}");
                    continue;
                }

                try
                {
                    running.Add((provider, server, await ServiceHost.StartAsync(options, settings, $"state-{provider}")));
                }
                catch
                {
                    if (server is not null)
                    {
                        await server.DisposeAsync();
                    }

                    throw;
                }

                Console.WriteLine($"  {provider}: server and silo ready in {started.Elapsed.TotalSeconds:F1} s");
            }

            var measured = await Runner.MeasureSetAsync(options, running
                .Select(r => ($"{r.Provider}, {Workers} workers, maxTasks {MaxTasks}", new ServiceBench(r.Host, options, results).StorageCycles(Workers, MaxTasks)))
                .ToList());
            for (var i = 0; i < running.Count; i++)
            {
                results.Add(Keys.Storage(running[i].Provider), measured[i]);
            }
        }
        finally
        {
            foreach (var (_, server, host) in running)
            {
                await host.DisposeAsync();
                if (server is not null)
                {
                    await server.DisposeAsync();
                }
            }
        }

        Console.WriteLine();
    }

    private static async Task<(StorageSettings Settings, IAsyncDisposable? Server)> StartServerAsync(string provider)
    {
        switch (provider)
        {
            case StorageSettings.Postgres:
                var password = "bench-" + Guid.NewGuid().ToString("N");
                var postgres = await LocalServers.StartPostgresAsync("shards_bench", password, durable: true);
                const string variable = "SHARDS_BENCH_PG_PASSWORD";
                Environment.SetEnvironmentVariable(variable, password);
                return (new StorageSettings { Provider = provider, ConnectionString = postgres.ConnectionString("postgres"), Password = "env:" + variable }, postgres);
            case StorageSettings.Redis:
                var redis = await LocalServers.StartRedisAsync(appendFsync: "always");
                return (new StorageSettings { Provider = provider, ConnectionString = $"127.0.0.1:{redis.Port}" }, redis);
            case StorageSettings.Blob:
                var azurite = await LocalServers.StartAzuriteAsync();
                return (new StorageSettings { Provider = provider, ConnectionString = LocalServers.AzuriteConnectionString(azurite.Port) }, azurite);
            default:
                return (new StorageSettings { Provider = provider }, null);
        }
    }
}
