// Recovery bench: SIGKILL of the silo process that hosts a job's JobGrain, and the time until a surviving
// silo serves a lease of that job again, over HTTP, on Redis clustering (and Azure Table clustering on Azurite
// with --clustering azuretable). See README.md.
// dotnet run -c Release --project bench/Recovery.Bench -- [--runs 5] [--default-runs 1] [--silos 2] [--settle 20] [--timeout 120] [--clustering redis|azuretable]... [--silo-arg ARG]... [--no-build] [--keep]
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using OrleansShards.Client;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Recovery.Bench;
using OrleansShards.Silo.Hosting;
using OrleansShards.Testing.Servers;

var options = BenchOptions.Parse(args);
if (options is null)
{
    return 2;
}

Console.WriteLine("command: dotnet run -c Release --project bench/Recovery.Bench --" + (args.Length == 0 ? "" : " " + string.Join(' ', args)));
Console.WriteLine($"process: {Environment.CommandLine}");
Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cpus, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => Processes.KillAll();

var repo = FindRepo();
var work = Path.Combine(Path.GetTempPath(), $"recovery-bench-{Environment.ProcessId}");
var dataDir = Path.Combine(work, "data");
var logDir = Path.Combine(work, "logs");
Directory.CreateDirectory(dataDir);
Directory.CreateDirectory(logDir);
try
{
    return await RunAsync();
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    Console.WriteLine("cancelled");
    return 130;
}
finally
{
    Processes.KillAll();
    if (!options.Keep)
    {
        try
        {
            Directory.Delete(work, recursive: true);
        }
        catch (IOException)
        {
            // Left behind: a temp directory.
        }
    }
    else
    {
        Console.WriteLine($"kept {work} (silo logs under logs/)");
    }
}

