using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using OrleansShards.Client;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Tests.Servers;

/// <summary>
/// The real server for tests: Kestrel on a loopback port, the silo on free ports, its state and data in a temporary
/// directory removed at the end. Fixtures derive from it to add settings (<see cref="Settings"/>), data
/// (<see cref="PrepareAsync"/>) or logging (<see cref="ConfigureLogging"/>). Linked into every test project that runs one.
/// </summary>
public abstract class InProcessServer : IAsyncLifetime
{
    private WebApplication? _app;

    /// <summary>Creates the fixture; <paramref name="name"/> tags its temporary directory.</summary>
    protected InProcessServer(string name) => Root = Path.Combine(Path.GetTempPath(), $"shards-{name}-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>The temporary directory.</summary>
    public string Root { get; }

    /// <summary>The server's data directory (<c>Shards:DataDir</c>).</summary>
    public string DataDir => Path.Combine(Root, "data");

    /// <summary>The silo's gateway port, for Orleans clients.</summary>
    public int GatewayPort { get; } = FreePort();

    /// <summary>The address the HTTP API listens on.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>A client of the HTTP API that sends no token.</summary>
    public HttpClient Http { get; private set; } = null!;

    /// <summary>The typed client over <see cref="Http"/>.</summary>
    public ShardsClient Client { get; private set; } = null!;

    /// <summary>The server's services (the log store, options), for what no route exposes.</summary>
    public IServiceProvider Services => _app!.Services;

    /// <summary>Settings beyond the data directory and ports, as <c>--Key=value</c> arguments.</summary>
    protected virtual IEnumerable<string> Settings => [];

    /// <summary>Writes what the server needs before it starts (data files, token files).</summary>
    protected virtual Task PrepareAsync() => Task.CompletedTask;

    /// <summary>The server's logging: warnings and above unless a fixture wants more.</summary>
    protected virtual void ConfigureLogging(ILoggingBuilder logging) => logging.SetMinimumLevel(LogLevel.Warning);

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(DataDir);
        await PrepareAsync();
        _app = ShardsServer.Build(
            [
                "--urls", "http://127.0.0.1:0",
                $"--Shards:DataDir={DataDir}",
                $"--Shards:SiloPort={FreePort()}",
                $"--Shards:GatewayPort={GatewayPort}",
                .. Settings,
            ],
            builder => ConfigureLogging(builder.Logging));
        await _app.StartAsync();
        Address = _app.ListeningAddress();
        Http = new HttpClient { BaseAddress = Address };
        Client = new ShardsClient(Http);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a closing server must not fail the tests that already passed.
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>A scratch file under the fixture's directory (outside the data roots).</summary>
    public string File(string name, string content)
    {
        var path = Path.Combine(Root, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    /// <summary>Writes <c>id,name,comment</c> rows with ids <c>[0, rows)</c> into the data directory, some with quoted line breaks.</summary>
    public void WriteCsv(string name, int rows)
    {
        var text = new StringBuilder("id,name,comment\n");
        for (var id = 0; id < rows; id++)
        {
            text.Append(id).Append(",name ").Append(id).Append(',').Append(id % 11 == 0 ? "\"multi\nline, \"\"quoted\"\"\"" : "plain").Append('\n');
        }

        System.IO.File.WriteAllText(Path.Combine(DataDir, name), text.ToString());
    }

    /// <summary>A free TCP port on the loopback interface.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
