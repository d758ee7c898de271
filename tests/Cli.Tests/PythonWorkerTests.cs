using System.Globalization;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Tests.Servers;

namespace OrleansShards.Cli.Tests;

/// <summary>examples/python/worker.py, run with python3 against a real server.</summary>
public sealed class PythonWorkerTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static string? FindPython() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "python3")).FirstOrDefault(File.Exists);

    private static string RequirePython()
    {
        if (FindPython() is { } python)
        {
            return python;
        }

        const string problem = "python3 is not on PATH: the Python worker example cannot be run";
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Fail(problem + " (CI is set, so this is a failure, not a skip)");
        }

        Assert.Skip(problem);
        return "";
    }

    [Fact]
    public async Task Two_python_workers_see_every_id_of_a_csv_job_exactly_once()
    {
        var python = RequirePython();
        var status = await server.Client.CreateJobAsync(new JobSpec
        {
            Id = "py-csv",
            Source = new SourceSpec { Kind = "csv", Paths = ["numbers.csv"] },
            ShardSize = 400,
            Shuffle = true,
            Seed = 11,
            LeaseTimeoutSeconds = 3,
        });
        Assert.Equal(8, status.Shards.Total);

        var outputs = new[] { Path.Combine(server.Root, "py-a.txt"), Path.Combine(server.Root, "py-b.txt") };
        // Small pages so that every task takes several reads (nextOffset paging).
        var runs = outputs.Select(output => ShardsProcess.Run(
            python,
            [ShardsProcess.Metadata("PythonWorker"), "--server", server.Address.ToString(), "--job", "py-csv", "--batch-size", "150", "--ids-out", output])).ToList();
        foreach (var run in await Task.WhenAll(runs))
        {
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Contains("job py-csv is completed", run.Stderr);
        }

        var ids = outputs.SelectMany(File.ReadAllLines).Select(line => long.Parse(line, CultureInfo.InvariantCulture)).Order().ToList();
        Assert.Equal(Enumerable.Range(0, ServerFixture.NumbersRows).Select(i => (long)i), ids);

        var after = await server.Client.GetJobAsync("py-csv");
        Assert.Equal(JobStates.Completed, after.State);
        Assert.Equal(8, after.Shards.Done);
    }

    [Fact]
    public async Task Heartbeats_keep_the_leases_of_a_slow_python_worker_alive()
    {
        var python = RequirePython();
        // One task of three pages of 1.5 s: more than twice the two-second lease, so it lives on heartbeats alone.
        await server.Client.CreateJobAsync(new JobSpec
        {
            Id = "py-slow",
            Source = new SourceSpec { Kind = "csv", Paths = ["numbers.csv"] },
            ShardSize = 3000,
            LeaseTimeoutSeconds = 2,
        });
        var output = Path.Combine(server.Root, "py-slow.txt");
        var run = await ShardsProcess.Run(
            python,
            [ShardsProcess.Metadata("PythonWorker"), "--server", server.Address.ToString(), "--job", "py-slow", "--max-tasks", "1", "--batch-size", "1000", "--work-seconds", "1.5", "--ids-out", output]);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.DoesNotContain("lease lost", run.Stderr);

        var status = await server.Client.GetJobAsync("py-slow");
        Assert.Equal(JobStates.Completed, status.State);
        Assert.Equal(0, status.EpochHistory.Sum(e => e.LeasesExpired));
        Assert.Equal(ServerFixture.NumbersRows, File.ReadAllLines(output).Length);
    }

    [Fact]
    public async Task The_python_worker_names_an_unknown_job_in_one_line_and_exits_non_zero()
    {
        var python = RequirePython();
        var run = await ShardsProcess.Run(python, [ShardsProcess.Metadata("PythonWorker"), "--server", server.Address.ToString(), "--job", "py-none"]);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("error: HTTP 404: job 'py-none' does not exist", run.Stderr.Trim());
    }
}
