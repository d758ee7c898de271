using System.Net;
using System.Text;
using System.Text.Json;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Tests;

public sealed class CheckpointHttpTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private HttpClient Http => server.Http;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Problem(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task A_checkpoint_exports_as_json_and_imports_once_with_doing_requeued()
    {
        var create = await Http.PostAsync("v1/jobs", Json("""{"id":"http-ckpt","source":{"kind":"csv","paths":["small.csv"]},"shardSize":500,"epochs":2,"shuffle":true,"seed":8}"""));
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        var leases = await server.Client.LeaseAsync("http-ckpt", "w", 2);
        await server.Client.ReportAsync("http-ckpt", new TaskReport(leases.Leases[0].TaskId, leases.Leases[0].LeaseId, "w", true));

        var response = await Http.GetAsync("v1/jobs/http-ckpt/checkpoint");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(server.Root, text, StringComparison.Ordinal);
        var checkpoint = JsonDocument.Parse(text).RootElement;
        Assert.Equal("orleans-shards-checkpoint", checkpoint.GetProperty("format").GetString());
        Assert.Equal(1, checkpoint.GetProperty("version").GetInt32());
        Assert.Equal("http-ckpt", checkpoint.GetProperty("jobId").GetString());
        var file = checkpoint.GetProperty("files")[0];
        Assert.Equal(("small.csv", 2_500), (file.GetProperty("path").GetString(), file.GetProperty("records").GetInt64()));
        Assert.Matches("^[0-9a-f]{16}$", file.GetProperty("contentHash").GetString());
        Assert.Equal(2, checkpoint.GetProperty("todo").GetProperty("cursor").GetInt64());
        var doing = Assert.Single(checkpoint.GetProperty("doing").EnumerateArray());
        Assert.Equal((leases.Leases[1].TaskId, leases.Leases[1].LeaseId, "w"), (doing.GetProperty("taskId").GetString(), doing.GetProperty("leaseId").GetString(), doing.GetProperty("workerId").GetString()));
        Assert.Equal(1, checkpoint.GetProperty("done").GetProperty("shards").GetInt64());
        var splitter = Assert.Single(checkpoint.GetProperty("splitters").EnumerateArray());
        Assert.Equal((2_500, true), (splitter.GetProperty("splitUpTo").GetInt64(), splitter.GetProperty("acknowledged").GetBoolean()));

        var imported = await Http.PostAsync("v1/jobs/import?id=http-ckpt-copy", Json(text));
        Assert.True(HttpStatusCode.Created == imported.StatusCode, await imported.Content.ReadAsStringAsync());
        Assert.Equal("/v1/jobs/http-ckpt-copy", imported.Headers.Location?.OriginalString);
        var status = JsonDocument.Parse(await imported.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("http-ckpt-copy", status.GetProperty("id").GetString());
        var shards = status.GetProperty("shards");
        Assert.Equal((4, 0, 1), (shards.GetProperty("todo").GetInt64(), shards.GetProperty("doing").GetInt64(), shards.GetProperty("done").GetInt64()));

        var again = await Problem(await Http.PostAsync("v1/jobs/import?id=http-ckpt-copy", Json(text)), HttpStatusCode.Conflict);
        Assert.Contains("http-ckpt-copy", again.GetProperty("detail").GetString(), StringComparison.Ordinal);
        // Without ?id= the document's own id is used: that job exists here.
        await Problem(await Http.PostAsync("v1/jobs/import", Json(text)), HttpStatusCode.Conflict);

        // The imported job hands out the shard that was in flight first, then finishes.
        var first = await server.Client.LeaseAsync("http-ckpt-copy", "w2", 1);
        Assert.Equal((leases.Leases[1].TaskId, 2), (first.Leases[0].TaskId, first.Leases[0].Attempt));
        var batch = first;
        while (batch.State != JobStates.Completed)
        {
            foreach (var lease in batch.Leases)
            {
                await server.Client.ReportAsync("http-ckpt-copy", new TaskReport(lease.TaskId, lease.LeaseId, "w2", true));
            }

            batch = await server.Client.LeaseAsync("http-ckpt-copy", "w2", 3);
        }

        var final = await server.Client.GetJobAsync("http-ckpt-copy");
        Assert.Equal(2 * 2_500, final.Records.Delivered);
        var listed = await Http.GetStringAsync("v1/jobs");
        Assert.Contains("http-ckpt-copy", listed, StringComparison.Ordinal);

        // A completed job's checkpoint imports as a completed job.
        var done = await Http.GetStringAsync("v1/jobs/http-ckpt-copy/checkpoint");
        Assert.True(JsonDocument.Parse(done).RootElement.GetProperty("completed").GetBoolean());
        var completed = await Http.PostAsync("v1/jobs/import?id=http-ckpt-done", Json(done));
        Assert.Equal(HttpStatusCode.Created, completed.StatusCode);
        Assert.Equal(JobStates.Completed, (await server.Client.GetJobAsync("http-ckpt-done")).State);
    }

    [Fact]
    public async Task Garbage_unknown_versions_and_unknown_fields_are_400_problems_that_name_the_field()
    {
        var garbage = await Problem(await Http.PostAsync("v1/jobs/import", Json("this is not a checkpoint")), HttpStatusCode.BadRequest);
        Assert.Equal("body", garbage.GetProperty("field").GetString());
        var array = await Problem(await Http.PostAsync("v1/jobs/import", Json("[1,2]")), HttpStatusCode.BadRequest);
        Assert.Equal("body", array.GetProperty("field").GetString());
        var noFormat = await Problem(await Http.PostAsync("v1/jobs/import", Json("""{"jobId":"x"}""")), HttpStatusCode.BadRequest);
        Assert.Equal("format", noFormat.GetProperty("field").GetString());

        // A later version may hold fields this one does not know: the version is what is refused.
        var v2 = await Problem(await Http.PostAsync("v1/jobs/import", Json("""{"format":"orleans-shards-checkpoint","version":2,"somethingNew":{}}""")), HttpStatusCode.BadRequest);
        Assert.Equal("version", v2.GetProperty("field").GetString());
        Assert.Equal("version 2 is not supported; this server reads version 1", v2.GetProperty("detail").GetString());

        var unknown = await Problem(await Http.PostAsync("v1/jobs/import", Json("""{"format":"orleans-shards-checkpoint","version":1,"secretKey":"x"}""")), HttpStatusCode.BadRequest);
        Assert.Contains("secretKey", unknown.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var empty = await Problem(await Http.PostAsync("v1/jobs/import?id=empty", Json("""{"format":"orleans-shards-checkpoint","version":1}""")), HttpStatusCode.BadRequest);
        Assert.Equal("lifecycle", empty.GetProperty("field").GetString());

        var missing = await Problem(await Http.GetAsync("v1/jobs/no-such-job/checkpoint"), HttpStatusCode.NotFound);
        Assert.Contains("no-such-job", missing.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
