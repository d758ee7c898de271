using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using OrleansShards.Tests.Sql;

namespace OrleansShards.Silo.Tests;

/// <summary>
/// The real server with authentication on: an admin and a worker token in configuration, a producer and a
/// reader token in a token file (JSON), everything logged captured at every level (Orleans' own chatter at
/// Information) so tests can look for tokens in it.
/// </summary>
public sealed class SecuredServerFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public const string AdminToken = "admin-7d0c9a1e4b5f4c2aa1d3";
    public const string WorkerToken = "worker-5b2e8f7c1d9a4e6fb0c4";
    public const string ProducerToken = "producer-3f9a6c2e8b1d4a7ec5e2";
    public const string ReaderToken = "reader-9e4b1a7d3c6f4b2ad8f1";

    public static IReadOnlyDictionary<string, string> TokenOf { get; } = new Dictionary<string, string>
    {
        ["admin"] = AdminToken,
        ["worker"] = WorkerToken,
        ["producer"] = ProducerToken,
        ["reader"] = ReaderToken,
    };

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "shards-auth-" + Guid.NewGuid().ToString("N")[..8]);

    public string DataDir => Path.Combine(Root, "data");

    public string TokensFile => Path.Combine(Root, "secrets", "tokens.json");

    public CapturedLogs Logs { get; } = new();

    public Uri Address { get; private set; } = null!;

    /// <summary>A client that sends no token.</summary>
    public HttpClient Anonymous { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(DataDir);
        Directory.CreateDirectory(Path.GetDirectoryName(TokensFile)!);
        File.WriteAllText(TokensFile, $$"""
            {"tokens": [
              {"token": "{{ProducerToken}}", "role": "producer", "name": "ingest"},
              {"token": "{{ReaderToken}}", "role": "Reader"}
            ]}
            """);
        var text = new StringBuilder("id,name\n");
        for (var id = 0; id < 3_000; id++)
        {
            text.Append(id).Append(",name ").Append(id).Append('\n');
        }

        File.WriteAllText(Path.Combine(DataDir, "small.csv"), text.ToString());
        _app = ShardsServer.Build(
            [
                "--urls", "http://127.0.0.1:0",
                $"--Shards:DataDir={DataDir}",
                $"--Shards:SiloPort={FreePort()}",
                $"--Shards:GatewayPort={FreePort()}",
                $"--Shards:Auth:Tokens:0:Token={AdminToken}",
                "--Shards:Auth:Tokens:0:Role=admin",
                "--Shards:Auth:Tokens:0:Name=operator",
                $"--Shards:Auth:Tokens:1:Token={WorkerToken}",
                "--Shards:Auth:Tokens:1:Role=worker",
                $"--Shards:Auth:TokensFile={TokensFile}",
            ],
            builder =>
            {
                builder.Logging.ClearProviders();
                builder.Logging.SetMinimumLevel(LogLevel.Trace);
                builder.Logging.AddFilter("Orleans", LogLevel.Information);
                builder.Logging.AddFilter("Microsoft.Orleans", LogLevel.Information);
                builder.Logging.AddProvider(Logs);
            });
        await _app.StartAsync();
        Address = _app.ListeningAddress();
        Anonymous = new HttpClient { BaseAddress = Address };
    }

    /// <summary>A client that sends <paramref name="token"/> as a bearer token.</summary>
    public HttpClient As(string token)
    {
        var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>A client of <paramref name="role"/>'s token.</summary>
    public HttpClient AsRole(string role) => As(TokenOf[role]);

    public async ValueTask DisposeAsync()
    {
        Anonymous?.Dispose();
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

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
