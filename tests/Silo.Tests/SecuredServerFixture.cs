using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;
using OrleansShards.Tests.Servers;
using OrleansShards.Tests.Sql;

namespace OrleansShards.Silo.Tests;

/// <summary>
/// The real server with authentication on: an admin and a worker token in configuration, a producer and a
/// reader token in a token file (JSON), everything logged captured at every level (Orleans' own chatter at
/// Information) so tests can look for tokens in it.
/// </summary>
public sealed class SecuredServerFixture : InProcessServer
{
    public const string AdminToken = "admin-7d0c9a1e4b5f4c2aa1d3";
    public const string WorkerToken = "worker-5b2e8f7c1d9a4e6fb0c4";
    public const string ProducerToken = "producer-3f9a6c2e8b1d4a7ec5e2";
    public const string ReaderToken = "reader-9e4b1a7d3c6f4b2ad8f1";

    public SecuredServerFixture()
        : base("auth")
    {
    }

    public static IReadOnlyDictionary<string, string> TokenOf { get; } = new Dictionary<string, string>
    {
        ["admin"] = AdminToken,
        ["worker"] = WorkerToken,
        ["producer"] = ProducerToken,
        ["reader"] = ReaderToken,
    };

    public string TokensFile => Path.Combine(Root, "secrets", "tokens.json");

    public CapturedLogs Logs { get; } = new();

    /// <summary>A client that sends no token.</summary>
    public HttpClient Anonymous => Http;

    protected override IEnumerable<string> Settings =>
    [
        $"--Shards:Auth:Tokens:0:Token={AdminToken}",
        "--Shards:Auth:Tokens:0:Role=admin",
        "--Shards:Auth:Tokens:0:Name=operator",
        $"--Shards:Auth:Tokens:1:Token={WorkerToken}",
        "--Shards:Auth:Tokens:1:Role=worker",
        $"--Shards:Auth:TokensFile={TokensFile}",
    ];

    protected override Task PrepareAsync()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(TokensFile)!);
        System.IO.File.WriteAllText(TokensFile, $$"""
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

        System.IO.File.WriteAllText(Path.Combine(DataDir, "small.csv"), text.ToString());
        return Task.CompletedTask;
    }

    protected override void ConfigureLogging(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(LogLevel.Trace);
        logging.AddFilter("Orleans", LogLevel.Information);
        logging.AddFilter("Microsoft.Orleans", LogLevel.Information);
        logging.AddProvider(Logs);
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
}
