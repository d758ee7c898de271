// Log benchmark: append throughput of the log stores (SQLite FULL and NORMAL, PostgreSQL with its durable defaults)
// with batches of 1 from many concurrent producers and batches of 500; latency from an append acknowledged to the
// record received by an Orleans client subscribed to the partition's stream (p50/p99), and the idle CPU the stream
// provider costs. See README.md.
// dotnet run -c Release --project bench/Log.Bench -- [--seconds 3] [--windows 3] [--producers 64] [--records 1000]
//     [--only sqlite,postgres,stream] [--dir DIR]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Streams;
using OrleansShards.Core;
using OrleansShards.Log.Bench;
using OrleansShards.Providers.LogStore;
using OrleansShards.Providers.Sqlite;
using OrleansShards.Providers.Streams;

var seconds = Option("--seconds", 3.0);
var windows = (int)Option("--windows", 3);
var producers = (int)Option("--producers", 64);
var latencyRecords = (int)Option("--records", 1000);
var only = OptionText("--only", "sqlite,postgres,stream").Split(',', StringSplitOptions.RemoveEmptyEntries);
var root = OptionText("--dir", Path.Combine(Path.GetTempPath(), "shards-log-bench-" + Guid.NewGuid().ToString("N")[..8]));
Directory.CreateDirectory(root);

Console.WriteLine("command: dotnet run -c Release --project bench/Log.Bench --" + (args.Length == 0 ? "" : " " + string.Join(' ', args)));
Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cpus, {(IsRelease() ? "Release" : "Debug")} build, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, files under {root}");
Console.WriteLine($"throughput: median of {windows} windows of {seconds.ToString(CultureInfo.InvariantCulture)} s after a 1 s warm-up; batch 1 with {producers} concurrent producers, batch 500 with 4");
Console.WriteLine();

try
{
    if (only.Contains("sqlite"))
    {
        foreach (var mode in new[] { SqliteSynchronousMode.Full, SqliteSynchronousMode.Normal })
        {
            using var store = new SqliteLogStore(new SqliteLogStoreOptions { DataSource = Path.Combine(root, $"append-{mode}.db"), Synchronous = mode });
            await AppendBenchAsync($"SQLite {mode.ToString().ToUpperInvariant()}", store);
        }
    }

    if (only.Contains("postgres"))
    {
        var (server, problem) = await PostgresProcess.StartAsync();
        if (server is null)
        {
            Console.WriteLine($"PostgreSQL: skipped, {problem}");
        }
        else
        {
            await using (server)
            {
                using var store = new PostgresLogStore(new PostgresLogStoreOptions { ConnectionString = server.ConnectionString });
                await AppendBenchAsync("PostgreSQL (fsync, synchronous_commit on)", store);
            }
        }
    }

    if (only.Contains("stream"))
    {
        await StreamBenchAsync();
    }
}
finally
{
    if (!args.Contains("--keep"))
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

return 0;

async Task AppendBenchAsync(string name, RelationalLogStore store)
{
    var topic = "bench-" + Guid.NewGuid().ToString("N")[..6];
    await store.CreateTopicAsync(topic, 4);
    var value = Encoding.UTF8.GetBytes("{\"user\":12345,\"item\":678,\"label\":1,\"features\":[0.1,0.2,0.3,0.4]}");
    foreach (var (batch, concurrency) in new[] { (1, producers), (500, 4) })
    {
        var records = Enumerable.Repeat((ReadOnlyMemory<byte>)value, batch).ToArray();
        var rates = new List<double>();
        var transactionsBefore = store.Transactions;
        var appendedBefore = store.AppendedRecords;
        for (var w = -1; w < windows; w++)
        {
            var duration = TimeSpan.FromSeconds(w < 0 ? 1 : seconds);
            var count = 0L;
            var stopwatch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(p => Task.Run(async () =>
            {
                while (stopwatch.Elapsed < duration)
                {
                    await store.AppendAsync(topic, p % 4, records);
                    Interlocked.Add(ref count, batch);
                }
            })));
            if (w >= 0)
            {
                rates.Add(count / stopwatch.Elapsed.TotalSeconds);
            }
        }

        var perTransaction = (store.AppendedRecords - appendedBefore) / (double)Math.Max(1, store.Transactions - transactionsBefore);
        Console.WriteLine($"{name,-44} batch {batch,3} x {concurrency,2} producers: {Median(rates),10:N0} records/s  (windows: {string.Join(", ", rates.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))}; {perTransaction:N1} records per commit)");
    }
}

