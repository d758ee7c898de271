using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace OrleansShards.Silo.Tests;

/// <summary>
/// Random JSON bodies (nulls, wrong types, huge numbers, long strings, nested arrays, real field names with wrong
/// values) against every route family that takes a body: the server answers each with a 2xx or a 4xx, never a 5xx.
/// The generator is seeded, so a failure is replayed by the same run.
/// </summary>
[Collection(LimitsCollection.Name)]
public sealed class BodyFuzzTests(LimitsServerFixture server) : IDisposable
{
    private const int CasesPerRoute = 25;
    private const ulong Seed = 16;

    private readonly HttpClient _admin = server.As(LimitsServerFixture.AdminToken);

    public void Dispose() => _admin.Dispose();

    /// <summary>Each route family with a body, and the field names its bodies hold (so random values land in real fields).</summary>
    private static readonly (string Route, string[] Fields)[] Routes =
    [
        ("/v1/jobs", ["id", "source", "shardSize", "epochs", "shuffle", "seed", "leaseTimeoutSeconds", "maxAttempts", "durability", "maxWaitMs", "ordered", "kind", "paths", "delimiter", "header", "topic"]),
        ("/v1/jobs/fuzzed/leases", ["workerId", "maxTasks", "requestId"]),
        ("/v1/jobs/fuzzed/reports", ["taskId", "leaseId", "workerId", "outcome", "error", "reports"]),
        ("/v1/jobs/fuzzed/heartbeats", ["workerId", "leaseIds"]),
        ("/v1/jobs/fuzzed/releases", ["workerId", "leaseIds"]),
        ("/v1/jobs/fuzzed/runs", ["run", "globalBatchSize", "dropRemainder", "ranks"]),
        ("/v1/jobs/fuzzed/runs/r0/commits", ["epoch", "step", "checkpoint"]),
        ("/v1/jobs/fuzzed/runs/r0/rewind", ["epoch", "step", "checkpoint"]),
        ("/v1/topics", ["name", "partitions"]),
        ("/v1/topics/fuzzed/partitions", ["partitions"]),
        ("/v1/topics/fuzzed/partitions/0/records", ["id", "value", "key"]),
        ("/v1/jobs/import", ["format", "version", "jobId", "spec", "live", "doing", "todo", "done", "retries", "deadLetters", "files", "splitters", "runs", "epoch", "nextLeaseSequence", "lifecycle"]),
    ];

    private static Gen<string> Leaf { get; } = Gen.OneOf(
        Gen.Constant("null"),
        Gen.Elements("true", "false", "0", "-1", "1", "1e400", "-1e400", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1.5", "2147483648", "1e-400", "\"\""),
        Gen.Choose(-1000, 1000).Select(n => n.ToString(CultureInfo.InvariantCulture)),
        Gen.Elements("L0", "e0.p0.0-10", "done", "failed", "csv", "small.csv", "fuzzed", "shards-checkpoint", "\\u0000", "../../etc/passwd", "é\\n\\\"").Select(s => "\"" + s + "\""),
        Gen.Elements(1_000, 70_000, 300_000).Select(n => "\"" + new string('x', n) + "\""));

    private static Gen<string> Value(int depth) => depth <= 0
        ? Leaf
        : Gen.Frequency(
            (5, Leaf),
            (1, Gen.ListOf(Value(depth - 1)).Select(items => "[" + string.Join(',', items.Take(8)) + "]")),
            (1, Gen.Elements(1, 50, 2_000).Select(n => string.Concat(Enumerable.Repeat("[", n)) + string.Concat(Enumerable.Repeat("]", n)))),
            (2, Object(depth - 1, ["id", "kind", "paths", "taskId", "leaseId", "workerId"])));

    private static Gen<string> Object(int depth, string[] fields) =>
        Gen.ListOf(Gen.Zip(Gen.Elements(fields.Append("unknownField").ToArray()), Value(depth)))
            .Select(pairs => "{" + string.Join(',', pairs.Take(10).DistinctBy(p => p.Item1).Select(p => $"\"{p.Item1}\":{p.Item2}")) + "}");

    private static Gen<string> Body(string[] fields) => Gen.Frequency(
        (8, Object(2, fields)),
        (1, Value(2)),
        (1, Gen.Elements("", "{", "[1,", "{\"a\":}", "nul", "\u0000")));

    [Fact]
    public async Task No_json_body_of_any_route_family_is_answered_with_a_5xx()
    {
        await Prepare();
        var random = new Rnd(Seed);
        var failures = new List<string>();
        foreach (var (route, fields) in Routes)
        {
            foreach (var body in Body(fields).Sample(10, random, CasesPerRoute))
            {
                using var response = await _admin.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"));
                if ((int)response.StatusCode >= 500)
                {
                    failures.Add($"POST {route} {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()} <- {body[..Math.Min(body.Length, 300)]}");
                }
            }
        }

        Assert.Empty(failures);
        Assert.Equal(HttpStatusCode.OK, (await _admin.GetAsync("/healthz")).StatusCode);
    }

    private async Task Prepare()
    {
        // A real job, run and topic behind the routes, so random values reach the grains and the log, not only a 404.
        var job = await _admin.PostAsJsonAsync("/v1/jobs", new { id = "fuzzed", source = new { kind = "csv", paths = new[] { "small.csv" } }, shardSize = 100 });
        Assert.True(job.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK);
        var topic = await _admin.PostAsJsonAsync("/v1/topics", new { name = "fuzzed", partitions = 1 });
        Assert.True(topic.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!(await _admin.PostAsJsonAsync("/v1/jobs/fuzzed/runs", new { run = "r0", globalBatchSize = 10 }, timeout.Token)).IsSuccessStatusCode)
        {
            await Task.Delay(50, timeout.Token); // the job is still describing its file
        }
    }
}
