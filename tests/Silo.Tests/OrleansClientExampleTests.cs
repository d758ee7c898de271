using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansShards.Client;
using OrleansShards.OrleansClient;
using OrleansShards.Tests.Servers;

namespace OrleansShards.Silo.Tests;

/// <summary>The real server with <c>ten-thousand.csv</c> (<c>id,value</c>), for Orleans clients to join through its gateway.</summary>
public sealed class GatewayServerFixture : InProcessServer
{
    public GatewayServerFixture()
        : base("gateway")
    {
    }

    protected override Task PrepareAsync()
    {
        var text = new StringBuilder("id,value\n");
        for (var id = 0; id < 10_000; id++)
        {
            text.Append(id).Append(',').Append(id % 7).Append('\n');
        }

        System.IO.File.WriteAllText(Path.Combine(DataDir, "ten-thousand.csv"), text.ToString());
        return Task.CompletedTask;
    }
}

/// <summary>examples/OrleansClient against a real silo: it joins through the gateway, runs a job through the grains, and every id arrives once per epoch.</summary>
public sealed class OrleansClientExampleTests(GatewayServerFixture server) : IClassFixture<GatewayServerFixture>
{
    private ShardsClusterOptions Cluster => new() { Gateways = [$"127.0.0.1:{server.GatewayPort}"] };

    private async Task AssertEveryIdOncePerEpoch(ExampleSummary summary, string job)
    {
        Assert.Equal("completed", summary.FinalState);
        Assert.Equal(20, summary.Shards);
        Assert.Equal(20_000, summary.Records);
        Assert.Equal([0, 1], summary.IdsPerEpoch.Keys.Order());
        foreach (var (epoch, seen) in summary.IdsPerEpoch)
        {
            Assert.Equal(10_000, seen.Count);
            Assert.All(Enumerable.Range(0, 10_000), id => Assert.True(seen.TryGetValue(id.ToString(System.Globalization.CultureInfo.InvariantCulture), out var n) && n == 1, $"id {id} of epoch {epoch}"));
        }

        // The silo agrees: its HTTP view of the job the client ran through the grains.
        var status = await server.Http.GetFromJsonAsync<JsonElement>($"v1/jobs/{job}");
        Assert.Equal("completed", status.GetProperty("state").GetString());
        Assert.Equal(20_000, status.GetProperty("records").GetProperty("delivered").GetInt64());
    }

    [Theory]
    [InlineData("thick")]
    [InlineData("thin")]
    public async Task The_example_runs_a_job_through_the_grains(string mode)
    {
        await using var connection = await ShardsOrleansClient.ConnectAsync(Cluster, TestContext.Current.CancellationToken);
        var output = new StringWriter();
        var job = "orleans-client-" + mode;
        var summary = await OrleansClientExample.RunAsync(
            connection.Client,
            new ExampleSettings { JobId = job, Path = "ten-thousand.csv", ShardSize = 1_000, Epochs = 2, Mode = mode, WorkerId = "test-" + mode },
            output,
            TestContext.Current.CancellationToken);
        await AssertEveryIdOncePerEpoch(summary, job);
        Assert.Contains($"job {job}: created", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("epoch 1: 10000 distinct ids, 0 read more than once", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_example_program_runs_as_a_process()
    {
        // The example's own build output (built as a reference of the tests), with its own dependencies: the
        // test directory has the ASP.NET Core framework's assemblies, which the example's runtimeconfig does not name.
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var (framework, configuration) = (testDir.Name, testDir.Parent!.Name);
        var root = testDir;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "OrleansShards.sln")))
        {
            root = root.Parent;
        }

        Assert.NotNull(root);
        var dll = Path.Combine(root.FullName, "examples", "OrleansClient", "bin", configuration, framework, "OrleansShards.OrleansClient.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList =
            {
                dll, "--gateway", $"127.0.0.1:{server.GatewayPort}", "--job", "orleans-client-process", "--path", "process.csv",
                "--sample-dir", server.DataDir, "--rows", "2500", "--shard-size", "500", "--epochs", "1",
            },
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        var text = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}:\n{text}");
        Assert.Contains("job orleans-client-process: created", text, StringComparison.Ordinal);
        Assert.Contains("done: 5 shards, 2500 records read", text, StringComparison.Ordinal);
        Assert.Contains("epoch 0: 2500 distinct ids, 0 read more than once", text, StringComparison.Ordinal);

        // A gateway nobody listens on: one clear line and a non-zero exit once the connect timeout passes.
        var bad = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, ArgumentList = { dll, "--gateway", "not-a-gateway" } };
        using var refused = Process.Start(bad)!;
        var refusedError = await refused.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await refused.WaitForExitAsync(timeout.Token);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("'not-a-gateway' is not host:port", refusedError, StringComparison.Ordinal);
    }
}

/// <summary>An Orleans client follows a topic partition through the silo's stream provider, disconnects mid-stream and resumes.</summary>
public sealed class OrleansStreamSubscriberTests(GatewayServerFixture server) : IClassFixture<GatewayServerFixture>
{
    [Fact]
    public async Task A_subscriber_that_disconnects_resumes_from_its_next_offset_with_no_gap_and_no_repeat()
    {
        var topic = "stream-" + Guid.NewGuid().ToString("N")[..8];
        (await server.Http.PostAsJsonAsync("v1/topics", new { name = topic, partitions = 2 })).EnsureSuccessStatusCode();
        async Task Append(int first, int count) =>
            (await server.Http.PostAsJsonAsync($"v1/topics/{topic}/partitions/1/records", Enumerable.Range(first, count).Select(i => new { id = i }))).EnsureSuccessStatusCode();
        await Append(0, 100);
        var cluster = new ShardsClusterOptions { Gateways = [$"127.0.0.1:{server.GatewayPort}"] };
        var offsets = new List<long>();

        await using (var connection = await ShardsOrleansClient.ConnectAsync(cluster, configureClient: TopicFollower.AddLogStreams))
        {
            var first = await TopicFollower.ReadAsync(connection.Client, topic, 1, from: 0, count: 40, TimeSpan.FromSeconds(60));
            offsets.AddRange(first.Select(r => r.Offset));
            Assert.All(first, r => Assert.Equal($"{{\"id\":{r.Offset}}}", r.Json));
        }

        // Records land while no one listens, and while the new client is subscribed.
        await Append(100, 50);
        await using (var connection = await ShardsOrleansClient.ConnectAsync(cluster, configureClient: TopicFollower.AddLogStreams))
        {
            var reading = TopicFollower.ReadAsync(connection.Client, topic, 1, from: offsets[^1] + 1, count: 160, TimeSpan.FromSeconds(60));
            await Task.Delay(500);
            await Append(150, 50);
            var second = await reading;
            offsets.AddRange(second.Select(r => r.Offset));
            Assert.All(second, r => Assert.Equal((topic, 1), (r.Topic, r.Partition)));
        }

        Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), offsets);
    }
}
