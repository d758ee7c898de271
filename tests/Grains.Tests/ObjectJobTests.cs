using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Readers;
using OrleansShards.Readers.Objects;
using OrleansShards.Readers.Tests.Objects;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Grains.Tests;

/// <summary>Jobs over S3 (s3rver) and Azure Blob (Azurite) objects on a real two-silo cluster and through the HTTP server.</summary>
public sealed class ObjectJobTests(ObjectServers servers) : IDisposable
{
    private readonly TestData _data = new();

    public void Dispose() => _data.Dispose();

    private string Secret(string kind) => kind == "s3" ? "S3RVER" : ObjectServers.AzuriteKey;

    private Func<ISourceAdapter[]> Adapters() => () =>
        [new ObjectSourceAdapter(servers.Connections(), new ObjectSourceOptions { CacheDirectory = Path.Combine(_data.Root, "cache"), IndexStride = 64 })];

    private static SourceSpec Source(string kind, string container, string transformer, string prefix, int? partitions) => new()
    {
        Kind = kind,
        Connection = "store-" + kind,
        Bucket = kind == "s3" ? container : null,
        Container = kind == "azureblob" ? container : null,
        Prefix = prefix,
        Transformer = transformer,
        Partitions = partitions,
    };

    /// <summary>Uploads CSV objects holding ids <c>[0, rows)</c>, with quoted fields holding commas, quotes and line breaks.</summary>
    private async Task UploadCsvAsync(string kind, string container, string prefix, long rows, int objects)
    {
        var perObject = rows / objects;
        for (var o = 0; o < objects; o++)
        {
            var first = o * perObject;
            var last = o == objects - 1 ? rows : first + perObject;
            var text = new StringBuilder("id,text,value\n");
            for (var id = first; id < last; id++)
            {
                text.Append(id % 13 == 0 ? $"{id},\"a, \"\"quoted\"\"\nline\",{id * 3}\n" : $"{id},plain {id},{id * 3}\n");
            }

            await servers.PutAsync(kind, container, string.Create(CultureInfo.InvariantCulture, $"{prefix}part-{o:D3}.csv"), text.ToString());
        }
    }

    /// <summary>Every byte of the SQLite state (and its write-ahead log).</summary>
    private byte[] StateBytes() =>
        [.. new[] { _data.StateFile, _data.StateFile + "-wal" }.Where(File.Exists).SelectMany(f =>
        {
            using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        })];

