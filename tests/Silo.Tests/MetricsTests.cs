using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Tests.Servers;

namespace OrleansShards.Silo.Tests;

/// <summary>One sample of the Prometheus text format: a metric name, its labels and its value.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    private static readonly Regex Line = new(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?$", RegexOptions.Compiled);

    private static readonly Regex Label = new(@"(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(?:[^""\\]|\\.)*)""", RegexOptions.Compiled);

    /// <summary>Parses an exposition: comment lines are skipped, any other line must be a sample.</summary>
    public static List<PrometheusSample> Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        foreach (var line in text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            var match = Line.Match(line);
            Assert.True(match.Success, $"not a Prometheus sample line: {line}");
            var labels = Label.Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups["key"].Value, m => Regex.Unescape(m.Groups["value"].Value), StringComparer.Ordinal);
            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                var v => double.Parse(v, CultureInfo.InvariantCulture),
            };
            samples.Add(new PrometheusSample(match.Groups["name"].Value, labels, value));
        }

        return samples;
    }
}

/// <summary>GET /metrics of the real server: the OrleansShards counters and gauges move with a job run over HTTP.</summary>
public sealed class MetricsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_job_run_over_http_moves_its_counters_by_what_happened()
    {
        var job = "metrics-" + Guid.NewGuid().ToString("N")[..8];
        var writesBefore = Sum(await Scrape(), "orleansshards_storage_write_duration_seconds_count", ("grain", "job"));
        await server.Client.CreateJobAsync(new JobSpec { Id = job, Source = new SourceSpec { Kind = "csv", Paths = ["small.csv"] }, ShardSize = 1000, Epochs = 1, Seed = 1 });

        // Two of the three shards (1000, 1000 and 500 records): both are in flight.
        var first = await LeaseUntilSome(job, "metrics-w1", 2);
        Assert.Equal(2, first.Count);
        await WaitFor(job, s => Sum(s, "orleansshards_leases_in_flight", ("job_id", job)) == 2, "2 leases in flight");

        // One done, one failed (so it is re-queued and leased again), then everything done.
        var leases = 2;
        var records = first[0].Shard.Length;
        await server.Client.ReportAsync(job, new TaskReport(first[0].TaskId, first[0].LeaseId, "metrics-w1", true));
        await server.Client.ReportAsync(job, new TaskReport(first[1].TaskId, first[1].LeaseId, "metrics-w1", false, "disk on fire"));
        while (true)
        {
            var batch = await server.Client.LeaseAsync(job, "metrics-w2", 5);
            if (batch.Leases.Count == 0)
            {
                if (batch.State == JobStates.Completed)
                {
                    break;
                }

                await Task.Delay(batch.RetryAfterMs ?? 50);
                continue;
            }

            leases += batch.Leases.Count;
            records += batch.Leases.Sum(l => l.Shard.Length);
            // The batch report path counts too.
            await server.Client.ReportManyAsync(job, [.. batch.Leases.Select(l => new TaskReport(l.TaskId, l.LeaseId, "metrics-w2", true))]);
        }

        Assert.Equal((4, 2_500L), (leases, records));
        var samples = await WaitFor(job, s => Sum(s, "orleansshards_records_delivered_total", ("job_id", job)) == 2_500, "2500 records delivered");
        Assert.Equal(4, Sum(samples, "orleansshards_leases_granted_total", ("job_id", job)));
        Assert.Equal(3, Sum(samples, "orleansshards_reports_total", ("job_id", job), ("outcome", "done")));
        Assert.Equal(1, Sum(samples, "orleansshards_reports_total", ("job_id", job), ("outcome", "failed")));
        Assert.Equal(0, Assert.Single(samples, s => s.Name == "orleansshards_leases_in_flight" && s.Labels.GetValueOrDefault("job_id") == job).Value);
        // Create, two leases, two reports, the re-lease and its reports: each strict call wrote the job's state.
        Assert.True(Sum(samples, "orleansshards_storage_write_duration_seconds_count", ("grain", "job")) - writesBefore >= 5);
        Assert.Contains(samples, s => s.Name == "orleansshards_storage_write_duration_seconds_bucket" && s.Labels.GetValueOrDefault("le") == "+Inf");
        Assert.Contains(samples, s => s.Name == "target_info" && s.Labels.GetValueOrDefault("service_name") == "orleans-shards");
    }

    [Fact]
    public async Task Partition_lag_is_a_gauge_per_job_and_partition_until_forgotten()
    {
        var job = "lag-" + Guid.NewGuid().ToString("N")[..8];
        OrleansShards.Grains.ShardsMetrics.SetPartitionLag(job, 3, 42);
        await WaitFor(job, s => Sum(s, "orleansshards_partition_lag", ("job_id", job), ("partition", "3")) == 42, "lag 42 on partition 3");

        OrleansShards.Grains.ShardsMetrics.Forget(job);
        await WaitFor(job, s => !s.Any(x => x.Labels.GetValueOrDefault("job_id") == job), "no series of the forgotten job");
    }

    [Fact]
    public async Task The_dashboard_is_off_by_default()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync("dashboard/")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync("dashboard/version")).StatusCode);
    }

    private async Task<IReadOnlyList<TaskLease>> LeaseUntilSome(string job, string worker, int maxTasks)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var batch = await server.Client.LeaseAsync(job, worker, maxTasks);
            if (batch.Leases.Count > 0 || DateTime.UtcNow > deadline)
            {
                return batch.Leases;
            }

            await Task.Delay(batch.RetryAfterMs ?? 50);
        }
    }

    private async Task<List<PrometheusSample>> Scrape()
    {
        using var response = await server.Http.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        return PrometheusSample.Parse(await response.Content.ReadAsStringAsync());
    }

    // The exporter caches a scrape for a moment, and gauges are read when scraped: poll until the condition holds.
    private async Task<List<PrometheusSample>> WaitFor(string job, Func<List<PrometheusSample>, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var samples = await Scrape();
            if (condition(samples))
            {
                return samples;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"after {Patience.TotalSeconds} s /metrics still does not show {what}; its series of {job}:{Environment.NewLine}"
                    + string.Join(Environment.NewLine, samples.Where(s => s.Labels.GetValueOrDefault("job_id") == job)));
            }

            await Task.Delay(100);
        }
    }

    internal static double Sum(IEnumerable<PrometheusSample> samples, string name, params (string Key, string Value)[] labels) =>
        samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Key) == l.Value)).Sum(s => s.Value);
}

