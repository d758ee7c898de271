using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using OrleansShards.Client;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Cluster.Tests;

/// <summary>
/// Silo processes of one cluster on loopback, each with its own data directory (so that only the configured shared
/// storage can carry a job from one to another), and the test's view of them: HTTP clients and an Orleans client
/// that asks where a grain lives. Disposing kills every process still running and prints the tails of their logs.
/// </summary>
public sealed class SiloCluster : IAsyncDisposable
{
    private readonly List<SiloProcess> _silos = [];
    private readonly List<IHost> _clients = [];
    private IHost? _orleans;

    /// <summary>A cluster whose processes get <paramref name="arguments"/> (per silo index) and <paramref name="environment"/>.</summary>
    public SiloCluster(string name, int count, Func<int, string, IEnumerable<string>> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        ClusterId = $"{name}-{Guid.NewGuid().ToString("N")[..8]}";
        Root = Path.Combine(Path.GetTempPath(), "shards-cluster-" + ClusterId);
        Directory.CreateDirectory(Root);
        for (var i = 0; i < count; i++)
        {
            var dataDir = Path.Combine(Root, $"data{i}");
            Directory.CreateDirectory(dataDir);
            // One log file for the silos of this host: a multi-silo silo refuses the per-silo default ({DataDir}/state/log.db).
            // A job pins the real paths of its files as the silo that created it resolved them; on real hosts every silo
            // mounts the data at the same path, here each has its own copy, so the others' data directories are roots too.
            var otherData = Enumerable.Range(0, count).Where(j => j != i).Select((j, k) => $"--Shards:DataRoots:{k}={Path.Combine(Root, $"data{j}")}");
            _silos.Add(new SiloProcess(
                $"silo{i}",
                Root,
                [$"--Shards:DataDir={dataDir}", $"--Shards:ClusterId={ClusterId}", $"--Shards:LogStore:File={Path.Combine(Root, "log.db")}", .. otherData, .. arguments(i, dataDir)],
                environment));
        }
    }

    /// <summary>The Orleans cluster id, fresh per cluster so that rows of earlier runs do not matter.</summary>
    public string ClusterId { get; }

    /// <summary>The work directory (logs, data directories).</summary>
    public string Root { get; }

    /// <summary>The silos.</summary>
    public IReadOnlyList<SiloProcess> Silos => _silos;

    /// <summary>HTTP for the tests: generous timeouts, a loaded machine is slow.</summary>
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>The data directory of silo <paramref name="index"/>.</summary>
    public string DataDir(int index) => Path.Combine(Root, $"data{index}");

    /// <summary>Writes a CSV <c>id,value</c> of <paramref name="rows"/> rows into every silo's data directory.</summary>
    public void WriteCsv(string name, int rows)
    {
        var lines = new List<string> { "id,value" };
        lines.AddRange(Enumerable.Range(0, rows).Select(i => $"{i},{i * 7}"));
        for (var i = 0; i < _silos.Count; i++)
        {
            File.WriteAllLines(Path.Combine(DataDir(i), name), lines);
        }
    }

    /// <summary>Starts every silo and waits until each is Active in the cluster.</summary>
    public async Task StartAsync(TimeSpan timeout)
    {
        foreach (var silo in _silos)
        {
            silo.Start();
        }

        await Task.WhenAll(_silos.Select(s => s.WaitReadyAsync(Http, timeout)));
    }

    /// <summary>A client of the HTTP API of <paramref name="silo"/>.</summary>
    public ShardsClient Client(SiloProcess silo) => new(new HttpClient { BaseAddress = silo.Address, Timeout = TimeSpan.FromSeconds(60) });

    /// <summary>An Orleans client through the gateways of the silos still running (static list).</summary>
    public async Task<IClusterClient> OrleansAsync()
    {
        if (_orleans is null)
        {
            var gateways = _silos.Where(s => s.Running).Select(s => new IPEndPoint(IPAddress.Loopback, s.GatewayPort)).ToArray();
            _orleans = new HostBuilder()
                .UseOrleansClient(client =>
                {
                    client.UseStaticClustering(gateways);
                    client.Configure<ClusterOptions>(o =>
                    {
                        o.ClusterId = ClusterId;
                        o.ServiceId = "orleans-shards";
                    });
                })
                .Build();
            await _orleans.StartAsync();
        }

        return _orleans.Services.GetRequiredService<IClusterClient>();
    }

    /// <summary>A separate Orleans client that talks to the cluster only through <paramref name="silo"/>'s gateway.</summary>
    public async Task<IClusterClient> OrleansThroughAsync(SiloProcess silo)
    {
        var host = new HostBuilder()
            .UseOrleansClient(client =>
            {
                client.UseStaticClustering(new IPEndPoint(IPAddress.Loopback, silo.GatewayPort));
                client.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = ClusterId;
                    o.ServiceId = "orleans-shards";
                });
            })
            .Build();
        await host.StartAsync();
        _clients.Add(host);
        return host.Services.GetRequiredService<IClusterClient>();
    }

    /// <summary>The silo where the job's grain is active now.</summary>
    public async Task<SiloProcess> HostOfJobAsync(string jobId)
    {
        var orleans = await OrleansAsync();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var address = await orleans.GetGrain<IManagementGrain>(0).GetActivationAddress(orleans.GetGrain<IJobGrain>(jobId));
            if (address is not null)
            {
                return _silos.Single(s => s.SiloPort == address.Endpoint.Port);
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the job {jobId} has no activation after 60 s");
            await Task.Delay(100);
        }
    }

    /// <summary>The statuses of every silo as the membership of the silo behind <paramref name="gateway"/> sees them.</summary>
    public static async Task<Dictionary<int, SiloStatus>> MembershipSeenByAsync(IClusterClient gateway) =>
        (await gateway.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: false))
        .GroupBy(h => h.Key.Endpoint.Port)
        .ToDictionary(g => g.Key, g => g.OrderByDescending(h => h.Key.Generation).First().Value);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var client in _orleans is null ? _clients : [_orleans, .. _clients])
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await client.StopAsync(stop.Token);
            }
            catch (OperationCanceledException)
            {
                // Its gateways are gone.
            }

            client.Dispose();
        }

        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
            TestContext.Current.TestOutputHelper?.WriteLine(silo.Tail(40));
        }

        Http.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A temp directory left behind.
        }
    }
}

