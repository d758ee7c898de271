using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Streams;
using Orleans.TestingHost;
using OrleansShards.Providers.LogStore;
using OrleansShards.Providers.Sqlite;
using OrleansShards.Providers.Streams;

namespace OrleansShards.Providers.Tests.Streams;

/// <summary>
/// A real two-silo cluster whose silos run the log stream provider on one real SQLite log file, with the durable
/// pub-sub store on SQLite too. The test appends through a log store of its own on the same file, as another process would.
/// </summary>
public sealed class LogStreamCluster : IAsyncLifetime
{
    public const string Provider = "shards-log";

    public TempDirectory Directory { get; } = new();

    public string LogFile => Directory.File("log/log.db");

    public string PubSubFile => Directory.File("state/pubsub.db");

    public InProcessTestCluster Cluster { get; private set; } = null!;

    /// <summary>The test's own store on the cluster's log file.</summary>
    public SqliteLogStore Store { get; private set; } = null!;

    /// <summary>Records kept in memory per partition: small, so that subscribers far behind read the log.</summary>
    public const int CachedRecords = 16;

    public IStreamProvider Streams => Cluster.Client.GetStreamProvider(Provider);

    public async ValueTask InitializeAsync()
    {
        Store = new SqliteLogStore(new SqliteLogStoreOptions { DataSource = LogFile, PollInterval = TimeSpan.FromMilliseconds(50) });
        var builder = new InProcessTestClusterBuilder(2);
        builder.Options.ServiceId = "log-streams-" + Guid.NewGuid().ToString("N")[..8];
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSqliteLogStore(o =>
            {
                o.DataSource = LogFile;
                o.PollInterval = TimeSpan.FromMilliseconds(50);
            });
            silo.AddSqliteGrainStorage("PubSubStore", o => o.DataSource = PubSubFile);
            silo.AddShardsLogStreams(Provider, o =>
            {
                o.QueueCount = 4;
                o.CachedRecordsPerPartition = CachedRecords;
                o.TopicRefreshInterval = TimeSpan.FromMilliseconds(200);
            });
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
        });
        builder.ConfigureClient(client =>
        {
            // The client may produce too: it has a log store of its own on the same file.
            client.Services.AddSqliteLogStore(o => o.DataSource = LogFile);
            client.AddShardsLogStreams(Provider, o => o.QueueCount = 4);
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Store.Dispose();
        Directory.Dispose();
    }

    public IAsyncStream<LogStreamRecord> Stream(string topic, int partition) =>
        Streams.GetStream<LogStreamRecord>(LogStreamIds.For(topic, partition));

    public async Task AppendAsync(string topic, int partition, int from, int count)
    {
        var records = Enumerable.Range(from, count).Select(i => (ReadOnlyMemory<byte>)Value(i)).ToList();
        await Store.AppendAsync(topic, partition, records);
    }

    public static byte[] Value(int i) => System.Text.Encoding.UTF8.GetBytes($"{{\"i\":{i}}}");
}

/// <summary>Collects what a subscription receives.</summary>
public sealed class Collector : IAsyncObserver<LogStreamRecord>
{
    public ConcurrentQueue<LogStreamRecord> Received { get; } = new();

    public ConcurrentQueue<StreamSequenceToken?> Tokens { get; } = new();

    public ConcurrentQueue<Exception> Errors { get; } = new();

    public IReadOnlyList<long> Offsets => Received.Select(r => r.Offset).ToList();

    public long LastOffset => Received.Last().Offset;

    public Task OnNextAsync(LogStreamRecord item, StreamSequenceToken? token = null)
    {
        Received.Enqueue(item);
        Tokens.Enqueue(token);
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex)
    {
        Errors.Enqueue(ex);
        return Task.CompletedTask;
    }

    public Task WaitForAsync(int count, string what) =>
        Db.WaitUntilAsync(() => Received.Count >= count, what, () => $"received {Received.Count}: [{string.Join(",", Offsets.Take(200))}] errors: {string.Join(" | ", Errors.Select(e => e.Message))}",
            TimeSpan.FromSeconds(60));
}
