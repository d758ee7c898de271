using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Tests;

/// <summary>The job behaves like a serious queue: poisoned shards are dead-lettered, deletes reach the storage.</summary>
public sealed class QueueBehaviourTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private HttpClient Http => server.Http;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_poisoned_shard_is_dead_lettered_with_its_last_error_and_the_rest_completes()
    {
        var created = await Http.PostAsync("v1/jobs", Json("""{"id":"poison","source":{"kind":"csv","paths":["small.csv"]},"shardSize":500,"maxAttempts":2}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        const string poisoned = "e0.p0.1000-1500";
        var failures = 0;
        while (true)
        {
            var batch = await server.Client.LeaseAsync("poison", "w", 2);
            if (batch.Leases.Count == 0)
            {
                if (batch.State is JobStates.Completed or JobStates.Failed)
                {
                    break;
                }

                await Task.Delay(batch.RetryAfterMs ?? 20);
                continue;
            }

            foreach (var lease in batch.Leases)
            {
                var poison = lease.TaskId == poisoned;
                failures += poison ? 1 : 0;
                await server.Client.ReportAsync("poison", new TaskReport(lease.TaskId, lease.LeaseId, "w", !poison, poison ? $"decoder crashed on attempt {lease.Attempt}" : null));
            }
        }

        Assert.Equal(2, failures);
        var status = await server.Client.GetJobAsync("poison");
        Assert.Equal(JobStates.Failed, status.State);
        var dead = Assert.Single(status.DeadLetters);
        Assert.Equal((poisoned, 2, "decoder crashed on attempt 2"), (dead.TaskId, dead.Attempts, dead.LastError));
        Assert.Equal((4L, 1L), (status.Shards.Done, status.Shards.Failed));
        Assert.Equal(2_000, status.Records.Delivered);
    }

    [Fact]
    public async Task Delete_removes_the_job_and_its_splitters_from_the_storage_itself()
    {
        var created = await Http.PostAsync("v1/jobs", Json("""{"id":"doomed","source":{"kind":"csv","paths":["small.csv","numbers.csv"]},"shardSize":1000}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var lease = (await server.Client.LeaseAsync("doomed", "w", 1)).Leases.Single();
        await server.Client.ReportAsync("doomed", new TaskReport(lease.TaskId, lease.LeaseId, "w", true));
        Assert.Equal(3, CountRows("doomed"));

        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync("v1/jobs/doomed")).StatusCode);
        Assert.Equal(0, CountRows("doomed"));
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync("v1/jobs/doomed")).StatusCode);
        var list = await Http.GetFromJsonAsync<JsonElement>("v1/jobs");
        Assert.DoesNotContain(list.GetProperty("jobs").EnumerateArray(), j => j.GetProperty("id").GetString() == "doomed");
    }

    [Fact]
    public async Task A_batch_of_reports_is_recorded_at_once_each_with_its_own_outcome()
    {
        var created = await Http.PostAsync("v1/jobs", Json("""{"id":"batch-report","source":{"kind":"csv","paths":["small.csv"]},"shardSize":250}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var leases = (await server.Client.LeaseAsync("batch-report", "w", 10)).Leases;
        Assert.Equal(10, leases.Count);
        var reports = leases.Take(9).Select(l => new TaskReport(l.TaskId, l.LeaseId, "w", true))
            .Append(new TaskReport(leases[9].TaskId, "L-not-mine", "w", true))
            .Append(new TaskReport("e0.p0.0-7", leases[9].LeaseId, "w", true))
            .ToList();
        var outcomes = await server.Client.ReportManyAsync("batch-report", reports);
        Assert.Equal(Enumerable.Repeat(200, 9).Append(409).Append(404), outcomes.Select(o => o.Status));
        Assert.All(outcomes.Take(9), o => Assert.True(o.Accepted));
        Assert.Contains("L-not-mine", outcomes[9].Detail, StringComparison.Ordinal);

        var again = await server.Client.ReportManyAsync("batch-report", reports.Take(9).ToList());
        Assert.All(again, o => Assert.True(o.Duplicate));
        var status = await server.Client.GetJobAsync("batch-report");
        Assert.Equal((9L, 1L), (status.Shards.Done, status.Shards.Doing));

        var mixed = await Http.PostAsync("v1/jobs/batch-report/reports", Json("""{"taskId":"e0.p0.0-250","reports":[]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, mixed.StatusCode);
        var missing = await Http.PostAsync("v1/jobs/batch-report/reports", Json("""{"reports":[{"taskId":"e0.p0.0-250","workerId":"w","outcome":"done"}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("reports[0].leaseId", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>Rows of the job grain and its splitter grains in the server's SQLite file, read beside the server.</summary>
    private int CountRows(string jobId)
    {
        var file = Path.Combine(server.DataDir, "state", "shards.db");
        using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM orleans_grain_state WHERE grain_id = $job OR grain_id LIKE $splitters";
        command.Parameters.AddWithValue("$job", "job/" + jobId);
        command.Parameters.AddWithValue("$splitters", "splitter/" + jobId + "/%");
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
