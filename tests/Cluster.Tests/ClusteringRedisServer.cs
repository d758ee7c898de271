using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

[assembly: AssemblyFixture(typeof(OrleansShards.Cluster.Tests.ClusteringRedisServer))]

namespace OrleansShards.Cluster.Tests;

/// <summary>
/// A real <c>redis-server</c> (Debian's package) on 127.0.0.1 and a free port, without persistence, in a temporary
/// directory; stopped at the end. Without the binary a test that needs it fails when <c>CI</c> is set and is skipped
/// loudly otherwise (<see cref="Require"/>).
/// </summary>
public sealed class ClusteringRedisServer : IAsyncLifetime
{
    private Process? _process;

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; private set; }

    /// <summary>The StackExchange.Redis configuration string.</summary>
    public string Connection => $"127.0.0.1:{Port}";

    /// <summary>The server's directory.</summary>
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "shards-redis-cl-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>Why the server is not there, or <see langword="null"/> when it runs.</summary>
    public string? Problem { get; private set; }

    /// <summary>Skips the calling test (fails it under CI) when the server could not be started.</summary>
    public void Require()
    {
        if (Problem is null)
        {
            return;
        }

        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Fail($"{Problem} (CI is set, so this is a failure, not a skip)");
        }

        Assert.Skip(Problem);
    }

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        var server = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':')
            .Select(d => Path.Combine(d, "redis-server"))
            .FirstOrDefault(File.Exists);
        if (server is null)
        {
            Problem = "redis-server not installed: apt-get install redis-server";
            return;
        }

        Directory.CreateDirectory(Root);
        Port = SiloProcess.FreePort();
        var start = new ProcessStartInfo(server)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Root,
        };
        foreach (var argument in (string[])["--bind", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no", "--dir", Root, "--logfile", Path.Combine(Root, "redis.log")])
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start);
        if (_process is null)
        {
            Problem = $"{server} did not start";
            return;
        }

        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var socket = new TcpClient();
                await socket.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(30) && !_process.HasExited)
            {
                await Task.Delay(50);
            }
            catch (SocketException)
            {
                Problem = $"redis-server did not listen on {Connection} within 30 s (exited: {_process.HasExited})";
                return;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