    private static void AssertNoSecret(byte[] bytes, string secret, string where)
    {
        Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) < 0, $"the secret appears in {where}");
        Assert.True(bytes.AsSpan().IndexOf("env:SHARDS_TEST"u8) < 0, $"a secret reference appears in {where}");
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("azureblob")]
    public async Task Two_silos_and_three_workers_deliver_every_id_of_the_objects_exactly_once(string kind)
    {
        await servers.RequireAsync(kind);
        const long rows = 9_000;
        var container = await servers.CreateContainerAsync(kind);
        await UploadCsvAsync(kind, container, "train/", rows, objects: 7);
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 2, adapters: Adapters());
        var job = cluster.Client.GetGrain<IJobGrain>("objects-" + kind);
        var created = await job.Create(new JobSpec
        {
            Id = "objects-" + kind,
            Source = Source(kind, container, "csv", "train/", partitions: 3),
            ShardSize = 700,
            Epochs = 2,
            Shuffle = true,
            Seed = 5,
            MaxAttempts = 3,
        });
        Assert.True(created.Created);
        Assert.Equal(3, created.Status.Partitions.Count);
        Assert.Equal(rows, created.Status.Partitions.Sum(p => p.Records));
        Assert.All(created.Status.Partitions, p => Assert.StartsWith($"{kind}://store-{kind}/{container}", p.Path, StringComparison.Ordinal));

        var deliveries = new Deliveries();
        await Task.WhenAll(Enumerable.Range(0, 3).Select(w => new ThickWorker(cluster, "objects-" + kind, $"w{w}", deliveries).RunAsync()));
        deliveries.AssertExactlyOnce(epochs: 2, rows);
        var status = await job.GetStatus();
        Assert.Equal(JobStates.Completed, status.State);
        Assert.Equal(2 * rows, status.Records.Delivered);

        // A checkpoint of an object job imports: its partitions are found again from the spec and matched.
        var exported = await job.ExportCheckpoint();
        var imported = await cluster.Client.GetGrain<IJobGrain>("objects-imported-" + kind).ImportCheckpoint(exported);
        Assert.Equal((JobStates.Completed, 2 * rows, 3), (imported.Status.State, imported.Status.Records.Delivered, imported.Status.Partitions.Count));

        // The connection's secret is in no grain state, checkpoint or status: jobs name the connection only.
        var checkpoint = JsonSerializer.SerializeToUtf8Bytes(exported);
        AssertNoSecret(checkpoint, Secret(kind), "the exported checkpoint");
        AssertNoSecret(JsonSerializer.SerializeToUtf8Bytes(status), Secret(kind), "the job status");
        await cluster.Cluster.StopAllSilosAsync();
        var state = StateBytes();
        Assert.NotEmpty(state);
        AssertNoSecret(state, Secret(kind), "the grain state file");
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("azureblob")]
    public async Task A_malformed_object_dead_letters_its_shard_naming_bucket_and_key_and_the_rest_is_delivered(string kind)
    {
        await servers.RequireAsync(kind);
        var container = await servers.CreateContainerAsync(kind);
        await servers.PutAsync(kind, container, "logs/a.jsonl", string.Concat(Enumerable.Range(0, 50).Select(i => $"{{\"id\":\"{i}\"}}\n")));
        await servers.PutAsync(kind, container, "logs/b.jsonl", "{\"id\":\"50\"}\n{\"id\": oops\n{\"id\":\"52\"}\n");
        await using var cluster = await ShardsCluster.StartAsync(_data, silos: 2, adapters: Adapters());
        var job = cluster.Client.GetGrain<IJobGrain>("bad-" + kind);
        var created = await job.Create(new JobSpec { Id = "bad-" + kind, Source = Source(kind, container, "jsonl", "logs/", partitions: null), ShardSize = 20, MaxAttempts = 2 });
        Assert.Equal(2, created.Status.Partitions.Count);

        // A thin worker inside the silo: a shard it cannot read is reported failed, and after two attempts dead-lettered.
        var worker = cluster.Client.GetGrain<IWorkerGrain>("thin-" + kind);
        var ids = new List<long>();
        var failures = 0;
        for (var i = 0; i < 200; i++)
        {
            WorkerBatch batch;
            try
            {
                batch = await worker.Next("bad-" + kind, 100);
            }
            catch (ShardsException e) when (e.Kind == ShardsErrorKind.Conflict)
            {
                failures++;
                Assert.Contains($"{kind}://{container}/logs/b.jsonl", e.Message, StringComparison.Ordinal);
                continue;
            }

            if (batch.TaskId is null)
            {
                if (batch.JobState is JobStates.Completed or JobStates.Failed)
                {
                    break;
                }

                await Task.Delay(20);
                continue;
            }

            using var records = JsonDocument.Parse(batch.RecordsJson);
            ids.AddRange(records.RootElement.EnumerateArray().Select(r => long.Parse(r.GetProperty("id").GetString()!, CultureInfo.InvariantCulture)));
        }

        Assert.Equal(2, failures);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), ids.Order());
        var status = await job.GetStatus();
        var dead = Assert.Single(status.DeadLetters);
        Assert.Equal(1, dead.Shard.Partition);
        Assert.Contains($"{kind}://{container}/logs/b.jsonl", dead.LastError, StringComparison.Ordinal);
        Assert.Contains("record 1", dead.LastError, StringComparison.Ordinal);

        // The silos are alive and serve the job.
        Assert.Equal(2, (await job.GetStatus()).Partitions.Count);
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("azureblob")]
    public async Task Over_http_a_job_names_a_configured_connection_and_no_answer_or_state_holds_its_secret(string kind)
    {
        await servers.RequireAsync(kind);
        const int rows = 1_200;
        var container = await servers.CreateContainerAsync(kind);
        await UploadCsvAsync(kind, container, "http/", rows, objects: 4);
        var connection = servers.Connection(kind);
        var args = new List<string>
        {
            "--urls", "http://127.0.0.1:0",
            $"--Shards:DataDir={_data.DataDir}",
            $"--Shards:SiloPort={FreePort()}",
            $"--Shards:GatewayPort={FreePort()}",
            $"--Shards:Connections:warehouse:Kind={kind}",
            $"--Shards:Connections:warehouse:ServiceUrl={connection.ServiceUrl}",
            $"--Shards:Connections:warehouse:AccessKey={connection.AccessKey}",
            $"--Shards:Connections:warehouse:Secret={connection.Secret}",
        };
        var app = ShardsServer.Build([.. args], builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync(TestContext.Current.CancellationToken);
        var answers = new List<byte[]>();
        try
        {
            using var http = new HttpClient { BaseAddress = app.ListeningAddress() };
            async Task<JsonElement> Send(HttpMethod method, string uri, object? body = null)
            {
                using var request = new HttpRequestMessage(method, uri) { Content = body is null ? null : JsonContent.Create(body) };
                using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
                var bytes = await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
                answers.Add(bytes);
                Assert.True(response.IsSuccessStatusCode, $"{method} {uri}: {(int)response.StatusCode} {Encoding.UTF8.GetString(bytes)}");
                return bytes.Length == 0 ? default : JsonDocument.Parse(bytes).RootElement.Clone();
            }

            var source = new Dictionary<string, object?>
            {
                ["kind"] = kind,
                ["connection"] = "warehouse",
                [kind == "s3" ? "bucket" : "container"] = container,
                ["prefix"] = "http/",
                ["transformer"] = "csv",
            };
            var created = await Send(HttpMethod.Post, "/v1/jobs", new { id = "http-objects", source, shardSize = 250, epochs = 1 });
            Assert.Equal(4, created.GetProperty("partitions").GetArrayLength());

            // A connection the operator did not define is refused, naming the field.
            using (var refused = await http.PostAsJsonAsync("/v1/jobs", new { id = "nope", source = new Dictionary<string, object?>(source) { ["connection"] = "elsewhere" } }, TestContext.Current.CancellationToken))
            {
                var body = await refused.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
                answers.Add(body);
                Assert.Equal(400, (int)refused.StatusCode);
                Assert.Contains("source.connection", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
            }

            var seen = new HashSet<long>();
            while (true)
            {
                var leases = await Send(HttpMethod.Post, "/v1/jobs/http-objects/leases", new { workerId = "py", maxTasks = 3 });
                if (leases.GetProperty("leases").GetArrayLength() == 0)
                {
                    Assert.Equal("completed", leases.GetProperty("state").GetString());
                    break;
                }

                foreach (var lease in leases.GetProperty("leases").EnumerateArray())
                {
                    var taskId = lease.GetProperty("taskId").GetString()!;
                    var page = await Send(HttpMethod.Get, $"/v1/jobs/http-objects/tasks/{Uri.EscapeDataString(taskId)}/records?columns=id,text");
                    foreach (var record in page.GetProperty("records").EnumerateArray())
                    {
                        Assert.True(seen.Add(long.Parse(record.GetProperty("id").GetString()!, CultureInfo.InvariantCulture)));
                    }

                    await Send(HttpMethod.Post, "/v1/jobs/http-objects/reports", new { taskId, leaseId = lease.GetProperty("leaseId").GetString(), workerId = "py", outcome = "done" });
                }
            }

            Assert.Equal(rows, seen.Count);
            await Send(HttpMethod.Get, "/v1/jobs/http-objects");
            await Send(HttpMethod.Get, "/v1/jobs");
            await Send(HttpMethod.Get, "/v1/jobs/http-objects/checkpoint");
        }
        finally
        {
            await app.StopAsync(TestContext.Current.CancellationToken);
            await app.DisposeAsync();
        }

        foreach (var answer in answers)
        {
            AssertNoSecret(answer, Secret(kind), "an HTTP answer");
        }

        var stateDir = Path.Combine(_data.DataDir, "state");
        var state = Directory.GetFiles(stateDir).SelectMany(File.ReadAllBytes).ToArray();
        Assert.NotEmpty(state);
        AssertNoSecret(state, Secret(kind), "the grain state file");
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