async Task StreamBenchAsync()
{
    // Idle CPU of a silo and a client without the stream provider, then with it: the difference is what it costs.
    var baseline = await RunClusterAsync(withStreams: false, async (_, _, _) => await IdleCpuAsync());
    await RunClusterAsync(withStreams: true, async (siloStore, otherStore, client) =>
    {
        var provider = client.GetStreamProvider("shards-log");
        await siloStore.CreateTopicAsync("latency", 2);

        // Appends through the silo's own log store wake the receivers at once; appends by another process (a store
        // instance of its own) are seen at the store's poll interval.
        foreach (var (label, store, partition) in new[] { ("append in the silo's process (woken at once)", siloStore, 0), ("append by another process (store poll 25 ms)", otherStore, 1) })
        {
            // Offset 0 warms the path up (stream registration, pub-sub, JIT) and is not measured.
            var received = new long[latencyRecords + 1];
            var acknowledged = new long[latencyRecords + 1];
            var called = new long[latencyRecords + 1];
            var count = 0;
            var warm = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var stream = provider.GetStream<LogStreamRecord>(LogStreamIds.For("latency", partition));
            var handle = await stream.SubscribeAsync((record, _) =>
            {
                received[record.Offset] = Stopwatch.GetTimestamp();
                var seen = Interlocked.Increment(ref count);
                if (seen == 1)
                {
                    warm.TrySetResult();
                }
                else if (seen == latencyRecords + 1)
                {
                    done.TrySetResult();
                }

                return Task.CompletedTask;
            }, new LogSequenceToken(0));

            var value = new ReadOnlyMemory<byte>[] { Encoding.UTF8.GetBytes("{\"x\":1}") };
            await store.AppendAsync("latency", partition, value);
            await warm.Task.WaitAsync(TimeSpan.FromMinutes(1));
            for (var i = 0; i < latencyRecords; i++)
            {
                var call = Stopwatch.GetTimestamp();
                var appended = await store.AppendAsync("latency", partition, value);
                acknowledged[appended.FirstOffset] = Stopwatch.GetTimestamp();
                called[appended.FirstOffset] = call;
                await Task.Delay(5);
            }

            await done.Task.WaitAsync(TimeSpan.FromMinutes(2));
            await handle.UnsubscribeAsync();

            var latencies = Enumerable.Range(1, latencyRecords)
                .Select(i => Stopwatch.GetElapsedTime(acknowledged[i], received[i]).TotalMilliseconds).Order().ToList();
            var fromCall = Enumerable.Range(1, latencyRecords)
                .Select(i => Stopwatch.GetElapsedTime(called[i], received[i]).TotalMilliseconds).Order().ToList();
            if (args.Contains("--verbose"))
            {
                Console.WriteLine("slow: " + string.Join(" ", Enumerable.Range(1, latencyRecords)
                    .Select(i => (i, ms: Stopwatch.GetElapsedTime(acknowledged[i], received[i]).TotalMilliseconds))
                    .Where(x => x.ms > 50).Select(x => $"{x.i}:{x.ms:F0}")));
                Console.WriteLine($"min {latencies[0]:F2} ms");
            }

            Console.WriteLine($"stream latency, {label,-46}: p50 {Percentile(latencies, 0.50),6:F2} ms  p99 {Percentile(latencies, 0.99),6:F2} ms  max {latencies[^1],6:F2} ms  ({latencies.Count} records, 1 every 5 ms)");
            Console.WriteLine($"    from the append call (commit included){"",-22}: p50 {Percentile(fromCall, 0.50),6:F2} ms  p99 {Percentile(fromCall, 0.99),6:F2} ms");
        }

        var idle = await IdleCpuAsync();
        Console.WriteLine($"idle CPU over 10 s, silo + client without the stream provider: {baseline:F2} % of one core");
        Console.WriteLine($"idle CPU over 10 s, with it (8 queues, 2 partitions waited on): {idle:F2} % of one core -> the provider costs {idle - baseline:F2} %");
        return idle;
    });
}

async Task<double> RunClusterAsync(bool withStreams, Func<ILogStore, ILogStore, IClusterClient, Task<double>> run)
{
    var logFile = Path.Combine(root, withStreams ? "stream-log.db" : "baseline-log.db");
    var (siloPort, gatewayPort) = (FreePort(), FreePort());
    var siloBuilder = Host.CreateApplicationBuilder();
    siloBuilder.Logging.SetMinimumLevel(LogLevel.Warning);
    siloBuilder.UseOrleans(silo =>
    {
        silo.UseLocalhostClustering(siloPort, gatewayPort);
        silo.Services.AddSqliteLogStore(o => o.DataSource = logFile); // default poll interval (25 ms)
        silo.AddSqliteGrainStorage("PubSubStore", o => o.DataSource = Path.Combine(root, withStreams ? "stream-pubsub.db" : "baseline-pubsub.db"));
        if (withStreams)
        {
            silo.AddShardsLogStreams("shards-log");
        }
    });
    using var silo = siloBuilder.Build();
    await silo.StartAsync();

    var clientBuilder = Host.CreateApplicationBuilder();
    clientBuilder.Logging.SetMinimumLevel(LogLevel.Warning);
    clientBuilder.UseOrleansClient(client =>
    {
        client.UseLocalhostClustering(gatewayPort);
        if (withStreams)
        {
            client.AddShardsLogStreams("shards-log");
        }
    });
    using var clientHost = clientBuilder.Build();
    await clientHost.StartAsync();
    using var other = new SqliteLogStore(new SqliteLogStoreOptions { DataSource = logFile });
    try
    {
        return await run(silo.Services.GetRequiredService<ILogStore>(), other, clientHost.Services.GetRequiredService<IClusterClient>());
    }
    finally
    {
        await clientHost.StopAsync();
        await silo.StopAsync();
    }
}

static async Task<double> IdleCpuAsync()
{
    await Task.Delay(2000); // Let start-up work settle.
    using var process = Process.GetCurrentProcess();
    var cpu = process.TotalProcessorTime;
    var wall = Stopwatch.StartNew();
    await Task.Delay(TimeSpan.FromSeconds(10));
    process.Refresh();
    return (process.TotalProcessorTime - cpu).TotalMilliseconds / wall.Elapsed.TotalMilliseconds * 100;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}

static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

static bool IsRelease() =>
    typeof(Program).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false).OfType<DebuggableAttribute>().All(d => !d.IsJITOptimizerDisabled);

double Option(string name, double fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

string OptionText(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
