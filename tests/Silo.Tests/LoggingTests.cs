using Microsoft.Extensions.Logging;
using OrleansShards.Silo.Hosting;
using OrleansShards.Tests.Servers;
using OrleansShards.Tests.Sql;

namespace OrleansShards.Silo.Tests;

/// <summary>What a real server writes to its log by default, with request logging on, and the Watchdog filter.</summary>
public sealed class LoggingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("shards-logging-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task By_default_the_log_holds_one_banner_and_no_request_or_orleans_information()
    {
        var logs = await RunServerAsync(requestLogging: false);

        var banners = logs.Where(e => e.Contains("OrleansShards.Silo.Hosting.StartupBanner", StringComparison.Ordinal)).ToList();
        var banner = Assert.Single(banners);
        Assert.Contains("http://127.0.0.1:", banner, StringComparison.Ordinal);
        Assert.Contains("grain storage sqlite", banner, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_root, "data"), banner, StringComparison.Ordinal);
        Assert.DoesNotContain(logs, e => e.StartsWith("Information Orleans.", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, e => e.StartsWith("Information Microsoft.", StringComparison.Ordinal));
        // (Scopes name the request too; they are context for entries, not entries.)
        Assert.DoesNotContain(logs, e => !e.StartsWith("scope ", StringComparison.Ordinal) && e.Contains("/v1/jobs", StringComparison.Ordinal));
        // OrleansShards' own information still comes through ("Orleans" must not quiet "OrleansShards" by prefix).
        Assert.Contains(logs, e => e.StartsWith("Information OrleansShards.Providers.Sqlite", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Request_logging_writes_one_entry_per_request_with_path_and_status()
    {
        var logs = await RunServerAsync(requestLogging: true);

        var requests = logs.Where(e => e.Contains("HttpLoggingMiddleware", StringComparison.Ordinal) && e.Contains("/v1/jobs", StringComparison.Ordinal)).ToList();
        var entry = Assert.Single(requests);
        Assert.Contains("StatusCode: 200", entry, StringComparison.Ordinal);
        Assert.Contains("Method: GET", entry, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Participant check thread has not completed for 03:03:39.3072897, potentially indicating lock contention or deadlock, CPU starvation, or another execution anomaly.", 10, true)]
    [InlineData("Participant check thread has not completed for 1.03:03:39.3072897, potentially indicating lock contention.", 3600, true)]
    // A real stall: shorter than the process has lived.
    [InlineData("Participant check thread has not completed for 00:00:12.5000000, potentially indicating lock contention.", 600, false)]
    [InlineData("Some other Watchdog warning for 99:00:00, entirely different.", 10, false)]
    public void Only_the_watchdogs_impossible_stall_is_taken_for_false(string message, int processAgeSeconds, bool dropped) =>
        Assert.Equal(dropped, FalseWatchdogWarningFilter.IsFalseWarning(message, TimeSpan.FromSeconds(processAgeSeconds)));

    private async Task<IReadOnlyList<string>> RunServerAsync(bool requestLogging)
    {
        var logs = new CapturedLogs();
        var app = ShardsServer.Build(
            [
                "--urls", "http://127.0.0.1:0",
                $"--Shards:DataDir={Path.Combine(_root, "data")}",
                $"--Shards:SiloPort={InProcessServer.FreePort()}",
                $"--Shards:GatewayPort={InProcessServer.FreePort()}",
                $"--Shards:RequestLogging={requestLogging}",
            ],
            builder => builder.Logging.AddProvider(logs));
        await using (app)
        {
            await app.StartAsync(TestContext.Current.CancellationToken);
            using var http = new HttpClient { BaseAddress = app.ListeningAddress() };
            using var answer = await http.GetAsync(new Uri("v1/jobs", UriKind.Relative), TestContext.Current.CancellationToken);
            answer.EnsureSuccessStatusCode();
            await app.StopAsync(TestContext.Current.CancellationToken);
        }

        return logs.Entries;
    }
}
