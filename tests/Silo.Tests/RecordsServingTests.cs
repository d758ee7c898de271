using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OrleansShards.GrainInterfaces;
using OrleansShards.Silo.Serving;

namespace OrleansShards.Silo.Tests;

/// <summary>
/// The records route reads a job's plan from <see cref="ReadPlanCache"/>, not from the job grain for every page: what
/// the job refuses or serves now must still be what the route refuses or serves.
/// </summary>
public sealed class RecordsServingTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private HttpClient Http => server.Http;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<(HttpStatusCode Status, JsonElement Body)> Get(string path)
    {
        using var response = await Http.GetAsync(path);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, document.RootElement.Clone());
    }

    [Fact]
    public async Task Pages_of_a_task_ask_the_job_for_its_plan_once()
    {
        var plans = server.Services.GetRequiredService<ReadPlanCache>();
        var create = await Http.PostAsync("v1/jobs", Json("""{"id":"serving-once","source":{"kind":"csv","paths":["small.csv"]},"shardSize":2500,"shuffle":true,"seed":3}"""));
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        var before = plans.Fetches;
        var served = 0;
        string? offset = "0";
        while (offset is not null)
        {
            var (status, body) = await Get($"v1/jobs/serving-once/tasks/e0.p0.0-2500/records?limit=100&offset={offset}");
            Assert.Equal(HttpStatusCode.OK, status);
            served += body.GetProperty("records").GetArrayLength();
            offset = body.TryGetProperty("nextOffset", out var next) ? next.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        }

        Assert.Equal(2500, served);
        // 25 pages; the plan lives two seconds, so a slow machine may ask again, but not for every page.
        Assert.InRange(plans.Fetches - before, 1, 5);
    }

    [Fact]
    public async Task A_task_of_the_next_epoch_is_served_once_the_job_reaches_it()
    {
        var create = await Http.PostAsync("v1/jobs", Json("""{"id":"serving-epochs","source":{"kind":"csv","paths":["small.csv"]},"shardSize":2500,"epochs":2,"seed":3}"""));
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Get("v1/jobs/serving-epochs/tasks/e0.p0.0-2500/records?limit=1")).Status);
        var (early, problem) = await Get("v1/jobs/serving-epochs/tasks/e1.p0.0-2500/records?limit=1");
        Assert.Equal(HttpStatusCode.NotFound, early);
        Assert.Equal("taskId", problem.GetProperty("field").GetString());

        var batch = await server.Client.LeaseAsync("serving-epochs", "serving-w", 1);
        var lease = Assert.Single(batch.Leases);
        await server.Client.ReportAsync("serving-epochs", new TaskReport(lease.TaskId, lease.LeaseId, "serving-w", Done: true));

        // The plan cached at epoch 0 does not cover epoch 1: the route asks the job again at once.
        var (now, body) = await Get("v1/jobs/serving-epochs/tasks/e1.p0.0-2500/records?limit=1");
        Assert.Equal(HttpStatusCode.OK, now);
        Assert.Equal("0", body.GetProperty("records")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_deleted_job_is_refused_at_once_and_a_job_created_again_under_its_id_is_read_from_its_own_source()
    {
        var create = await Http.PostAsync("v1/jobs", Json("""{"id":"serving-again","source":{"kind":"csv","paths":["small.csv"]},"shardSize":2500,"seed":3}"""));
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Get("v1/jobs/serving-again/tasks/e0.p0.0-2500/records?limit=1")).Status);

        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync("v1/jobs/serving-again")).StatusCode);
        var (deleted, problem) = await Get("v1/jobs/serving-again/tasks/e0.p0.0-2500/records?limit=1");
        Assert.Equal(HttpStatusCode.NotFound, deleted);
        Assert.Contains("serving-again", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // Created again over the 30,000-row file in shards of 10,000: the old plan's task is no task of the new job.
        create = await Http.PostAsync("v1/jobs", Json("""{"id":"serving-again","source":{"kind":"csv","paths":["numbers.csv"]},"shardSize":10000,"seed":3}"""));
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Get("v1/jobs/serving-again/tasks/e0.p0.0-2500/records?limit=1")).Status);
        var (status, body) = await Get("v1/jobs/serving-again/tasks/e0.p0.10000-20000/records?limit=1");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("10000", body.GetProperty("records")[0].GetProperty("id").GetString());
    }
}
