using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using OrleansShards.Client;
using OrleansShards.Silo;

namespace OrleansShards.Tests.Servers;

/// <summary>The real server (as tests/Silo.Tests has it): Kestrel on a loopback port, the silo, SQLite state in a temporary directory.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const int NumbersRows = 3_000;

    private WebApplication? _app;

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "shards-cli-" + Guid.NewGuid().ToString("N")[..8]);

    public string DataDir => Path.Combine(Root, "data");

    public Uri Address { get; private set; } = null!;

    public ShardsClient Client { get; private set; } = null!;

    private HttpClient Http { get; set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(DataDir);
        WriteCsv("numbers.csv", NumbersRows);
        _app = ShardsServer.Build(
            [
                "--urls", "http://127.0.0.1:0",
                $"--Shards:DataDir={DataDir}",
                $"--Shards:SiloPort={FreePort()}",
                $"--Shards:GatewayPort={FreePort()}",
            ],
            builder => builder.Logging.SetMinimumLevel(LogLevel.Warning));
        await _app.StartAsync();
        Address = _app.ListeningAddress();
        Http = new HttpClient { BaseAddress = Address };
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

    /// <summary>A scratch file under the fixture's directory (outside the data roots).</summary>
    public string File(string name, string content)
    {
        var path = Path.Combine(Root, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    private void WriteCsv(string name, int rows)
    {
        var text = new StringBuilder("id,name,comment\n");
        for (var id = 0; id < rows; id++)
        {
            text.Append(id).Append(",name ").Append(id).Append(',').Append(id % 11 == 0 ? "\"multi\nline, \"\"quoted\"\"\"" : "plain").Append('\n');
        }

        System.IO.File.WriteAllText(Path.Combine(DataDir, name), text.ToString());
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
