using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OrleansShards.Recovery.Bench;

/// <summary>Every process this bench starts, so that all of them end with it (normal end, exception, Ctrl-C).</summary>
internal static class Processes
{
    private static readonly List<Process> Started = [];

    public static Process Start(string shellCommand, string workingDirectory)
    {
        // `exec` keeps the PID: Kill() then sends SIGKILL to the program itself, not to a shell around it.
        var info = new ProcessStartInfo("/bin/sh", ["-c", "exec " + shellCommand])
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start: {shellCommand}");
        lock (Started)
        {
            Started.Add(process);
        }

        return process;
    }

    public static void KillAll()
    {
        lock (Started)
        {
            foreach (var process in Started)
            {
                try
                {
                    if (!process.HasExited)
                    {
                        process.Kill(entireProcessTree: true);
                        process.WaitForExit(5000);
                    }
                }
                catch (InvalidOperationException)
                {
                    // Already gone.
                }
            }

            Started.Clear();
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}

/// <summary>A redis-server on a free loopback port, with no persistence, in its own temporary directory.</summary>
internal sealed class RedisServer
{
    private RedisServer(int port) => Port = port;

    public int Port { get; }

    public string Connection => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync(string workDir)
    {
        if (!OnPath("redis-server"))
        {
            Console.WriteLine("redis-server is missing: apt-get update && apt-get install -y redis-server");
            await RunAsync("apt-get", "update -qq");
            await RunAsync("apt-get", "install -y -qq redis-server");
        }

        var dir = Path.Combine(workDir, "redis");
        Directory.CreateDirectory(dir);
        var port = Processes.FreePort();
        Processes.Start($"redis-server --bind 127.0.0.1 --port {port} --save '' --appendonly no --dir {Processes.Quote(dir)} --logfile {Processes.Quote(Path.Combine(dir, "redis.log"))}", dir);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var socket = new TcpClient();
                await socket.ConnectAsync(IPAddress.Loopback, port);
                return new RedisServer(port);
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(20);
            }
        }
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, program)));

    private static async Task RunAsync(string program, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { UseShellExecute = false })
            ?? throw new InvalidOperationException($"could not start {program}");
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {arguments} exited with {process.ExitCode}");
        }
    }
}

/// <summary>One silo: a separate OS process running the server's DLL; the clustering comes with the arguments of each start.</summary>
internal sealed class SiloProcess(int index, string siloDll, string dataDir, string logDir)
{
    private Process? process;
    private int starts;

    public int Index { get; } = index;

    public int HttpPort { get; } = Processes.FreePort();

    public int SiloPort { get; } = Processes.FreePort();

    public int GatewayPort { get; } = Processes.FreePort();

    public Uri Address => new($"http://127.0.0.1:{HttpPort}/");

    public string Name => $"silo{Index}";

    public bool Running => process is { HasExited: false };

    public string LogFile => Path.Combine(logDir, $"{Name}.{starts}.log");

    public void Start(string clusterId, IReadOnlyList<string> extraArgs)
    {
        starts++;
        var arguments = new List<string>
        {
            "dotnet", siloDll,
            "--urls", $"http://127.0.0.1:{HttpPort}",
            $"--Shards:DataDir={dataDir}",
            $"--Shards:ClusterId={clusterId}",
            // One state file and one log file for the silos of this host: the per-silo defaults are refused under a multi-silo clustering.
            $"--Shards:SqliteFile={Path.Combine(dataDir, "state", "shards.db")}",
            $"--Shards:LogStore:File={Path.Combine(dataDir, "state", "log.db")}",
            $"--Shards:SiloPort={SiloPort}",
            $"--Shards:GatewayPort={GatewayPort}",
        };
        arguments.AddRange(extraArgs);
        process = Processes.Start(string.Join(' ', arguments.Select(Processes.Quote)) + " > " + Processes.Quote(LogFile) + " 2>&1", dataDir);
    }

    /// <summary>SIGKILL: no shutdown, no goodbye to the membership table.</summary>
    public void Kill()
    {
        process!.Kill();
        process.WaitForExit();
    }

    public async Task WaitReadyAsync(HttpClient http, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (!Running)
            {
                throw new InvalidOperationException($"{Name} exited with {process?.ExitCode}; see {LogFile}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(Address, "readyz"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{Name} was not ready after {timeout.TotalSeconds:F0} s; see {LogFile}");
            }

            await Task.Delay(50);
        }
    }
}
