using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using OrleansShards.Silo.Auth;

namespace OrleansShards.Silo.Tests;

/// <summary>Bearer tokens and roles on a real Kestrel server: every role against every route family.</summary>
public sealed class AuthTests(SecuredServerFixture server) : IClassFixture<SecuredServerFixture>
{
    private const string Job = "auth-job";
    private const string JobSpecJson = """{"id":"auth-job","source":{"kind":"csv","paths":["small.csv"]},"shardSize":1000,"epochs":1,"seed":1}""";

    /// <summary>A request and who may make it; <see cref="Expected"/> is the status for those allowed (null: any answer but 401, 403 or 5xx).</summary>
    private sealed record Case(string Method, string Path, string? Body, string[] Allowed, int? Expected)
    {
        public override string ToString() => $"{Method} {Path}";
    }

    private static readonly string[] Anyone = ["admin", "worker", "producer", "reader", "none"];
    private static readonly string[] Roles = ["admin", "worker", "producer", "reader"];

    /// <summary>The matrix of README "Authentication", one row a route family, in an order that leaves the job usable for the rows after it.</summary>
    private static readonly Case[] Matrix =
    [
        // Operations and documents: open.
        new("GET", "/healthz", null, Anyone, 200),
        new("GET", "/readyz", null, Anyone, 200),
        new("GET", "/openapi/v1.json", null, Anyone, 200),
        new("GET", "/", null, Anyone, 200),
        new("GET", "/status/status.js", null, Anyone, 200),

        // Jobs: reading.
        new("GET", "/v1/jobs", null, ["admin", "worker", "reader"], 200),
        new("GET", $"/v1/jobs/{Job}", null, ["admin", "worker", "reader"], 200),
        new("GET", $"/v1/jobs/{Job}/leases", null, ["admin", "worker", "reader"], 200),
        new("GET", "/v1/status", null, ["admin", "reader"], 200),
        new("GET", "/v1/status/stream", null, ["admin", "reader"], 200),

        // Workers' routes.
        new("POST", $"/v1/jobs/{Job}/leases", """{"workerId":"w-auth","maxTasks":1}""", ["admin", "worker"], 200),
        new("POST", $"/v1/jobs/{Job}/heartbeats", """{"workerId":"w-auth","leaseIds":[]}""", ["admin", "worker"], 200),
        new("POST", $"/v1/jobs/{Job}/releases", """{"workerId":"w-auth","leaseIds":[]}""", ["admin", "worker"], 200),
        new("POST", $"/v1/jobs/{Job}/reports", """{"taskId":"e0.p9.0-1000","leaseId":"L0","workerId":"w-auth","outcome":"done"}""", ["admin", "worker"], 404),
        new("GET", $"/v1/jobs/{Job}/tasks/e0.p0.0-1000/records?limit=2", null, ["admin", "worker", "reader"], 200),

        // Admin only: lifecycle, checkpoints, creation.
        new("POST", "/v1/jobs", JobSpecJson, ["admin"], 200),
        new("GET", $"/v1/jobs/{Job}/checkpoint", null, ["admin"], 200),
        new("POST", "/v1/jobs/import", """{"format":"orleans-shards-checkpoint","version":999}""", ["admin"], 400),
        new("POST", $"/v1/jobs/{Job}/pause", null, ["admin"], 200),
        new("POST", $"/v1/jobs/{Job}/resume", null, ["admin"], 200),
        new("POST", "/v1/jobs/auth-missing/cancel", null, ["admin"], 404),
        new("POST", $"/v1/jobs/{Job}/dead-letters/retry", null, ["admin"], 200),
        new("DELETE", "/v1/jobs/auth-missing", null, ["admin"], 404),

        // Topics (the lead's TopicEndpoints): on a branch without them these answer 404, which is past authorization.
        new("POST", "/v1/topics", """{"name":"auth-topic","partitions":1}""", ["admin", "producer"], null),
        new("POST", "/v1/topics/auth-topic/partitions/0/records", """[{"a":1}]""", ["admin", "producer"], null),
        new("GET", "/v1/topics/auth-topic/partitions/0/records?from=0&limit=1", null, ["admin", "worker", "producer", "reader"], null),
        new("GET", "/v1/topics/auth-topic/partitions/0/stream?from=0", null, ["admin", "worker", "producer", "reader"], null),
        new("GET", "/v1/topics/auth-topic/partitions/0/ws?from=0", null, ["admin", "worker", "producer", "reader"], null),

        // Routes no rule names: GETs for readers, anything else for admins only.
        new("GET", "/metrics", null, ["admin", "reader"], null),
        new("GET", "/v1/not-a-route", null, ["admin", "reader"], 404),
        new("POST", "/v1/not-a-route", "{}", ["admin"], 404),
    ];