async Task<int> RunAsync()
{
    if (options.Build)
    {
        Console.WriteLine("building: dotnet build -c Release src/Silo");
        using var build = Process.Start(new ProcessStartInfo("dotnet", ["build", "-c", "Release", "-nologo", "-v", "q", Path.Combine(repo, "src", "Silo")])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
        })!;
        var output = await build.StandardOutput.ReadToEndAsync(stop.Token);
        await build.WaitForExitAsync(stop.Token);
        if (build.ExitCode != 0)
        {
            Console.WriteLine(output);
            throw new InvalidOperationException("the silo did not build");
        }
    }

    var siloDll = Path.Combine(repo, "src", "Silo", "bin", "Release", "net10.0", "OrleansShards.Silo.dll");
    // The membership tables: redis-server, and Azurite's table service (npm, .ci/tools) for Azure Table clustering.
    var clusterings = new List<(string Name, string[] SiloArgs, Action<IClientBuilder> Client)>();
    await using var servers = new ServerList();
    foreach (var clustering in options.Clusterings)
    {
        switch (clustering)
        {
            case SiloHostOptions.RedisClustering:
                var redis = await RedisServer.StartAsync(work);
                Console.WriteLine($"redis-server on {redis.Connection}; work dir {work}");
                clusterings.Add((clustering, ["--Shards:Clustering=redis", $"--Shards:RedisConnection={redis.Connection}"], c => c.UseRedisClustering(redis.Connection)));
                break;
            case SiloHostOptions.AzureTableClustering:
                var table = servers.Add(await LocalServers.StartAzuriteTableAsync());
                var connection = LocalServers.AzuriteTableConnectionString(table.Port);
                Console.WriteLine($"azurite-table on 127.0.0.1:{table.Port}");
                clusterings.Add((clustering, ["--Shards:Clustering=azuretable", $"--Shards:ClusteringConnectionString={connection}"],
                    c => c.UseAzureStorageClustering(o => o.TableServiceClient = new Azure.Data.Tables.TableServiceClient(connection))));
                break;
            default:
                throw new InvalidOperationException($"--clustering {clustering}: the bench runs 'redis' and 'azuretable'");
        }
    }

    // One small CSV: 20,000 shards of one row an epoch, so that no epoch ends (and drains) during the bench;
    // leases that the killed silo handed out and nobody reported stay in flight until their timeout.
    await File.WriteAllLinesAsync(Path.Combine(dataDir, "rows.csv"), ["id,value", .. Enumerable.Range(0, 20_000).Select(i => $"{i},{i * 7}")]);
    var spec = new JobSpec
    {
        Id = "recovery",
        Source = new SourceSpec { Kind = "csv", Paths = ["rows.csv"], Header = true },
        ShardSize = 1,
        Epochs = 100,
        Shuffle = true,
        Seed = 7,
        LeaseTimeoutSeconds = 30,
        MaxAttempts = 1000,
        Durability = JobSpec.Strict,
    };

    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds),
    };
    var silos = Enumerable.Range(0, options.Silos).Select(i => new SiloProcess(i, siloDll, dataDir, logDir)).ToList();
    var ledger = new Ledger();
    var phases = new List<(string Name, List<RunResult> Runs)>();

    var shipped = new ClusterMembershipOptions();
    new MembershipSettings().Apply(shipped);
    var phaseList = new List<(string Name, string Settings, string[] SiloArgs, Action<IClientBuilder> Client, int Runs)>();
    foreach (var (clustering, clusteringArgs, clientClustering) in clusterings)
    {
        // The shipped phase keeps its old name on redis, so earlier outputs compare line by line.
        var suffix = clustering == SiloHostOptions.RedisClustering ? "" : "/" + clustering;
        phaseList.Add(("shipped" + suffix, Describe(shipped) + (options.SiloArgs.Count > 0 ? " + " + string.Join(' ', options.SiloArgs) : ""), [.. clusteringArgs, .. options.SiloArgs], clientClustering, options.Runs));
        if (options.DefaultRuns > 0)
        {
            phaseList.Add(("orleans-defaults" + suffix, Describe(new ClusterMembershipOptions()), [.. clusteringArgs, "--Shards:Membership:UseOrleansDefaults=true"], clientClustering, options.DefaultRuns));
        }
    }

    foreach (var (name, settings, siloArgs, clientClustering, runs) in phaseList)
    {
        // A cluster id per phase: the silos of the phase before were killed, and their rows stay in the table.
        var clusterId = $"recovery-{name.Replace('/', '-')}-{Environment.ProcessId}";
        Console.WriteLine();
        Console.WriteLine($"== {name}: {options.Silos} silo processes, cluster {clusterId}, membership {settings}");
        foreach (var silo in silos)
        {
            silo.Start(clusterId, siloArgs);
        }

        await Task.WhenAll(silos.Select(s => s.WaitReadyAsync(http, TimeSpan.FromSeconds(60))));
        Console.WriteLine("silos: " + string.Join(", ", silos.Select(s => $"{s.Name} http {s.HttpPort} silo {s.SiloPort} gateway {s.GatewayPort}")));
        await using var orleans = await OrleansClient.StartAsync(clientClustering, clusterId, new SiloHostOptions().ServiceId);
        var created = await new ShardsClient(new HttpClient { BaseAddress = silos[0].Address }).CreateJobAsync(spec, stop.Token);
        Console.WriteLine($"job {created.Id}: {created.Shards.Total} shards an epoch, {created.Epochs} epochs, strict durability, epoch {created.Epoch} now");
        Console.WriteLine($"settling {options.SettleSeconds.ToString(CultureInfo.InvariantCulture)} s before each kill (the probe period towards a peer adapts while it is up)");
        await Task.Delay(TimeSpan.FromSeconds(options.SettleSeconds), stop.Token);

        var results = new List<RunResult>();
        for (var run = 1; run <= runs; run++)
        {
            stop.Token.ThrowIfCancellationRequested();
            var result = await OneRunAsync(run, silos, orleans, http, ledger, spec.Id!, clusterId, siloArgs);
            results.Add(result);
            Console.WriteLine(result.Line());
        }

        phases.Add((name, results));
        foreach (var silo in silos)
        {
            if (silo.Running)
            {
                silo.Kill();
            }
        }
    }

    Console.WriteLine();
    Console.WriteLine("== summary: time from SIGKILL of the JobGrain's silo process to the first lease served through a survivor's HTTP port (probe every 10 ms)");
    foreach (var (name, runs) in phases)
    {
        var recovery = runs.Select(r => r.RecoveryMs).ToList();
        var worker = runs.Select(r => r.WorkerStallMs).ToList();
        Console.WriteLine($"{name,-28} runs {runs.Count}: recovery median {Median(recovery):F0} ms (min {recovery.Min():F0}, max {recovery.Max():F0}); " +
            $"sequential worker's first lease sent after the kill: median {Median(worker):F0} ms (max {worker.Max():F0})");
    }

    foreach (var (name, settings, _, _, _) in phaseList)
    {
        Console.WriteLine($"{name,-28} membership: {settings}");
    }

    Console.WriteLine($"anchor (ANCHORS.md): ~14 s with Orleans' defaults, ~0.7 s with probe timeout 1 s, 2 missed probes, table refresh 2 s");
    Console.WriteLine($"reports acknowledged to the workers: {ledger.Acknowledged:N0}; reports whose answer was lost: {ledger.Unanswered:N0}");
    var ok = phases.All(p => p.Runs.All(r => r.StateOk));
    Console.WriteLine(ok
        ? "state check passed: after every recovery the job had recorded every acknowledged report (done >= acknowledged, <= acknowledged + lost)"
        : "STATE CHECK FAILED: see the runs above");
    return ok ? 0 : 1;
}