/// <summary>
/// Workers of a job over the HTTP API of any silo of a list: each leases, reads every record of its tasks, reports
/// them done, and on an error of a silo (gone, or not ready) moves on to the next one. Remembers the ids of the
/// records of every task whose report the server acknowledged.
/// </summary>
public sealed class JobWorkers(string jobId, IReadOnlyList<ShardsClient> silos, int workers)
{
    private readonly ConcurrentDictionary<long, int> _ids = new();
    private int _acknowledged;
    private int _errors;
    private string? _lastError;

    /// <summary>Reports the server acknowledged.</summary>
    public int Acknowledged => Volatile.Read(ref _acknowledged);

    /// <summary>Calls that failed and were tried again elsewhere (a silo went away).</summary>
    public int Errors => Volatile.Read(ref _errors);

    /// <summary>Every id read in an acknowledged task.</summary>
    public IReadOnlyCollection<long> Ids => [.. _ids.Keys];

    /// <summary>Runs the workers until the job is completed or <paramref name="timeout"/> passes.</summary>
    public Task RunAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(w => WorkAsync($"worker-{w}", w, timeout, cancellationToken)));

    private async Task WorkAsync(string workerId, int first, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var next = first;
        while (true)
        {
            Assert.True(clock.Elapsed < timeout, $"{workerId}: the job was not completed after {timeout.TotalSeconds:F0} s ({Acknowledged} reports acknowledged, {Errors} errors, the last: {Volatile.Read(ref _lastError) ?? "none"})");
            cancellationToken.ThrowIfCancellationRequested();
            var silo = silos[next % silos.Count];
            try
            {
                var batch = await silo.LeaseAsync(jobId, workerId, maxTasks: 2, cancellationToken: cancellationToken);
                if (batch.State == JobStates.Completed)
                {
                    return;
                }

                if (batch.Leases.Count == 0)
                {
                    await Task.Delay(Math.Clamp(batch.RetryAfterMs ?? 100, 20, 500), cancellationToken);
                    continue;
                }

                foreach (var lease in batch.Leases)
                {
                    var ids = await ReadAsync(silo, lease.TaskId, cancellationToken);
                    if (await ReportAsync(new TaskReport(lease.TaskId, lease.LeaseId, workerId, Done: true), next, cancellationToken))
                    {
                        foreach (var id in ids)
                        {
                            _ids.TryAdd(id, 0);
                        }

                        Interlocked.Increment(ref _acknowledged);
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ShardsApiException { Status: >= 500 or 404 or 409 } && !cancellationToken.IsCancellationRequested)
            {
                // The silo went away, its grains are moving, or the lease went stale with it: next silo, lease again.
                Interlocked.Increment(ref _errors);
                Volatile.Write(ref _lastError, $"silo{next % silos.Count}: {e.GetType().Name}: {e.Message}");
                next++;
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Reports until a silo answers, as a worker must: a report whose answer was lost (its silo went away) may have
    /// been recorded, and then its task is never offered again; the same report again is a duplicate, not an error.
    /// </summary>
    private async Task<bool> ReportAsync(TaskReport report, int first, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        for (var attempt = 0; ; attempt++)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"no silo answered the report of {report.TaskId} for 2 minutes; the last error: {Volatile.Read(ref _lastError)}");
            try
            {
                var answer = await silos[(first + attempt) % silos.Count].ReportAsync(jobId, report, cancellationToken);
                return answer.Accepted || answer.Duplicate;
            }
            catch (ShardsApiException e) when (e.Status is 404 or 409)
            {
                // The lease is no longer the job's (expired and handed out again): the task is someone else's now.
                return false;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ShardsApiException { Status: >= 500 } && !cancellationToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref _errors);
                Volatile.Write(ref _lastError, $"silo{(first + attempt) % silos.Count} (report): {e.GetType().Name}: {e.Message}");
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    private async Task<List<long>> ReadAsync(ShardsClient silo, string taskId, CancellationToken cancellationToken)
    {
        var ids = new List<long>();
        long offset = 0;
        while (true)
        {
            using var page = await silo.GetRecordsAsync(jobId, taskId, offset, cancellationToken: cancellationToken);
            foreach (var record in page.Records.EnumerateArray())
            {
                var id = record.GetProperty("id");
                ids.Add(id.ValueKind == JsonValueKind.Number ? id.GetInt64() : long.Parse(id.GetString()!, System.Globalization.CultureInfo.InvariantCulture));
            }

            if (page.NextOffset is not { } nextOffset)
            {
                return ids;
            }

            offset = nextOffset;
        }
    }

    /// <summary>A job over <paramref name="file"/>: one epoch, strict durability, short leases so that a lost worker's tasks return soon.</summary>
    public static JobSpec Spec(string jobId, string file, int shardSize) => new()
    {
        Id = jobId,
        Source = new SourceSpec { Kind = "csv", Paths = [file], Header = true },
        ShardSize = shardSize,
        Epochs = 1,
        Shuffle = true,
        Seed = 11,
        LeaseTimeoutSeconds = 10,
        MaxAttempts = 100,
        Durability = JobSpec.Strict,
    };
}