/// <summary>A server with the dashboard on, under a path of its own, and the metrics endpoint off.</summary>
public sealed class DashboardServerFixture : InProcessServer
{
    public DashboardServerFixture()
        : base("dashboard")
    {
    }

    protected override IEnumerable<string> Settings =>
        ["--Shards:Dashboard:Enabled=true", "--Shards:Dashboard:Path=/ops/dashboard", "--Shards:Metrics:Enabled=false"];
}

public sealed class DashboardTests(DashboardServerFixture server) : IClassFixture<DashboardServerFixture>
{
    [Fact]
    public async Task The_dashboard_is_served_under_the_configured_path_when_enabled()
    {
        var page = await server.Http.GetAsync("ops/dashboard/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<html", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        // Its API answers from the silo: the dashboard's grain service runs in this one.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var counters = await server.Http.GetAsync("ops/dashboard/DashboardCounters");
            if (counters.StatusCode == HttpStatusCode.OK)
            {
                using var json = JsonDocument.Parse(await counters.Content.ReadAsStringAsync());
                if (json.RootElement.GetProperty("totalActiveHostCount").GetInt32() == 1)
                {
                    break;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"the dashboard's counters did not show one active silo: {counters.StatusCode} {await counters.Content.ReadAsStringAsync()}");
            await Task.Delay(200);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync("dashboard/")).StatusCode);
    }

    [Fact]
    public async Task Metrics_are_absent_when_disabled()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync("metrics")).StatusCode);
    }
}