async Task<RunResult> OneRunAsync(int run, List<SiloProcess> silos, OrleansClient orleans, HttpClient http, Ledger ledger, string jobId, string clusterId, string[] siloArgs)
{
    // Wake the job wherever it is placed, then ask the cluster where it lives.
    var any = new ShardsClient(new HttpClient { BaseAddress = silos[0].Address });
    await any.GetJobAsync(jobId, stop.Token);
    var port = await orleans.LocateAsync(jobId, stop.Token);
    var victim = silos.Single(s => s.SiloPort == port);
    var survivor = silos.First(s => s != victim);
    // No client retries: the probe times each request itself, and a retry inside the client would hide when the survivor answered.
    var client = new ShardsClient(new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512 }) { BaseAddress = survivor.Address, Timeout = http.Timeout }, new ShardsClientOptions { MaxRetryAttempts = 0 });
    var probe = new Probe(client, jobId, ledger);
    var worker = new Worker(client, jobId, ledger);
    using var load = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
    var probing = probe.RunAsync(load.Token);
    var working = worker.RunAsync(load.Token);
    await Task.Delay(TimeSpan.FromSeconds(1.5), stop.Token);
    var warm = probe.Attempts.Count(a => a.Ok);

    var killedAt = Stopwatch.GetTimestamp();
    var killedClock = DateTime.UtcNow;
    probe.MarkKill(killedAt);
    victim.Kill();

    var deadline = Task.Delay(TimeSpan.FromSeconds(options.TimeoutSeconds), stop.Token);
    var recoveredTask = await Task.WhenAny(probe.Recovered, deadline);
    if (recoveredTask != probe.Recovered)
    {
        await load.CancelAsync();
        throw new TimeoutException($"run {run}: no lease served through {survivor.Name} within {options.TimeoutSeconds} s of the kill; logs in {logDir}");
    }

    var recoveredAt = await probe.Recovered;
    await Task.Delay(TimeSpan.FromSeconds(0.5), stop.Token);
    await load.CancelAsync();
    await Task.WhenAll(probing, working);

    // What the probe saw between the kill and the recovery: failed answers, and how long the slowest of them took.
    var outage = probe.Attempts.Where(a => a.Sent >= killedAt && a.Done <= recoveredAt && !a.Ok).ToList();
    var kinds = outage.GroupBy(a => a.Outcome).OrderByDescending(g => g.Count()).Select(g => $"{g.Count()}x {g.Key}").ToList();
    var slowest = outage.Count == 0 ? 0 : outage.Max(a => Ms(a.Sent, a.Done));
    var hung = probe.Attempts.Where(a => a.Sent < killedAt && a.Done > killedAt).Select(a => Ms(a.Sent, a.Done)).DefaultIfEmpty(0).Max();
    var firstWorkerLease = worker.Leases.Where(a => a.Ok && a.Sent >= killedAt).Select(a => a.Done).DefaultIfEmpty(long.MaxValue).Min();
    var workerErrors = worker.Leases.Count(a => !a.Ok);

    var newPort = await orleans.LocateAsync(jobId, stop.Token);
    var status = await client.GetJobAsync(jobId, stop.Token);
    var done = (long)status.Epoch * status.Shards.Total + status.Shards.Done;
    var stateOk = done >= ledger.Acknowledged && done <= ledger.Acknowledged + ledger.Unanswered;

    // Bring the killed silo back and wait until it joined, for the next run.
    victim.Start(clusterId, siloArgs);
    await victim.WaitReadyAsync(http, TimeSpan.FromSeconds(60));
    await Task.Delay(TimeSpan.FromSeconds(options.SettleSeconds), stop.Token);

    return new RunResult(
        run, killedClock, victim.Name, survivor.Name, silos.SingleOrDefault(s => s.SiloPort == newPort)?.Name ?? $"port {newPort}",
        Ms(killedAt, recoveredAt), firstWorkerLease == long.MaxValue ? double.NaN : Ms(killedAt, firstWorkerLease),
        warm, outage.Count, kinds, slowest, hung, workerErrors, done, ledger.Acknowledged, ledger.Unanswered, stateOk);
}

static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}

static string Describe(ClusterMembershipOptions o) =>
    $"ProbeTimeout {o.ProbeTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s, NumMissedProbesLimit {o.NumMissedProbesLimit}, " +
    $"TableRefreshTimeout {o.TableRefreshTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s, " +
    $"DeathVoteExpirationTimeout {o.DeathVoteExpirationTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s, " +
    $"NumVotesForDeathDeclaration {o.NumVotesForDeathDeclaration}, NumProbedSilos {o.NumProbedSilos}, EnableIndirectProbes {o.EnableIndirectProbes}";

