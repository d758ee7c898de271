using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Tests.Servers;

namespace OrleansShards.Client.Tests;

/// <summary>
/// Stands between the client and the real server and, on command, loses answers the server gave
/// (the request was handled, the answer never arrives) or answers 503 with Retry-After in its place.
/// </summary>
internal sealed class FaultyNetwork() : DelegatingHandler(new SocketsHttpHandler())
{
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Requests whose path ends with this lose their answer once each, up to the count.</summary>
    public ConcurrentDictionary<string, int> LoseAnswer { get; } = new();

    /// <summary>Requests whose path ends with this get 503 Retry-After: 1 once each, up to the count, without reaching the server.</summary>
    public ConcurrentDictionary<string, int> Unavailable { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        Requests.Enqueue($"{request.Method} {path}");
        if (Take(Unavailable, path))
        {
            var busy = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { RequestMessage = request, Content = new StringContent("""{"detail":"busy"}""") };
            busy.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(1));
            return busy;
        }

        var response = await base.SendAsync(request, cancellationToken);
        if (Take(LoseAnswer, path))
        {
            response.Dispose();
            throw new HttpRequestException(HttpRequestError.ConnectionError, "connection reset by the faulty network");
        }

        return response;
    }

    private static bool Take(ConcurrentDictionary<string, int> faults, string path)
    {
        foreach (var (suffix, _) in faults)
        {
            if (path.EndsWith(suffix, StringComparison.Ordinal) && faults.AddOrUpdate(suffix, 0, (_, left) => left - 1) >= 0)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary><see cref="ShardsClient.ConsumeAsync"/> and <see cref="ShardsClient.ProcessAsync"/> against the real server.</summary>
public sealed class ConsumerTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private (ShardsClient Client, FaultyNetwork Network) NewClient()
    {
        var network = new FaultyNetwork();
        return (new ShardsClient(new HttpClient(network) { BaseAddress = server.Address }, new ShardsClientOptions { RetryDelay = TimeSpan.FromMilliseconds(50) }), network);
    }

    private Task<JobStatus> CreateJob(string id, long shardSize, int leaseTimeoutSeconds = 30, int maxAttempts = 3) =>
        server.Client.CreateJobAsync(new JobSpec
        {
            Id = id,
            Source = new SourceSpec { Kind = "csv", Paths = ["numbers.csv"] },
            ShardSize = shardSize,
            LeaseTimeoutSeconds = leaseTimeoutSeconds,
            MaxAttempts = maxAttempts,
            Shuffle = true,
            Seed = 7,
        });

    private static async Task<List<long>> Ids(LeasedTask task)
    {
        var ids = new List<long>();
        await foreach (var page in task.ReadBatchesAsync())
        {
            using (page)
            {
                ids.AddRange(page.Records.EnumerateArray().Select(r => long.Parse(r.GetProperty("id").GetString()!, System.Globalization.CultureInfo.InvariantCulture)));
            }
        }

        return ids;
    }

    [Fact]
    public async Task Consuming_a_job_reads_every_id_once_reports_each_task_and_ends_with_the_job()
    {
        await CreateJob("consume-all", 700);
        var (client, _) = NewClient();
        var ids = new List<long>();
        var tasks = new List<LeasedTask>();
        await foreach (var task in client.ConsumeAsync("consume-all", new ConsumeOptions { MaxTasks = 2, BatchSize = 300 }))
        {
            ids.AddRange(await Ids(task));
            tasks.Add(task);
        }

        Assert.Equal(Enumerable.Range(0, ServerFixture.NumbersRows).Select(i => (long)i), ids.Order());
        Assert.Equal(5, tasks.Count);
        Assert.All(tasks, t => Assert.Equal(TaskOutcome.Done, t.Outcome));
        var status = await client.GetJobAsync("consume-all");
        Assert.Equal(JobStates.Completed, status.State);
        Assert.Equal(5, status.Shards.Done);
    }

    [Fact]
    public async Task Leases_of_slow_work_are_renewed_in_the_background_and_never_expire()
    {
        // One task worked on for two and a half lease timeouts: it lives on background heartbeats alone.
        await CreateJob("consume-slow", 3000, leaseTimeoutSeconds: 2);
        var (client, network) = NewClient();
        var handled = 0;
        await foreach (var task in client.ConsumeAsync("consume-slow"))
        {
            var firstExpiry = task.ExpiresAt;
            await Task.Delay(TimeSpan.FromSeconds(5));
            Assert.False(task.LeaseLost.IsCancellationRequested);
            Assert.True(task.ExpiresAt > firstExpiry.AddSeconds(2), $"expiry {task.ExpiresAt:O} was not moved on from {firstExpiry:O}");
            Assert.True(await task.CompleteAsync());
            handled++;
        }

        Assert.Equal(1, handled);
        Assert.True(network.Requests.Count(r => r.EndsWith("/heartbeats", StringComparison.Ordinal)) >= 3, string.Join(", ", network.Requests));
        var status = await client.GetJobAsync("consume-slow");
        Assert.Equal(JobStates.Completed, status.State);
        Assert.Equal(0, status.EpochHistory.Sum(e => e.LeasesExpired));
    }

    [Fact]
    public async Task Leaving_the_loop_releases_every_lease_still_held()
    {
        await CreateJob("consume-break", 500);
        var (client, network) = NewClient();
        await foreach (var task in client.ConsumeAsync("consume-break", new ConsumeOptions { MaxTasks = 3 }))
        {
            Assert.Equal(3, (await client.GetJobAsync("consume-break")).Shards.Doing);
            break;
        }

        Assert.Contains(network.Requests, r => r.EndsWith("/releases", StringComparison.Ordinal));
        var status = await client.GetJobAsync("consume-break");
        Assert.Equal(0, status.Shards.Doing);
        Assert.Equal(0, status.Shards.Done);
        Assert.Equal(6, status.Shards.Todo);
    }

    [Fact]
    public async Task Cancelling_stops_the_handler_and_releases_its_lease()
    {
        await CreateJob("consume-cancel", 500);
        var (client, _) = NewClient();
        using var cancel = new CancellationTokenSource();
        var started = new TaskCompletionSource();
        var run = client.ProcessAsync("consume-cancel", async (task, token) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
        }, null, cancel.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        var status = await client.GetJobAsync("consume-cancel");
        Assert.Equal(0, status.Shards.Doing);
        Assert.Equal(0, status.Shards.Done);
        Assert.Equal(0, status.Shards.Failed);
    }

    [Fact]
    public async Task A_handler_that_throws_reports_the_task_failed_with_its_message()
    {
        await CreateJob("consume-throw", 1000, maxAttempts: 1);
        var (client, _) = NewClient();
        var summary = await client.ProcessAsync("consume-throw", (task, _) =>
            task.Shard.Start == 1000 ? throw new InvalidDataException($"bad record in {task.TaskId}") : Task.CompletedTask);
        Assert.Equal(new ConsumeSummary(2, 1, 0, JobStates.Failed), summary);
        var status = await client.GetJobAsync("consume-throw");
        Assert.Equal(JobStates.Failed, status.State);
        var dead = Assert.Single(status.DeadLetters);
        Assert.Equal("bad record in e0.p0.1000-2000", dead.LastError);
    }

    [Fact]
    public async Task Lost_answers_and_503s_are_retried_and_the_retried_lease_gets_the_same_tasks()
    {
        await CreateJob("consume-faults", 1000);
        var (client, network) = NewClient();
        // The server grants the first lease request but the answer is lost: the retry carries the same requestId.
        network.LoseAnswer["/leases"] = 1;
        // The first report meets a 503 that asks for a one-second wait.
        network.Unavailable["/reports"] = 1;
        var clock = Stopwatch.StartNew();
        var reportsStarted = TimeSpan.Zero;
        var tasks = new List<string>();
        await foreach (var task in client.ConsumeAsync("consume-faults", new ConsumeOptions { MaxTasks = 2 }))
        {
            if (tasks.Count == 0)
            {
                // Had the retry leased anew, four tasks would be in flight now: two lost with the answer, two here.
                Assert.Equal(2, (await client.GetJobAsync("consume-faults")).Shards.Doing);
                reportsStarted = clock.Elapsed;
            }

            tasks.Add(task.TaskId);
            if (tasks.Count == 1)
            {
                Assert.True(await task.CompleteAsync());
                Assert.True(clock.Elapsed - reportsStarted >= TimeSpan.FromSeconds(0.9), $"Retry-After was not honoured: {clock.Elapsed - reportsStarted}");
            }
        }

        Assert.Equal(3, tasks.Distinct().Count());
        // One report a task, and one more: the attempt that met the 503.
        Assert.Equal(tasks.Count + 1, network.Requests.Count(r => r.EndsWith("/reports", StringComparison.Ordinal)));
        var status = await client.GetJobAsync("consume-faults");
        Assert.Equal(JobStates.Completed, status.State);
        Assert.Equal(0, status.EpochHistory.Sum(e => e.LeasesExpired));
    }

    [Fact]
    public async Task A_4xx_answer_is_never_retried()
    {
        var (client, network) = NewClient();
        var error = await Assert.ThrowsAsync<ShardsApiException>(() => client.GetJobAsync("no-such-job"));
        Assert.Equal(404, error.Status);
        Assert.Contains("does not exist", error.Detail);
        Assert.Single(network.Requests);
    }
}
