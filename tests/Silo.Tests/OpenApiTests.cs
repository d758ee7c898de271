using System.Net;
using System.Text.Json;

namespace OrleansShards.Silo.Tests;

/// <summary>The OpenAPI document at /openapi/v1.json against the routes of docs/http-api.md (tests/Silo.Tests/http-api-routes.txt).</summary>
public sealed class OpenApiTests(SecuredServerFixture server) : IClassFixture<SecuredServerFixture>
{
    private const string AfterMergeMarker = "[expected-after-merge]";

    /// <summary>The routes of the contract this branch serves, and those expected once the topic routes are merged.</summary>
    private static (List<(string Method, string Path)> Served, List<(string Method, string Path)> ExpectedAfterMerge) ContractRoutes()
    {
        var served = new List<(string, string)>();
        var afterMerge = new List<(string, string)>();
        var target = served;
        foreach (var raw in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "http-api-routes.txt")))
        {
            var line = raw.Trim();
            if (line == AfterMergeMarker)
            {
                target = afterMerge;
                continue;
            }

            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var parts = line.Split(' ', 2, StringSplitOptions.TrimEntries);
            target.Add((parts[0], parts[1]));
        }

        Assert.True(served.Count >= 14, $"http-api-routes.txt lists {served.Count} served routes: it was not read right");
        return (served, afterMerge);
    }

    /// <summary>A template with its parameter names dropped: <c>/v1/jobs/{id}</c> and <c>/v1/jobs/{jobId}</c> are the same route.</summary>
    private static string Shape(string template) =>
        string.Join('/', template.Split('/').Select(s => s.StartsWith('{') ? "{}" : s));

    private async Task<JsonElement> Document()
    {
        // The document is open: no token, even with authentication on.
        var response = await server.Anonymous.GetAsync("openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static Dictionary<(string Method, string Shape), JsonElement> Operations(JsonElement document)
    {
        var operations = new Dictionary<(string, string), JsonElement>();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                operations[(operation.Name.ToUpperInvariant(), Shape(path.Name))] = operation.Value;
            }
        }

        return operations;
    }

    [Fact]
    public async Task Every_route_of_the_contract_is_in_the_document_with_its_method()
    {
        var operations = Operations(await Document());
        var (served, afterMerge) = ContractRoutes();
        var missing = served.Where(r => !operations.ContainsKey((r.Method, Shape(r.Path)))).Select(r => $"{r.Method} {r.Path}").ToList();
        Assert.True(missing.Count == 0, "routes of docs/http-api.md missing from /openapi/v1.json: " + string.Join(", ", missing) + "\nthe document has: " + string.Join(", ", operations.Keys));

        var pending = afterMerge.Where(r => !operations.ContainsKey((r.Method, Shape(r.Path)))).Select(r => $"{r.Method} {r.Path}").ToList();
        TestContext.Current.TestOutputHelper?.WriteLine(pending.Count == 0
            ? $"every route expected after the merge is documented: move them above '{AfterMergeMarker}' in http-api-routes.txt"
            : "routes expected after the topics merge, not served on this branch yet: " + string.Join(", ", pending));
    }

    [Fact]
    public async Task Every_api_route_has_a_summary_its_answer_and_its_errors()
    {
        var operations = Operations(await Document());
        var (served, _) = ContractRoutes();
        var wrong = new List<string>();
        foreach (var (method, path) in served.Where(r => r.Path.StartsWith("/v1/", StringComparison.Ordinal)))
        {
            var operation = operations[(method, Shape(path))];
            var responses = operation.GetProperty("responses").EnumerateObject().Select(r => r.Name).ToHashSet();
            if (!operation.TryGetProperty("summary", out var summary) || string.IsNullOrWhiteSpace(summary.GetString()))
            {
                wrong.Add($"{method} {path}: no summary");
            }

            // A WebSocket route succeeds by switching protocols.
            if (!responses.Any(r => r.StartsWith('2') || (r == "101" && path.EndsWith("/ws", StringComparison.Ordinal))))
            {
                wrong.Add($"{method} {path}: no success answer");
            }

            // Authentication errors on every route, and the errors of the route itself: a route on one job answers 404 for another.
            foreach (var status in new[] { "401", "403" }.Concat(path.Contains("{id}", StringComparison.Ordinal) ? ["404"] : []))
            {
                if (!responses.Contains(status))
                {
                    wrong.Add($"{method} {path}: {status} not documented");
                }
            }

            if (!responses.Any(r => r is "400" or "404" or "409" or "422" or "503"))
            {
                wrong.Add($"{method} {path}: no error answer of its own documented");
            }

            if (!operation.TryGetProperty("description", out var description) || !description.GetString()!.Contains("Roles: admin", StringComparison.Ordinal))
            {
                wrong.Add($"{method} {path}: the roles that may use it are not described");
            }
        }

        Assert.True(wrong.Count == 0, string.Join('\n', wrong));
    }

    [Fact]
    public async Task Bodies_problems_and_the_bearer_scheme_are_described()
    {
        var document = await Document();
        var operations = Operations(document);
        var create = operations[("POST", "/v1/jobs")];
        Assert.Contains("JobSpec", create.GetProperty("requestBody").GetRawText(), StringComparison.Ordinal);
        var conflict = create.GetProperty("responses").GetProperty("409").GetProperty("content");
        Assert.Contains("ProblemDetails", conflict.GetProperty("application/problem+json").GetRawText(), StringComparison.Ordinal);
        Assert.Contains("JobStatus", create.GetProperty("responses").GetProperty("201").GetRawText(), StringComparison.Ordinal);
        Assert.Contains("LeaseBatch", operations[("POST", "/v1/jobs/{}/leases")].GetProperty("responses").GetProperty("200").GetRawText(), StringComparison.Ordinal);
        var records = operations[("GET", "/v1/jobs/{}/tasks/{}/records")].GetProperty("responses").GetProperty("200").GetProperty("content");
        Assert.True(records.TryGetProperty("application/vnd.apache.arrow.stream", out _), "the Arrow answer of the records route is not documented");

        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal(("http", "bearer"), (scheme.GetProperty("type").GetString(), scheme.GetProperty("scheme").GetString()));
        Assert.Contains("Bearer", operations[("GET", "/v1/jobs")].GetProperty("security").GetRawText(), StringComparison.Ordinal);
        Assert.False(operations[("GET", "/healthz")].TryGetProperty("security", out _), "/healthz is open: it must not ask for a token");
    }

    [Fact]
    public async Task Every_operation_is_under_one_tag_named_for_its_resource()
    {
        string[] resources = ["Jobs", "Leases", "Records", "Runs", "Topics", "Status", "Operations"];
        foreach (var ((method, shape), operation) in Operations(await Document()))
        {
            var tags = operation.TryGetProperty("tags", out var t) ? t.EnumerateArray().Select(x => x.GetString()).ToList() : [];
            var tag = Assert.Single(tags);
            Assert.True(resources.Contains(tag), $"{method} {shape} is tagged '{tag}', not one of {string.Join(", ", resources)}");
            var expected = shape switch
            {
                _ when shape.Contains("/runs", StringComparison.Ordinal) => "Runs",
                _ when shape.StartsWith("/v1/topics", StringComparison.Ordinal) => "Topics",
                _ when shape.EndsWith("/records", StringComparison.Ordinal) => "Records",
                _ when shape.EndsWith("/leases", StringComparison.Ordinal) || shape.EndsWith("/reports", StringComparison.Ordinal)
                    || shape.EndsWith("/heartbeats", StringComparison.Ordinal) || shape.EndsWith("/releases", StringComparison.Ordinal) => "Leases",
                _ when shape.StartsWith("/v1/status", StringComparison.Ordinal) => "Status",
                _ when shape.StartsWith("/v1/jobs", StringComparison.Ordinal) => "Jobs",
                _ => "Operations",
            };
            Assert.True(expected == tag, $"{method} {shape} is tagged '{tag}', expected '{expected}'");
        }
    }

    [Fact]
    public async Task The_reference_ui_is_served_and_reads_the_document()
    {
        var page = await server.Anonymous.GetAsync("scalar/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("openapi/v1.json", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
