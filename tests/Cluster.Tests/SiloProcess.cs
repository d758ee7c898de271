using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace OrleansShards.Cluster.Tests;

/// <summary>
/// One silo as a real OS process: <c>dotnet OrleansShards.Silo.dll</c> as built beside these tests
/// (<c>src/Silo/bin/&lt;configuration&gt;/net10.0</c>), on loopback and free ports, its output in a log file.
/// Disposing kills it if it still runs, so a failing test leaves no process behind.
/// </summary>
public sealed partial class SiloProcess : IAsyncDisposable
{
    private readonly List<string> _arguments;
    private readonly Dictionary<string, string> _environment;
    private readonly Lock _logLock = new();
    private Process? _process;
    private StreamWriter? _log;

    /// <summary>Prepares (does not start) a silo named <paramref name="name"/> with its own ports and <paramref name="arguments"/> appended.</summary>
    public SiloProcess(string name, string workDir, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        Name = name;
        LogFile = Path.Combine(workDir, name + ".log");
        _environment = environment?.ToDictionary() ?? [];
        _arguments =
        [
            "--urls", $"http://127.0.0.1:{HttpPort}",
            $"--Shards:SiloPort={SiloPort}",
            $"--Shards:GatewayPort={GatewayPort}",
            .. arguments,
        ];
    }

    /// <summary>The name in messages and the log file name.</summary>
    public string Name { get; }

    /// <summary>The HTTP API port.</summary>
    public int HttpPort { get; } = FreePort();

    /// <summary>The silo-to-silo port.</summary>
    public int SiloPort { get; } = FreePort();

    /// <summary>The client gateway port.</summary>
    public int GatewayPort { get; } = FreePort();

    /// <summary>The HTTP API's base address.</summary>
    public Uri Address => new($"http://127.0.0.1:{HttpPort}/");

    /// <summary>Where stdout and stderr go.</summary>
    public string LogFile { get; }

    /// <summary>Whether the process runs.</summary>
    public bool Running => _process is { HasExited: false };

    /// <summary>The process id.</summary>
    public int Pid => _process?.Id ?? throw new InvalidOperationException($"{Name} was not started");

    /// <summary>The silo executable built with these tests.</summary>
    public static string SiloDll { get; } = FindSiloDll();

    /// <summary>The repository root (the directory of OrleansShards.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Starts the process.</summary>
    public void Start()
    {
        Assert.True(File.Exists(SiloDll), $"the silo executable {SiloDll} is missing: build src/Silo in the configuration of the tests");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(LogFile)!,
        };
        start.ArgumentList.Add(SiloDll);
        foreach (var argument in _arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Workstation GC: two silos and the tests share two cores.
        start.Environment["DOTNET_gcServer"] = "0";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }

        _log = new StreamWriter(LogFile, append: true) { AutoFlush = true };
        _process = Process.Start(start) ?? throw new InvalidOperationException($"{Name} did not start");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Waits until <c>/readyz</c> answers 200 (the silo is Active in its cluster).</summary>
    public async Task WaitReadyAsync(HttpClient http, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (!Running)
            {
                Assert.Fail($"{Name} exited with {_process?.ExitCode} before it was ready:\n{Tail()}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(Address, "readyz"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"{Name} was not ready after {timeout.TotalSeconds:F0} s:\n{Tail()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL: no shutdown, no goodbye to the membership table.</summary>
    public void Kill()
    {
        _process!.Kill();
        _process.WaitForExit();
    }

    /// <summary>SIGTERM: what Kubernetes sends to stop a pod.</summary>
    public void Terminate()
    {
        if (SendSignal(Pid, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill({Pid}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Waits for the process to exit and returns its exit code, or <see langword="null"/> if it still runs after <paramref name="timeout"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process!.WaitForExitAsync(cancel.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>The last lines of the log, for failure messages.</summary>
    public string Tail(int lines = 60)
    {
        lock (_logLock)
        {
            try
            {
                using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var reader = new StreamReader(stream);
                var all = reader.ReadToEnd().Split('\n');
                return $"--- {Name} ({LogFile}), last {lines} lines ---\n" + string.Join('\n', all.TakeLast(lines));
            }
            catch (IOException e)
            {
                return $"--- {Name}: no log ({e.Message}) ---";
            }
        }
    }

    /// <summary>The whole log.</summary>
    public string Log()
    {
        lock (_logLock)
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return reader.ReadToEnd();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync();
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            _process.Dispose();
        }

        lock (_logLock)
        {
            _log?.Dispose();
            _log = null;
        }
    }

    /// <summary>A TCP port on loopback that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logLock)
        {
            _log?.WriteLine(line);
        }
    }

    private const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansShards.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no OrleansShards.sln above {AppContext.BaseDirectory}");
    }

    private static string FindSiloDll()
    {
        // The tests run from tests/Cluster.Tests/bin/<configuration>/<framework>/: the silo was built in the same configuration.
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = framework.Parent?.Name ?? "Debug";
        return Path.Combine(FindRepoRoot(), "src", "Silo", "bin", configuration, framework.Name, "OrleansShards.Silo.dll");
    }

    /// <summary>Formats an integer for a command line.</summary>
    public static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
