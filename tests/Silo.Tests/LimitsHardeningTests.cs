using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OrleansShards.Silo.Auth;

namespace OrleansShards.Silo.Tests;

/// <summary>
/// The attacks of issue 16 (part A) against the real server: each reproduces what a caller could send and asserts
/// the answer (a 4xx ProblemDetails naming the field, or the bound) and that the silo still serves afterwards.
/// </summary>
[Collection(LimitsCollection.Name)]
public sealed class LimitsHardeningTests(LimitsServerFixture server, ITestOutputHelper output) : IDisposable
{
    private readonly HttpClient _admin = server.As(LimitsServerFixture.AdminToken);
    private readonly HttpClient _worker = server.As(LimitsServerFixture.WorkerToken);
    private readonly HttpClient _reader = server.As(LimitsServerFixture.ReaderToken);

    public void Dispose()
    {
        _admin.Dispose();
        _worker.Dispose();
        _reader.Dispose();
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>
    /// Posts with <c>Expect: 100-continue</c>, as a client sending a large body should: the server answers 413 before the
    /// body is sent, so the answer is read rather than lost to a connection the server closed mid-upload (a race on a
    /// busy machine).
    /// </summary>
    private static Task<HttpResponseMessage> PostExpectingContinue(HttpClient client, string path, HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.ExpectContinue = true;
        return client.SendAsync(request);
    }

    private static async Task<JsonElement> Problem(HttpResponseMessage response, HttpStatusCode expected, string? field)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement.Clone();
        if (field is not null)
        {
            Assert.Equal(field, problem.GetProperty("field").GetString());
        }

        return problem;
    }

    private async Task StillServes()
    {
        Assert.Equal(HttpStatusCode.OK, (await _admin.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _admin.GetAsync("/v1/jobs")).StatusCode);
    }

    private async Task<string> CreateJob(string id, int shardSize = 10, int maxAttempts = 3, int leaseTimeoutSeconds = 60)
    {
        var response = await _admin.PostAsync("/v1/jobs", Json($$"""{"id":"{{id}}","source":{"kind":"csv","paths":["small.csv"]},"shardSize":{{shardSize}},"maxAttempts":{{maxAttempts}},"leaseTimeoutSeconds":{{leaseTimeoutSeconds}}}"""));
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return id;
    }

    private async Task<List<JsonElement>> Lease(HttpClient http, string job, string worker, int maxTasks)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var leases = new List<JsonElement>();
        while (leases.Count < maxTasks)
        {
            var response = await http.PostAsJsonAsync($"/v1/jobs/{job}/leases", new { workerId = worker, maxTasks = maxTasks - leases.Count }, timeout.Token);
            var batch = await response.Content.ReadFromJsonAsync<JsonElement>(timeout.Token);
            Assert.True(response.IsSuccessStatusCode, batch.ToString());
            var got = batch.GetProperty("leases").EnumerateArray().ToList();
            leases.AddRange(got);
            if (got.Count == 0)
            {
                await Task.Delay(batch.TryGetProperty("retryAfterMs", out var ms) ? ms.GetInt32() : 100, timeout.Token); // still describing its file
            }
        }

