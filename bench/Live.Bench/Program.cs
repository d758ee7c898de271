// Live benchmark: the built-in log through the real HTTP server (Kestrel on loopback, the silo, SQLite FULL):
//  1. latency from an append acknowledged (POST .../records answered) to the record received by an SSE follower
//     and by a WebSocket follower, p50 / p99 over N single-record appends spaced apart;
//  2. latency from an append acknowledged to the record's shard leased by a worker of a live job (maxWaitMs 10,
//     shardSize 1): what the splitter's wake-up costs;
//  3. HTTP append throughput, batches of 1 (16 concurrent producers) and of 500 records;
//  4. the server's idle CPU with followers and a live job connected and nothing arriving.
// dotnet run -c Release --project bench/Live.Bench -- [--samples 500] [--seconds 3]
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using OrleansShards.Client;
using OrleansShards.Silo.Hosting;

var samples = Arg("--samples", 500);
var seconds = Arg("--seconds", 3);
Console.WriteLine("command: dotnet run -c Release --project bench/Live.Bench --" + (args.Length == 0 ? "" : " " + string.Join(' ', args)));
Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cpus, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
var root = Path.Combine(Path.GetTempPath(), "shards-live-bench-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(root);
await using var app = ShardsServer.Build(
    ["--urls", "http://127.0.0.1:0", $"--Shards:DataDir={root}", $"--Shards:SiloPort={FreePort()}", $"--Shards:GatewayPort={FreePort()}"],
    builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
await app.StartAsync();
using var http = new HttpClient { BaseAddress = app.ListeningAddress() };
var client = new ShardsClient(http);

// 1. append -> SSE and WebSocket followers.
await CreateTopic("latency", 1);
var sse = new Follower();
var ws = new Follower();
using var stop = new CancellationTokenSource();
var sseTask = FollowSse(http, "latency", sse, stop.Token);
var wsTask = FollowWebSocket(http.BaseAddress!, "latency", ws, stop.Token);
await Task.Delay(500);
var appendTimes = new Dictionary<long, long>();
for (var i = 0; i < samples + 50; i++)
{
    var body = JsonContent.Create(new[] { new { id = i } });
    var answer = await http.PostAsync("/v1/topics/latency/partitions/0/records", body);
    var acknowledged = Stopwatch.GetTimestamp();
    var offset = (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("firstOffset").GetInt64();
    lock (appendTimes)
    {
        appendTimes[offset] = acknowledged;
    }

    await Task.Delay(5);
}

await Task.Delay(1000);
Report("append acknowledged -> SSE follower received", Latencies(appendTimes, sse, skip: 50));
Report("append acknowledged -> WebSocket follower received", Latencies(appendTimes, ws, skip: 50));

// 2. append -> leased by a worker of a live job.
await CreateTopic("jobs", 1);
(await http.PostAsJsonAsync("/v1/jobs", new { id = "live", source = new { kind = "topic", topic = "jobs" }, shardSize = 1, maxWaitMs = 10 })).EnsureSuccessStatusCode();
var leaseLatencies = new List<double>();
for (var i = 0; i < Math.Min(samples, 200); i++)
{
    var answer = await http.PostAsJsonAsync("/v1/topics/jobs/partitions/0/records", new[] { new { id = i } });
    answer.EnsureSuccessStatusCode();
    var acknowledged = Stopwatch.GetTimestamp();
    while (true)
    {
        var batch = await client.LeaseAsync("live", "w", 1);
        if (batch.Leases.Count > 0)
        {
            leaseLatencies.Add(Stopwatch.GetElapsedTime(acknowledged).TotalMilliseconds);
            await client.ReportAsync("live", new OrleansShards.GrainInterfaces.TaskReport(batch.Leases[0].TaskId, batch.Leases[0].LeaseId, "w", Done: true));
            break;
        }

        await Task.Delay(1);
    }
}

Report("append acknowledged -> shard leased (live job, maxWaitMs 10, worker polling every 1 ms)", leaseLatencies);

// 3. HTTP append throughput.
await CreateTopic("throughput", 16);
foreach (var (batchSize, producers) in new[] { (1, 16), (500, 4) })
{
    var records = Enumerable.Range(0, batchSize).Select(i => new { id = i, text = "a record of some forty bytes or so" }).ToArray();
    var payload = JsonSerializer.SerializeToUtf8Bytes(records);
    var appended = 0L;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, producers).Select(async p =>
    {
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            using var content = new ByteArrayContent(payload);
            content.Headers.ContentType = new("application/json");
            (await http.PostAsync($"/v1/topics/throughput/partitions/{p}/records", content)).EnsureSuccessStatusCode();
            Interlocked.Add(ref appended, batchSize);
        }
    }));
    Console.WriteLine($"HTTP append, batches of {batchSize}, {producers} producers: {appended / clock.Elapsed.TotalSeconds:F0} records/s ({appended} in {clock.Elapsed.TotalSeconds:F1} s)");
}