    private async Task<(int Status, string? Body, HttpResponseMessage? Response)> Send(HttpClient http, Case @case, bool readBody)
    {
        using var request = new HttpRequestMessage(new HttpMethod(@case.Method), @case.Path.TrimStart('/'));
        if (@case.Body is not null)
        {
            request.Content = new StringContent(@case.Body, Encoding.UTF8, "application/json");
        }

        // Streams answer headers and go on: read only as far as the status. An allowed stream that keeps its
        // headers back (waiting for a record) is past authorization, which answers at once.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var body = readBody || (int)response.StatusCode >= 400 ? await response.Content.ReadAsStringAsync(timeout.Token) : null;
            return ((int)response.StatusCode, body, response);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return (0, null, null);
        }
    }

    private async Task EnsureJob()
    {
        using var admin = server.AsRole("admin");
        var created = await admin.PostAsync("v1/jobs", new StringContent(JobSpecJson, Encoding.UTF8, "application/json"));
        Assert.True(created.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, $"creating {Job}: {created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        // Wait until the job has described its source, so its checkpoint and leases answer 200.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((await admin.GetAsync($"v1/jobs/{Job}/checkpoint")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{Job} did not finish describing its source in 60 s");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Every_role_gets_what_the_matrix_says_on_every_route_family()
    {
        await EnsureJob();
        var wrong = new List<string>();
        foreach (var @case in Matrix)
        {
            foreach (var role in Roles.Append("none"))
            {
                using var http = role == "none" ? new HttpClient { BaseAddress = server.Address } : server.AsRole(role);
                var (status, body, response) = await Send(http, @case, readBody: !@case.Path.Contains("/stream", StringComparison.Ordinal));
                using (response)
                {
                    var allowed = @case.Allowed.Contains(role);
                    string? problem = null;
                    if (allowed && @case.Expected is { } expected && status != expected)
                    {
                        problem = $"expected {expected}";
                    }
                    else if (allowed && status is 401 or 403 or >= 500)
                    {
                        problem = "expected an answer past authorization";
                    }
                    else if (!allowed && role == "none" && status != 401)
                    {
                        problem = "expected 401";
                    }
                    else if (!allowed && role != "none" && status != 403)
                    {
                        problem = "expected 403";
                    }
                    else if (!allowed && response is not null)
                    {
                        // Refusals are ProblemDetails; a 401 says how to authenticate.
                        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json" || body is null || !body.Contains("\"detail\"", StringComparison.Ordinal))
                        {
                            problem = "expected a ProblemDetails body with a detail";
                        }
                        else if (status == 401 && !response.Headers.WwwAuthenticate.ToString().StartsWith("Bearer", StringComparison.Ordinal))
                        {
                            problem = "expected WWW-Authenticate: Bearer";
                        }
                    }

                    if (problem is not null)
                    {
                        wrong.Add($"{@case} as {role}: {status} ({problem}) {body?[..Math.Min(body.Length, 200)]}");
                    }
                }
            }
        }

        Assert.True(wrong.Count == 0, "the role matrix does not hold:\n" + string.Join('\n', wrong));
    }

    [Fact]
    public async Task A_403_names_the_role_the_route_and_the_roles_allowed()
    {
        using var reader = server.AsRole("reader");
        var response = await reader.PostAsync("v1/jobs", new StringContent(JobSpecJson, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
        Assert.Equal("role 'reader' may not use POST /v1/jobs; roles allowed: admin", detail);

        using var worker = server.AsRole("worker");
        var checkpoint = await worker.GetAsync("v1/jobs/anything/checkpoint");
        Assert.Equal(HttpStatusCode.Forbidden, checkpoint.StatusCode);
        Assert.Contains("GET /v1/jobs/{id}/checkpoint", await checkpoint.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_missing_and_malformed_tokens_are_401_with_a_bearer_challenge()
    {
        var missing = await server.Anonymous.GetAsync("v1/jobs");
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("Bearer realm=\"orleans-shards\"", missing.Headers.WwwAuthenticate.ToString());
        Assert.Contains("Authorization: Bearer <token>", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var wrong = server.As("not-" + SecuredServerFixture.AdminToken);
        var refused = await wrong.GetAsync("v1/jobs");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("error=\"invalid_token\"", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);

        // A token that is a prefix of a real one, or the real one with another case, is another token.
        using var prefix = server.As(SecuredServerFixture.AdminToken[..^1]);
        Assert.Equal(HttpStatusCode.Unauthorized, (await prefix.GetAsync("v1/jobs")).StatusCode);
        using var upper = server.As(SecuredServerFixture.AdminToken.ToUpperInvariant());
        Assert.Equal(HttpStatusCode.Unauthorized, (await upper.GetAsync("v1/jobs")).StatusCode);

        using var basic = new HttpRequestMessage(HttpMethod.Get, "v1/jobs");
        basic.Headers.TryAddWithoutValidation("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + SecuredServerFixture.AdminToken)));
        var malformed = await server.Anonymous.SendAsync(basic);
        Assert.Equal(HttpStatusCode.Unauthorized, malformed.StatusCode);
        Assert.Contains("not 'Bearer <token>'", await malformed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streams_take_the_token_as_access_token_and_other_routes_do_not()
    {
        using var stream = new HttpRequestMessage(HttpMethod.Get, "v1/status/stream?access_token=" + SecuredServerFixture.ReaderToken);
        using var answer = await server.Anonymous.SendAsync(stream, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("text/event-stream", answer.Content.Headers.ContentType?.MediaType);

        var notStreaming = await server.Anonymous.GetAsync("v1/status?access_token=" + SecuredServerFixture.ReaderToken);
        Assert.Equal(HttpStatusCode.Unauthorized, notStreaming.StatusCode);

        using var workerStream = new HttpRequestMessage(HttpMethod.Get, "v1/status/stream?access_token=" + SecuredServerFixture.WorkerToken);
        using var forbidden = await server.Anonymous.SendAsync(workerStream, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }

    [Fact]
    public async Task The_token_file_is_read_again_when_it_changes()
    {
        const string rotated = "reader-rotated-4c1f8e2a9b7d";
        using var http = server.As(rotated);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("v1/jobs")).StatusCode);
        var original = await File.ReadAllTextAsync(server.TokensFile);
        try
        {
            await File.WriteAllTextAsync(server.TokensFile, $$"""
                [{"token": "{{SecuredServerFixture.ProducerToken}}", "role": "producer"},
                 {"token": "{{SecuredServerFixture.ReaderToken}}", "role": "reader"},
                 {"token": "{{rotated}}", "role": "reader"}]
                """);
            File.SetLastWriteTimeUtc(server.TokensFile, DateTime.UtcNow.AddSeconds(5));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            HttpStatusCode status;
            while ((status = (await http.GetAsync("v1/jobs")).StatusCode) != HttpStatusCode.OK)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the rotated token is still refused ({status}) 30 s after the file changed");
                await Task.Delay(200);
            }
        }
        finally
        {
            await File.WriteAllTextAsync(server.TokensFile, original);
            File.SetLastWriteTimeUtc(server.TokensFile, DateTime.UtcNow.AddSeconds(10));
        }
    }

    [Fact]
    public async Task Tokens_never_appear_in_the_logs()
    {
        foreach (var (role, token) in SecuredServerFixture.TokenOf)
        {
            using var http = server.As(token);
            await http.GetAsync("v1/jobs");
            await http.PostAsync("v1/jobs", new StringContent("{}", Encoding.UTF8, "application/json"));
            using var viaQuery = new HttpRequestMessage(HttpMethod.Get, $"v1/status/stream?access_token={token}");
            using var answer = await server.Anonymous.SendAsync(viaQuery, HttpCompletionOption.ResponseHeadersRead);
        }

        using var wrong = server.As("wrong-token-e1d2c3b4a5968778");
        await wrong.GetAsync("v1/jobs");
        var logs = server.Logs.Text();
        // The capture is live: authentication and its refusals are logged, only never with a token.
        Assert.Contains("Bearer was not authenticated", logs, StringComparison.Ordinal);
        Assert.Contains("Bearer was forbidden", logs, StringComparison.Ordinal);
        foreach (var token in SecuredServerFixture.TokenOf.Values.Append("wrong-token-e1d2c3b4a5968778"))
        {
            Assert.DoesNotContain(token, logs, StringComparison.Ordinal);
            Assert.DoesNotContain(token[^12..], logs, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_token_file_of_lines_gives_each_token_its_role_and_bad_entries_are_named()
    {
        var dir = Directory.CreateTempSubdirectory("shards-tokens-");
        try
        {
            var file = Path.Combine(dir.FullName, "tokens");
            File.WriteAllText(file, "# rotated 2026-11-24\nworker:worker-line-token-0001\n\n  reader : reader-line-token-0002:with-colon \n");
            var store = new AuthTokenStore(new AuthSettings { TokensFile = file }, new FakeTimeProvider());
            Assert.True(store.Enabled);
            Assert.Equal(new TokenHolder("worker#0", "worker"), store.Find("worker-line-token-0001"));
            Assert.Equal(new TokenHolder("reader#1", "reader"), store.Find("reader-line-token-0002:with-colon"));
            Assert.Null(store.Find("worker-line-token-000"));
            Assert.Null(store.Find(""));

            File.WriteAllText(file, "worker:worker-line-token-0001\nnot a token line\n");
            var bad = Assert.Throws<InvalidOperationException>(() => new AuthTokenStore(new AuthSettings { TokensFile = file }, TimeProvider.System));
            Assert.Contains("line 2 is not 'role:token'", bad.Message, StringComparison.Ordinal);

            var role = Assert.Throws<InvalidOperationException>(() => new AuthTokenStore(
                new AuthSettings { Tokens = [new AuthTokenSettings { Token = "0123456789abcdef0", Role = "root" }] }, TimeProvider.System));
            Assert.Equal("Shards:Auth:Tokens:0: role 'root' is not one of admin, worker, producer, reader", role.Message);

            var shortToken = Assert.Throws<InvalidOperationException>(() => new AuthTokenStore(
                new AuthSettings { Tokens = [new AuthTokenSettings { Token = "secret", Role = "admin" }] }, TimeProvider.System));
            Assert.Contains("shorter than 16 characters", shortToken.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("secret", shortToken.Message, StringComparison.Ordinal);

            var missing = Assert.Throws<InvalidOperationException>(() => new AuthTokenStore(new AuthSettings { TokensFile = Path.Combine(dir.FullName, "absent") }, TimeProvider.System));
            Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);

            var off = new AuthTokenStore(new AuthSettings(), TimeProvider.System);
            Assert.False(off.Enabled);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
