using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using OrleansShards.Client;
using OrleansShards.Silo;

namespace OrleansShards.Silo.Tests;

/// <summary>The real server: Kestrel on a loopback port, the silo, SQLite state in a temporary directory.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "shards-http-" + Guid.NewGuid().ToString("N")[..8]);

    public string DataDir => Path.Combine(Root, "data");

    public HttpClient Http { get; private set; } = null!;

    public ShardsClient Client { get; private set; } = null!;

    /// <summary>The server's services (the log store, options), for what no route exposes.</summary>
    public IServiceProvider Services => _app!.Services;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(DataDir);
        WriteCsv("numbers.csv", 30_000);
        WriteCsv("small.csv", 2_500);
        _app = ShardsServer.Build(
            [
                "--urls", "http://127.0.0.1:0",
                $"--Shards:DataDir={DataDir}",
                $"--Shards:SiloPort={FreePort()}",
                $"--Shards:GatewayPort={FreePort()}",
            ],
            builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
        await _app.StartAsync();
        Http = new HttpClient { BaseAddress = _app.ListeningAddress() };
        Client = new ShardsClient(Http);
    }

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
        }
    }

    private void WriteCsv(string name, int rows)
    {
        var text = new StringBuilder("id,name,comment\n");
        for (var id = 0; id < rows; id++)
        {
            text.Append(id).Append(",name ").Append(id).Append(',').Append(id % 11 == 0 ? "\"multi\nline, \"\"quoted\"\"\"" : "plain").Append('\n');
        }

        File.WriteAllText(Path.Combine(DataDir, name), text.ToString());
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