// 4. Idle CPU with two followers and a live job's splitter waiting.
var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
var idle = Stopwatch.StartNew();
await Task.Delay(TimeSpan.FromSeconds(10));
var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
Console.WriteLine($"idle, 2 followers and 1 live job waiting: {cpu.TotalMilliseconds / idle.Elapsed.TotalSeconds / 10:F2}% of one core (process CPU {cpu.TotalMilliseconds:F0} ms over {idle.Elapsed.TotalSeconds:F1} s)");

await stop.CancelAsync();
await Task.WhenAll(sseTask, wsTask).ContinueWith(_ => { });
await app.StopAsync();
try
{
    Directory.Delete(root, recursive: true);
}
catch (IOException)
{
}

return 0;

async Task CreateTopic(string name, int partitions) =>
    (await http.PostAsJsonAsync("/v1/topics", new { name, partitions })).EnsureSuccessStatusCode();

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static int FreePort()
{
    using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
    listener.Start();
    return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
}

static List<double> Latencies(Dictionary<long, long> appended, Follower follower, int skip)
{
    var latencies = new List<double>();
    lock (follower.Received)
    {
        foreach (var (offset, received) in follower.Received)
        {
            if (offset >= skip && appended.TryGetValue(offset, out var acknowledged))
            {
                // A follower may see the record before the producer sees the acknowledgement: that counts as 0.
                latencies.Add(Math.Max(0, Stopwatch.GetElapsedTime(acknowledged, received).TotalMilliseconds));
            }
        }
    }

    return latencies;
}

static void Report(string what, List<double> latencies)
{
    if (latencies.Count == 0)
    {
        Console.WriteLine($"{what}: no samples");
        return;
    }

    latencies.Sort();
    double At(double q) => latencies[(int)Math.Min(latencies.Count - 1, Math.Floor(q * latencies.Count))];
    Console.WriteLine($"{what}: p50 {At(0.50):F2} ms, p99 {At(0.99):F2} ms, max {latencies[^1]:F2} ms ({latencies.Count} samples)");
}

static async Task FollowSse(HttpClient http, string topic, Follower follower, CancellationToken cancellationToken)
{
    try
    {
        using var answer = await http.GetAsync($"/v1/topics/{topic}/partitions/0/stream?from=0", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        using var reader = new StreamReader(await answer.Content.ReadAsStreamAsync(cancellationToken));
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                var offset = long.Parse(line.AsSpan(4), CultureInfo.InvariantCulture);
                lock (follower.Received)
                {
                    follower.Received.Add((offset, Stopwatch.GetTimestamp()));
                }
            }
        }
    }
    catch (OperationCanceledException)
    {
    }
}

static async Task FollowWebSocket(Uri server, string topic, Follower follower, CancellationToken cancellationToken)
{
    try
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new UriBuilder(server) { Scheme = "ws", Path = $"/v1/topics/{topic}/partitions/0/ws", Query = "from=0" }.Uri, cancellationToken);
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var message = await socket.ReceiveAsync(buffer, cancellationToken);
            var received = Stopwatch.GetTimestamp();
            using var json = JsonDocument.Parse(buffer.AsMemory(0, message.Count));
            lock (follower.Received)
            {
                follower.Received.Add((json.RootElement.GetProperty("offset").GetInt64(), received));
            }
        }
    }
    catch (Exception e) when (e is OperationCanceledException or WebSocketException)
    {
    }
}

internal sealed class Follower
{
    public List<(long Offset, long ReceivedAt)> Received { get; } = [];
}
