using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using OrleansShards.GrainInterfaces;
using OrleansShards.Tests.Servers;
using static OrleansShards.Cli.Tests.ShardsProcess;

namespace OrleansShards.Cli.Tests;

/// <summary>
/// What <c>shards job status</c> and <c>job list</c> say about progress and failures, and how the CLI names a
/// server that does not speak HTTP: the shards executable as a process against a real server.
/// </summary>
public sealed class ProgressCliTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private Uri Server => server.Address;

    [Fact]
    public async Task Progress_of_a_two_epoch_job_counts_every_epoch_and_failed_attempts_are_shown()
    {
        server.WriteCsv("progress.csv", 1_000);
        await server.Client.CreateJobAsync("""{"id": "cli-progress", "source": {"kind": "csv", "paths": ["progress.csv"]}, "shardSize": 100, "epochs": 2}""");
        // Epoch 1 whole, epoch 2 half: three quarters of the job's records. One attempt fails on the way.
        var failed = false;
        var reported = 0;
        while (reported < 15)
        {
            var batch = await server.Client.LeaseAsync("cli-progress", "w", 1);
            if (batch.Leases.Count == 0)
            {
                await Task.Delay(batch.RetryAfterMs ?? 20);
                continue;
            }

            var lease = batch.Leases[0];
            var fail = !failed;
            failed = true;
            await server.Client.ReportAsync("cli-progress", new TaskReport(lease.TaskId, lease.LeaseId, "w", Done: !fail, Error: fail ? "flaky disk" : null));
            reported += fail ? 0 : 1;
        }

        var status = await Shards(Server, "job", "status", "cli-progress");
        Assert.True(status.ExitCode == 0, status.ToString());
        var fields = Fields(status.Stdout);
        Assert.Equal("2 of 2", fields["epoch"]);
        Assert.Equal("75% of 2 epoch(s)", fields["progress"]);
        Assert.Equal("1,500 delivered of 2,000", fields["records"]);
        Assert.Equal("1", fields["attempts failed"]);
        Assert.StartsWith("10 per epoch: 5 done, ", fields["shards"]);

        var list = await Shards(Server, "job", "list");
        var header = list.Stdout.Split('\n')[0].Split('\t');
        var row = list.Stdout.Split('\n').Single(l => l.StartsWith("cli-progress\t", StringComparison.Ordinal)).Split('\t');
        Assert.Equal("75%", row[Array.IndexOf(header, "progress")]);
        Assert.Equal("1", row[Array.IndexOf(header, "attempts failed")]);
    }

    [Fact]
    public async Task Status_of_a_live_job_shows_each_partitions_high_water_mark_committed_offset_and_lag()
    {
        await server.Client.CreateTopicAsync("cli-live", 2);
        await server.Client.AppendAsync("cli-live", 0, Enumerable.Range(0, 5).Select(i => JsonDocument.Parse($"{{\"n\":{i}}}").RootElement));
        await server.Client.CreateJobAsync("""{"id": "cli-live-job", "source": {"kind": "topic", "topic": "cli-live"}, "shardSize": 100, "maxWaitMs": 60000}""");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while ((await server.Client.GetJobAsync("cli-live-job", deadline.Token)).Partitions.FirstOrDefault(p => p.Partition == 0)?.HighWatermark != 5)
        {
            await Task.Delay(50, deadline.Token);
        }

        var status = await Shards(Server, "job", "status", "cli-live-job");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Equal("live: 0 committed of 5 appended, lag 5", Fields(status.Stdout)["progress"]);
        var lines = status.Stdout.Split('\n');
        var header = Array.IndexOf(lines, "partition\tpath\thigh-water mark\tsplit up to\tcommitted\tlag");
        Assert.True(header >= 0, status.Stdout);
        var p0 = lines[header + 1].Split('\t');
        Assert.Equal(("0", "5", "0", "5"), (p0[0], p0[2], p0[4], p0[5]));

        var list = await Shards(Server, "job", "list");
        var row = list.Stdout.Split('\n').Single(l => l.StartsWith("cli-live-job\t", StringComparison.Ordinal)).Split('\t');
        Assert.Equal(("live", "live"), (row[2], row[3]));
    }

    [Fact]
    public async Task A_port_that_does_not_answer_http_is_named_as_such()
    {
        // What an Orleans gateway does with an HTTP request: accepts the connection and closes it.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource();
        var closer = Task.Run(async () =>
        {
            var request = new byte[4096];
            while (!stop.IsCancellationRequested)
            {
                using var socket = await listener.AcceptSocketAsync(stop.Token);
                try
                {
                    // Read what the client sent, then close without a word, as a peer that does not speak HTTP does.
                    await socket.ReceiveAsync(request, SocketFlags.None, stop.Token);
                    socket.Shutdown(SocketShutdown.Both);
                }
                catch (SocketException)
                {
                    // The client gave up first: accept the next one.
                }
            }
        });

        var error = AssertOneLineError(await Shards(new Uri($"http://127.0.0.1:{port}"), "job", "list"));
        stop.Cancel();
        Assert.Contains($"http://127.0.0.1:{port}/ accepted the connection but did not answer HTTP", error);
        Assert.Contains("--urls", error);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => closer);
    }

    /// <summary>The two-column field/value lines of a piped <c>job status</c>.</summary>
    private static Dictionary<string, string> Fields(string stdout) =>
        stdout.Split('\n').Select(l => l.Split('\t')).Where(c => c.Length == 2).GroupBy(c => c[0]).ToDictionary(g => g.Key, g => g.First()[1]);
}
