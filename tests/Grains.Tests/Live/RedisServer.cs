using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OrleansShards.Grains.Tests.Live;

/// <summary>
/// A real redis-server on a free loopback port, without persistence, started for the tests and killed after.
/// Without the binary a test that needs it fails when <c>CI</c> is set, and is skipped loudly otherwise.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private Process? _process;

    public int Port { get; private set; }

    public string Connection => $"127.0.0.1:{Port}";

    public string? Problem { get; private set; }

    public async ValueTask InitializeAsync()
    {
        var binary = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);
        if (binary is null)
        {
            Problem = "redis-server is not installed (apt-get install -y redis-server): the Redis Streams tests cannot run";
            return;
        }

        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        _process = Process.Start(new ProcessStartInfo(binary, ["--bind", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        });
        _process!.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var socket = new TcpClient();
                await socket.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (clock.Elapsed < TimeSpan.FromSeconds(15))
            {
                await Task.Delay(20);
            }
        }
    }

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

    public ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        return ValueTask.CompletedTask;
    }
}