        return leases;
    }

    [Fact]
    public async Task A_half_megabyte_worker_id_is_refused_naming_the_field_and_the_limit()
    {
        var job = await CreateJob("long-worker");
        var problem = await Problem(await _worker.PostAsJsonAsync($"/v1/jobs/{job}/leases", new { workerId = new string('w', 512 * 1024), maxTasks = 200 }), HttpStatusCode.BadRequest, "workerId");
        Assert.Contains("at most 256", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await Problem(await _worker.PostAsJsonAsync($"/v1/jobs/{job}/heartbeats", new { workerId = "w", leaseIds = new[] { new string('L', 300) } }), HttpStatusCode.BadRequest, "leaseIds[0]");
        await Problem(await _worker.PostAsJsonAsync($"/v1/jobs/{job}/releases", new { workerId = "w", leaseIds = Enumerable.Repeat("L0", 1001) }), HttpStatusCode.BadRequest, "leaseIds");
        await StillServes();
    }

    [Fact]
    public async Task Many_leases_of_long_worker_ids_huge_errors_and_status_followers_keep_answers_and_memory_bounded()
    {
        var before = Environment.WorkingSet;
        // Leases that outlive the test however slow the machine: the snapshots below count them.
        var job = await CreateJob("amplified", shardSize: 10, maxAttempts: 1, leaseTimeoutSeconds: 3_600);
        var worker = new string('w', 256); // the longest worker id allowed
        var leases = await Lease(_worker, job, worker, 200);

        // Failures with a half-megabyte error each: the book keeps at most the limit, with a visible marker.
        foreach (var lease in leases.Take(10))
        {
            var failed = new { taskId = lease.GetProperty("taskId").GetString(), leaseId = lease.GetProperty("leaseId").GetString(), workerId = worker, outcome = "failed", error = new string('e', 1 << 19) };
            Assert.Equal(HttpStatusCode.OK, (await _worker.PostAsJsonAsync($"/v1/jobs/{job}/reports", failed)).StatusCode);
        }

        var status = await _admin.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}");
        var dead = status.GetProperty("deadLetters").EnumerateArray().ToList();
        Assert.Equal(10, dead.Count);
        Assert.All(dead, d =>
        {
            // At most the limit, ending with a marker that counts what was cut: kept plus cut is the whole text.
            var error = d.GetProperty("lastError").GetString()!;
            Assert.InRange(error.Length, 2000, 2048);
            var marker = Regex.Match(error, "…\\[truncated (\\d+) chars\\]$");
            Assert.True(marker.Success, error[^40..]);
            Assert.Equal(1 << 19, error.IndexOf('…', StringComparison.Ordinal) + int.Parse(marker.Groups[1].Value, CultureInfo.InvariantCulture));
        });

        var leasesAnswer = await _reader.GetByteArrayAsync($"/v1/jobs/{job}/leases");
        Assert.InRange(leasesAnswer.Length, 1, 190 * 500); // 190 leases of a 256-character worker id, not 105 MB

        // The followers cap: three follow, the fourth is told to come back.
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var followers = new List<(HttpResponseMessage Response, StreamReader Reader)>();
        for (var i = 0; i < LimitsServerFixture.MaxStatusFollowers; i++)
        {
            var response = await _reader.GetAsync("/v1/status/stream?intervalMs=100", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            // A follower an earlier test closed counts until the server's next write to it fails: wait that out.
            while (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                response.Dispose();
                await Task.Delay(200, cancel.Token);
                response = await _reader.GetAsync("/v1/status/stream?intervalMs=100", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            followers.Add((response, new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token))));
        }

        var refused = await _reader.GetAsync("/v1/status/stream", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        await Problem(refused, HttpStatusCode.ServiceUnavailable, null);
        Assert.NotNull(refused.Headers.RetryAfter);

        foreach (var (response, reader) in followers)
        {
            for (var events = 0; events < 3; events++)
            {
                var data = await NextEventData(reader, cancel.Token);
                Assert.InRange(data.Length, 1, 256 * 1024);
                var snapshot = JsonNode.Parse(data)!;
                var mine = snapshot["jobs"]!.AsArray().Single(j => (string?)j!["status"]!["id"] == job)!;
                // Listed plus counted is every lease in flight at the snapshot (some of the 190 may have expired by now).
                var doing = (int)mine["status"]!["shards"]!["doing"]!;
                Assert.True(doing > LimitsServerFixture.StatusLeasesPerJob, $"only {doing} leases left in flight");
                Assert.Equal(LimitsServerFixture.StatusLeasesPerJob, mine["leases"]!.AsArray().Count);
                Assert.Equal(doing - LimitsServerFixture.StatusLeasesPerJob, (int)mine["leasesNotListed"]!);
                // The same for dead letters, against the dead-lettered count of the same snapshot (a snapshot built on a
                // tick may predate the last of the ten failures).
                var deadInSnapshot = (int)mine["status"]!["shards"]!["failed"]!;
                Assert.True(deadInSnapshot > LimitsServerFixture.StatusDeadLettersPerJob, $"only {deadInSnapshot} dead letters in the snapshot");
                Assert.Equal(LimitsServerFixture.StatusDeadLettersPerJob, mine["status"]!["deadLetters"]!.AsArray().Count);
                Assert.Equal(deadInSnapshot - LimitsServerFixture.StatusDeadLettersPerJob, (int)mine["deadLettersNotListed"]!);
            }

            reader.Dispose();
            response.Dispose();
        }

        // A follower that left frees its place.
        using var again = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            using var response = await _reader.GetAsync("/v1/status/stream", HttpCompletionOption.ResponseHeadersRead, again.Token);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                break;
            }

            await Task.Delay(50, again.Token);
        }

        var snapshotBody = await _reader.GetByteArrayAsync("/v1/status");
        Assert.InRange(snapshotBody.Length, 1, 256 * 1024);
        var growth = Environment.WorkingSet - before;
        output.WriteLine($"leases answer {leasesAnswer.Length} bytes, status snapshot {snapshotBody.Length} bytes, working set growth {growth >> 20} MiB");
        Assert.InRange(growth, long.MinValue, 300L << 20);
        await StillServes();
    }

    private static async Task<string> NextEventData(StreamReader reader, CancellationToken cancellationToken)
    {
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                return line["data: ".Length..];
            }
        }

        throw new EndOfStreamException("the status stream ended");
    }

    [Fact]
    public async Task Null_lease_ids_and_null_reports_are_a_400_naming_the_entry()
    {
        var job = await CreateJob("nulls");
        await Problem(await _worker.PostAsync($"/v1/jobs/{job}/heartbeats", Json("""{"workerId":"w","leaseIds":[null]}""")), HttpStatusCode.BadRequest, "leaseIds[0]");
        await Problem(await _worker.PostAsync($"/v1/jobs/{job}/releases", Json("""{"workerId":"w","leaseIds":["L0",null]}""")), HttpStatusCode.BadRequest, "leaseIds[1]");
        await Problem(await _worker.PostAsync($"/v1/jobs/{job}/reports", Json("""{"reports":[null]}""")), HttpStatusCode.BadRequest, "reports[0]");
        await StillServes();
    }

    [Fact]
    public async Task Lease_ids_cannot_be_guessed_and_another_workers_lease_is_refused()
    {
        var job = await CreateJob("guess");
        var mine = (await Lease(_worker, job, "w-a", 1)).Single();
        var leaseId = mine.GetProperty("leaseId").GetString()!;
        Assert.Matches("^L0\\.[A-Za-z0-9_-]{22}$", leaseId);

        // Another worker reporting w-a's lease is refused, and the shard stays w-a's.
        var taskId = mine.GetProperty("taskId").GetString();
        var problem = await Problem(await _worker.PostAsJsonAsync($"/v1/jobs/{job}/reports", new { taskId, leaseId, workerId = "w-b", outcome = "done" }), HttpStatusCode.Conflict, "leaseId");
        Assert.Contains("is held by worker 'w-a'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await Problem(await _worker.PostAsJsonAsync($"/v1/jobs/{job}/reports", new { taskId, leaseId = "L0", workerId = "w-a", outcome = "done" }), HttpStatusCode.Conflict, "leaseId");

        // Workers see who holds what, never the ids; readers and admins see them.
        var seenByWorker = await _worker.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}/leases");
        Assert.Equal(["w-a"], seenByWorker.GetProperty("leases").EnumerateArray().Select(l => l.GetProperty("workerId").GetString()));
        Assert.Equal([""], seenByWorker.GetProperty("leases").EnumerateArray().Select(l => l.GetProperty("leaseId").GetString()));
        var seenByReader = await _reader.GetFromJsonAsync<JsonElement>($"/v1/jobs/{job}/leases");
        Assert.Equal([leaseId], seenByReader.GetProperty("leases").EnumerateArray().Select(l => l.GetProperty("leaseId").GetString()));

        // The same job id again (a new incarnation) hands out other ids.
        Assert.Equal(HttpStatusCode.NoContent, (await _admin.DeleteAsync($"/v1/jobs/{job}")).StatusCode);
        await CreateJob(job);
        var next = (await Lease(_worker, job, "w-a", 1)).Single().GetProperty("leaseId").GetString();
        Assert.StartsWith("L0.", next, StringComparison.Ordinal);
        Assert.NotEqual(leaseId, next);
        Assert.Equal(HttpStatusCode.OK, (await _worker.PostAsJsonAsync($"/v1/jobs/{job}/reports", new { taskId, leaseId = next, workerId = "w-a", outcome = "done" })).StatusCode);
    }

    [Fact]
    public async Task A_body_past_its_route_familys_limit_is_a_413_naming_the_limit()
    {
        var job = await CreateJob("big-body");
        var report = Json($$"""{"taskId":"e0.p0.0-10","leaseId":"L0","workerId":"w","outcome":"failed","error":"{{new string('x', 2 << 20)}}"}""");
        var problem = await Problem(await PostExpectingContinue(_worker, $"/v1/jobs/{job}/reports", report), HttpStatusCode.RequestEntityTooLarge, "body");
        Assert.Contains("1048576 bytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("Shards:Limits:MaxBodyBytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Created, (await _admin.PostAsJsonAsync("/v1/topics", new { name = "big-appends", partitions = 1 })).StatusCode);
        var records = "[" + string.Join(',', Enumerable.Range(0, 3).Select(i => $$"""{"id":{{i}},"text":"{{new string('t', 1 << 20)}}"}""")) + "]";
        var append = await Problem(await PostExpectingContinue(_admin, "/v1/topics/big-appends/partitions/0/records", Json(records)), HttpStatusCode.RequestEntityTooLarge, "body");
        Assert.Contains("Shards:Limits:MaxAppendBodyBytes", append.GetProperty("detail").GetString(), StringComparison.Ordinal);
        // Under the limit, the same route takes a body above 1 MiB (the other families' limit).
        var fits = "[" + string.Join(',', Enumerable.Range(0, 1).Select(i => $$"""{"id":{{i}},"text":"{{new string('t', 3 << 19)}}"}""")) + "]";
        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync("/v1/topics/big-appends/partitions/0/records", Json(fits))).StatusCode);
        await StillServes();

        // The document says so for every operation that takes a body.
        var document = await _admin.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var withBodies = document.GetProperty("paths").EnumerateObject().SelectMany(p => p.Value.EnumerateObject())
            .Where(o => o.Value.TryGetProperty("requestBody", out _)).ToList();
        Assert.NotEmpty(withBodies);
        Assert.All(withBodies, o => Assert.True(o.Value.GetProperty("responses").TryGetProperty("413", out _), o.Name));
    }

    [Fact]
    public void A_limit_configured_beyond_the_grains_ceiling_fails_at_start_naming_its_key()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new Hosting.ShardsLimitsOptions { MaxIdLength = 100_000 }.Validate());
        Assert.Contains("Shards:Limits:MaxIdLength", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => new Hosting.ShardsLimitsOptions { MaxAppendBodyBytes = 1L << 30 }.Validate());
    }

    [Fact]
    public async Task A_query_value_that_does_not_bind_names_its_field()
    {
        var problem = await Problem(await _reader.GetAsync("/v1/status/stream?intervalMs=abc"), HttpStatusCode.BadRequest, "intervalMs");
        Assert.Contains("abc", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var job = await CreateJob("bad-query");
        await Problem(await _worker.GetAsync($"/v1/jobs/{job}/tasks/e0.p0.0-10/records?limit=abc"), HttpStatusCode.BadRequest, "limit");
        await StillServes();
    }

    [Fact]
    public async Task An_unknown_route_is_a_404_pointing_at_the_api()
    {
        var problem = await Problem(await _admin.GetAsync("/jobs"), HttpStatusCode.NotFound, "path");
        var detail = problem.GetProperty("detail").GetString();
        Assert.Contains("/v1", detail, StringComparison.Ordinal);
        Assert.Contains("/openapi/v1.json", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_shard_size_near_long_max_is_a_400_naming_shardSize()
    {
        var problem = await Problem(
            await _admin.PostAsync("/v1/jobs", Json($$"""{"id":"huge-shards","source":{"kind":"csv","paths":["small.csv"]},"shardSize":{{long.MaxValue - 1}}}""")),
            HttpStatusCode.BadRequest,
            "shardSize");
        Assert.Contains("2^40", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"")]
    [InlineData("\n")]
    [InlineData("é")]
    public async Task A_checkpoint_with_a_delimiter_the_csv_reader_cannot_split_on_is_a_400(string delimiter)
    {
        var job = await CreateJob("delimited-" + (int)delimiter[0]);
        await Lease(_worker, job, "w", 1); // described: the checkpoint can be taken
        var document = JsonNode.Parse(await _admin.GetStringAsync($"/v1/jobs/{job}/checkpoint"))!;
        document["spec"]!["source"]!["delimiter"] = delimiter;
        await Problem(await _admin.PostAsync($"/v1/jobs/import?id={job}-copy", Json(document.ToJsonString())), HttpStatusCode.BadRequest, "spec.source.delimiter");
        await Problem(
            await _admin.PostAsJsonAsync("/v1/jobs", new { id = job + "-new", source = new { kind = "csv", paths = new[] { "small.csv" }, delimiter } }),
            HttpStatusCode.BadRequest,
            "source.delimiter");
        await StillServes();
    }

    [Fact]
    public async Task A_live_checkpoint_with_null_entries_bad_counts_or_a_bad_id_is_a_400()
    {
        Assert.Equal(HttpStatusCode.Created, (await _admin.PostAsJsonAsync("/v1/topics", new { name = "live-import", partitions = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _admin.PostAsJsonAsync("/v1/jobs", new { id = "live-export", source = new { kind = "topic", topic = "live-import" }, shardSize = 10, maxWaitMs = 50 })).StatusCode);
        JsonNode document;
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (true)
            {
                var response = await _admin.GetAsync("/v1/jobs/live-export/checkpoint", timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    document = JsonNode.Parse(await response.Content.ReadAsStringAsync(timeout.Token))!;
                    break;
                }

                await Task.Delay(50, timeout.Token);
            }
        }

        async Task Refused(string field, Action<JsonNode> change, string id = "live-copy")
        {
            var copy = document.DeepClone();
            change(copy);
            await Problem(await _admin.PostAsync($"/v1/jobs/import?id={Uri.EscapeDataString(id)}", Json(copy.ToJsonString())), HttpStatusCode.BadRequest, field);
        }

        await Refused("live[0]", d => d["live"]!.AsArray()[0] = null);
        await Refused("live[0].fresh[0]", d => d["live"]!.AsArray()[0]!["fresh"] = new JsonArray((JsonNode?)null));
        await Refused("doing[0]", d => d["doing"] = new JsonArray((JsonNode?)null));
        await Refused("retries[0]", d => d["retries"] = new JsonArray((JsonNode?)null));
        await Refused("deadLetters[0]", d => d["deadLetters"] = new JsonArray((JsonNode?)null));
        await Refused("done", d => d["done"]!["shards"] = -5);
        await Refused("id", _ => { }, id: "bad id!");
        await StillServes();
    }

    [Fact]
    public async Task Records_of_a_live_job_whose_topic_was_deleted_are_a_404_naming_the_topic()
    {
        Assert.Equal(HttpStatusCode.Created, (await _admin.PostAsJsonAsync("/v1/topics", new { name = "vanishing", partitions = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _admin.PostAsJsonAsync("/v1/jobs", new { id = "orphan", source = new { kind = "topic", topic = "vanishing" }, shardSize = 10, maxWaitMs = 50 })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsJsonAsync("/v1/topics/vanishing/partitions/0/records", Enumerable.Range(0, 10).Select(i => new { id = i }))).StatusCode);
        var lease = (await Lease(_worker, "orphan", "w", 1)).Single();
        Assert.Equal(HttpStatusCode.NoContent, (await _admin.DeleteAsync("/v1/topics/vanishing")).StatusCode);
        var response = await _worker.GetAsync($"/v1/jobs/orphan/tasks/{lease.GetProperty("taskId").GetString()}/records");
        Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        await Problem(response, response.StatusCode, "topic");
        await StillServes();
    }

    [Fact]
    public async Task The_query_token_is_taken_on_the_streaming_routes_only()
    {
        var token = "?access_token=" + LimitsServerFixture.ReaderToken;
        using var anonymous = new HttpClient { BaseAddress = server.Address };
        using (var stream = await anonymous.GetAsync("/v1/status/stream" + token, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        }

        // Paths that merely end like a streaming route, and every other route, want the header.
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/jobs/stream" + token)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/jobs/x/ws" + token)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/status" + token)).StatusCode);

        // Each listed template is a route of the server: renaming one cannot silently drop the query token.
        var templates = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().Select(e => e.RoutePattern.RawText).ToHashSet();
        Assert.All(BearerTokenHandler.StreamingRoutes, route => Assert.Contains(route, templates));
    }
}
