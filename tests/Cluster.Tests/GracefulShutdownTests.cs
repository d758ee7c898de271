using System.Net.Http.Json;

namespace OrleansShards.Cluster.Tests;

/// <summary>SIGTERM with followers connected: the silo ends them first and stops gracefully, not at its shutdown timeout.</summary>
public sealed class GracefulShutdownTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("shards-shutdown-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task A_silo_with_open_status_and_topic_followers_stops_gracefully_on_sigterm()
    {
        await using var silo = new SiloProcess("shutdown-silo", _root, [$"--Shards:DataDir={Path.Combine(_root, "data")}"]);
        silo.Start();
        using var http = new HttpClient { BaseAddress = silo.Address, Timeout = Timeout.InfiniteTimeSpan };
        await silo.WaitReadyAsync(http, TimeSpan.FromMinutes(2));
        (await http.PostAsJsonAsync("v1/topics", new { name = "events", partitions = 1 })).EnsureSuccessStatusCode();

        // Two followers that never end on their own: the status stream and a topic partition's SSE stream.
        using var status = await http.GetAsync("v1/status/stream", HttpCompletionOption.ResponseHeadersRead);
        using var topic = await http.GetAsync("v1/topics/events/partitions/0/stream?from=0", HttpCompletionOption.ResponseHeadersRead);
        status.EnsureSuccessStatusCode();
        topic.EnsureSuccessStatusCode();

        silo.Terminate();
        // Generous: under the default Shards:ShutdownTimeout (25 s) a silo waiting on its followers would end non-graceful.
        var exit = await silo.WaitForExitAsync(TimeSpan.FromMinutes(2));
        Assert.True(exit is not null, $"the silo did not stop:\n{silo.Tail()}");
        Assert.Equal(0, exit);
        Assert.DoesNotContain("non-graceful", silo.Log(), StringComparison.Ordinal);
    }
}