static string FindRepo()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "OrleansShards.sln")))
        {
            return dir.FullName;
        }
    }

    for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "OrleansShards.sln")))
        {
            return dir.FullName;
        }
    }

    throw new InvalidOperationException("OrleansShards.sln not found above the bench or the current directory");
}

internal sealed record RunResult(
    int Run, DateTime KilledClock, string Killed, string Survivor, string NowOn, double RecoveryMs, double WorkerStallMs, int WarmLeases,
    int OutageErrors, List<string> ErrorKinds, double SlowestErrorMs, double LongestHungMs, int WorkerErrors,
    long Done, long Acknowledged, long Unanswered, bool StateOk)
{
    public string Line() =>
        $"run {Run}: {KilledClock:HH:mm:ss.fff} UTC killed {Killed} (JobGrain host), probing {Survivor}: first lease {RecoveryMs:F0} ms after the kill; " +
        $"sequential worker's first lease sent after the kill {WorkerStallMs:F0} ms ({WorkerErrors} errors); job now on {NowOn}\n" +
        $"       during the outage: {OutageErrors} failed probes ({string.Join("; ", ErrorKinds.DefaultIfEmpty("none"))}), slowest failure {SlowestErrorMs:F0} ms, " +
        $"longest call in flight at the kill {LongestHungMs:F0} ms\n" +
        $"       job: {Done:N0} shards done; reports acknowledged {Acknowledged:N0}, lost {Unanswered:N0}: {(StateOk ? "consistent" : "INCONSISTENT")}; " +
        $"{WarmLeases} probe leases in the 1.5 s before the kill";
}

/// <summary>The bench's command line.</summary>
internal sealed record BenchOptions(int Runs, int DefaultRuns, int Silos, int TimeoutSeconds, double SettleSeconds, List<string> SiloArgs, List<string> Clusterings, bool Build, bool Keep)
{
    public static BenchOptions? Parse(string[] args)
    {
        var o = new BenchOptions(5, 1, 2, 120, 20, [], [], true, false);
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--runs": o = o with { Runs = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--default-runs": o = o with { DefaultRuns = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--silos": o = o with { Silos = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--timeout": o = o with { TimeoutSeconds = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--settle": o = o with { SettleSeconds = double.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--silo-arg": o.SiloArgs.Add(Next()); break;
                case "--clustering": o.Clusterings.Add(Next()); break;
                case "--no-build": o = o with { Build = false }; break;
                case "--keep": o = o with { Keep = true }; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}; see bench/Recovery.Bench/README.md");
                    return null;
            }
        }

        if (o.Clusterings.Count == 0)
        {
            o.Clusterings.Add(SiloHostOptions.RedisClustering);
        }

        if (o.Silos < 2)
        {
            Console.Error.WriteLine("--silos must be at least 2: one to kill, one to survive");
            return null;
        }

        return o;
    }
}

/// <summary>The servers the bench started (Azurite), stopped at the end.</summary>
internal sealed class ServerList : IAsyncDisposable
{
    private readonly List<ServerProcess> servers = [];

    public ServerProcess Add(ServerProcess server)
    {
        servers.Add(server);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in servers)
        {
            await server.DisposeAsync();
        }
    }
}

/// <summary>An Orleans client on the bench's cluster, only to ask where the JobGrain is activated.</summary>
internal sealed class OrleansClient : IAsyncDisposable
{
    private readonly IHost host;

    private OrleansClient(IHost host) => this.host = host;

    public static async Task<OrleansClient> StartAsync(Action<IClientBuilder> clustering, string clusterId, string serviceId)
    {
        var host = new HostBuilder()
            .UseOrleansClient(client =>
            {
                clustering(client);
                client.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = clusterId;
                    o.ServiceId = serviceId;
                });
            })
            .Build();
        await host.StartAsync();
        return new OrleansClient(host);
    }

    /// <summary>The silo port of the silo where the job's grain is activated (Orleans' grain directory).</summary>
    public async Task<int> LocateAsync(string jobId, CancellationToken cancellationToken)
    {
        var client = host.Services.GetRequiredService<IClusterClient>();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var address = await client.GetGrain<IManagementGrain>(0).GetActivationAddress(client.GetGrain<IJobGrain>(jobId));
                if (address is not null)
                {
                    return address.Endpoint.Port;
                }
            }
            catch (Exception e) when ((e is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException or Orleans.Runtime.Messaging.ConnectionFailedException) && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                // The client still knew a gateway that was killed (with Azure Table clustering its gateway list refreshes less often): try again.
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await host.StopAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Its gateways were killed.
        }

        host.Dispose();
    }
}
