using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansShards.Client;
using OrleansShards.GrainInterfaces;
using OrleansShards.Tests.Servers;

namespace OrleansShards.Silo.Tests;

/// <summary><c>POST /v1/jobs/{id}/dead-letters/retry</c> on a real server: a failed job runs again and completes.</summary>
public sealed class DeadLetterRetryTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private ShardsClient Client => server.Client;

    [Fact]
    public async Task A_failed_job_whose_dead_letters_are_retried_runs_again_and_completes()
    {
        server.WriteCsv("retry.csv", 300);
        await Client.CreateJobAsync("""{"id": "retry-all", "source": {"kind": "csv", "paths": ["retry.csv"]}, "shardSize": 100, "maxAttempts": 1}""");
        var failed = await Drain("retry-all", failFirst: 2);
        var job = await Client.GetJobAsync("retry-all");
        Assert.Equal(JobStates.Failed, job.State);
        Assert.Equal(failed.Order(), job.DeadLetters.Select(d => d.TaskId).Order());

        var answer = await Client.RetryDeadLettersAsync("retry-all");
        Assert.Equal(failed.Order(), answer.Retried.Order());
        Assert.Empty(answer.NotRetried);
        job = await Client.GetJobAsync("retry-all");
        Assert.Equal(JobStates.Running, job.State);
        Assert.Empty(job.DeadLetters);

        // The retried tasks come back with attempt 1 (a fresh count: maxAttempts 1 would otherwise refuse them).
        var again = await Drain("retry-all", failFirst: 0);
        Assert.Equal(failed.Order(), again.Order());
        job = await Client.GetJobAsync("retry-all");
        Assert.Equal(JobStates.Completed, job.State);
        Assert.Equal(300, job.Records.Delivered);

        // Nothing left to retry.
        Assert.Empty((await Client.RetryDeadLettersAsync("retry-all")).Retried);
    }

    [Fact]
    public async Task Named_tasks_are_retried_alone_and_the_others_are_answered_with_a_reason()
    {
        server.WriteCsv("retry-named.csv", 300);
        await Client.CreateJobAsync("""{"id": "retry-named", "source": {"kind": "csv", "paths": ["retry-named.csv"]}, "shardSize": 100, "maxAttempts": 1}""");
        var failed = await Drain("retry-named", failFirst: 2);

        var answer = await Client.RetryDeadLettersAsync("retry-named", [failed[0], "e0.p0.999-1000"]);
        Assert.Equal([failed[0]], answer.Retried);
        var refused = Assert.Single(answer.NotRetried);
        Assert.Equal(("e0.p0.999-1000", "not a dead letter of this job"), (refused.TaskId, refused.Reason));
        var job = await Client.GetJobAsync("retry-named");
        Assert.Equal([failed[1]], job.DeadLetters.Select(d => d.TaskId));
        Assert.Equal(JobStates.Running, job.State);
    }

    [Fact]
    public async Task Bad_bodies_name_the_field_and_an_unknown_job_is_404()
    {
        using var empty = await server.Http.PostAsync("v1/jobs/retry-none/dead-letters/retry", null);
        Assert.Equal(HttpStatusCode.NotFound, empty.StatusCode);

        server.WriteCsv("retry-bad.csv", 10);
        await Client.CreateJobAsync("""{"id": "retry-bad", "source": {"kind": "csv", "paths": ["retry-bad.csv"]}, "shardSize": 100}""");
        foreach (var body in new[] { """{"taskIds": []}""", """{"taskIds": [null]}""", """{"taskIds": "e0"}""" })
        {
            using var response = await server.Http.PostAsync("v1/jobs/retry-bad/dead-letters/retry", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("taskIds", problem.GetProperty("field").GetString());
        }
    }

    [Fact]
    public async Task A_status_lists_the_latest_thousand_dead_letters_and_counts_the_rest_which_a_retry_still_takes()
    {
        server.WriteCsv("many-dead.csv", 1_200);
        await Client.CreateJobAsync("""{"id": "many-dead", "source": {"kind": "csv", "paths": ["many-dead.csv"]}, "shardSize": 1, "maxAttempts": 1}""");
        while (true)
        {
            var batch = await Client.LeaseAsync("many-dead", "w", 1_000);
            if (batch.Leases.Count == 0)
            {
                break;
            }

            await Client.ReportManyAsync("many-dead", [.. batch.Leases.Select(l => new TaskReport(l.TaskId, l.LeaseId, "w", Done: false, Error: "poisoned"))]);
        }

        var job = await Client.GetJobAsync("many-dead");
        Assert.Equal(JobStates.Failed, job.State);
        Assert.Equal(1_000, job.DeadLetters.Count);
        Assert.Equal(200, job.DeadLettersNotListed);
        Assert.Equal(1_200, (await Client.RetryDeadLettersAsync("many-dead")).Retried.Count);
        job = await Client.GetJobAsync("many-dead");
        Assert.Empty(job.DeadLetters);
        Assert.Null(job.DeadLettersNotListed);
    }

    /// <summary>Leases every task of the job and reports them, failing the first <paramref name="failFirst"/>; answers the failed ones.</summary>
    private async Task<List<string>> Drain(string jobId, int failFirst)
    {
        var failed = new List<string>();
        var reported = new List<string>();
        while (true)
        {
            var batch = await Client.LeaseAsync(jobId, "w", 10);
            if (batch.Leases.Count == 0)
            {
                return failFirst == 0 ? reported : failed;
            }

            foreach (var lease in batch.Leases)
            {
                Assert.Equal(1, lease.Attempt);
                var fail = failed.Count < failFirst;
                await Client.ReportAsync(jobId, new TaskReport(lease.TaskId, lease.LeaseId, "w", Done: !fail, Error: fail ? "poisoned" : null));
                (fail ? failed : reported).Add(lease.TaskId);
            }
        }
    }
}
