using System.Text.Json;
using OrleansShards.GrainInterfaces;
using OrleansShards.Tests.Servers;
using static OrleansShards.Cli.Tests.ShardsProcess;

namespace OrleansShards.Cli.Tests;

/// <summary>The <c>shards</c> tool as a real process against a real server.</summary>
public sealed class CliTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private Uri Server => server.Address;

    private static JsonElement Json(ProcessResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        using var document = JsonDocument.Parse(result.Stdout);
        return document.RootElement.Clone();
    }

    private async Task<string> CreateJob(string id, int shardSize = 500, int maxAttempts = 3)
    {
        var spec = server.File($"{id}.json", $$"""{"id":"{{id}}","source":{"kind":"csv","paths":["numbers.csv"]},"shardSize":{{shardSize}},"maxAttempts":{{maxAttempts}}}""");
        var created = await Shards(Server, "job", "create", "-f", spec);
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Equal(id, created.Stdout.Trim());
        return id;
    }

    [Fact]
    public async Task Job_create_from_json_and_from_yaml_gives_the_same_job_and_status_shows_it()
    {
        await CreateJob("cli-json");
        var yaml = server.File("cli-yaml.yaml", """
            # the same spec as cli-json, in YAML
            id: cli-yaml
            source:
              kind: csv
              paths:
                - numbers.csv
              header: true
            shardSize: 500
            shuffle: false
            durability: "strict"
            """);
        var created = await Shards(Server, "job", "create", "-f", yaml, "--json");
        var fromYaml = Json(created);
        Assert.Equal("cli-yaml", fromYaml.GetProperty("id").GetString());
        Assert.Equal(6, fromYaml.GetProperty("shards").GetProperty("total").GetInt32());
        Assert.Equal(500, fromYaml.GetProperty("spec").GetProperty("shardSize").GetInt32());
        Assert.Equal("numbers.csv", fromYaml.GetProperty("spec").GetProperty("source").GetProperty("paths")[0].GetString());

        var status = Json(await Shards(Server, "job", "status", "cli-json", "--json"));
        Assert.Equal(JobStates.Running, status.GetProperty("state").GetString());
        Assert.Equal(6, status.GetProperty("shards").GetProperty("total").GetInt32());

        // The same spec again is accepted (idempotent) and names the same job.
        var again = await Shards(Server, "job", "create", "-f", yaml);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal("cli-yaml", again.Stdout.Trim());

        var table = await Shards(Server, "job", "status", "cli-json");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("cli-json", table.Stdout);
        Assert.Contains("numbers.csv", table.Stdout);
        Assert.Contains("3,000", table.Stdout);

        var list = await Shards(Server, "job", "list");
        Assert.Contains("cli-json", list.Stdout);
        Assert.Contains("cli-yaml", list.Stdout);
        var listed = Json(await Shards(Server, "job", "list", "--json")).GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetString()).ToList();
        Assert.Contains("cli-json", listed);
        Assert.Contains("cli-yaml", listed);
    }

    [Fact]
    public async Task Pause_resume_cancel_and_delete_change_the_job_as_status_then_shows()
    {
        var id = await CreateJob("cli-life");
        Assert.Equal($"job {id}: paused", (await Shards(Server, "job", "pause", id)).Stdout.Trim());
        Assert.Equal(JobStates.Paused, Json(await Shards(Server, "job", "status", id, "--json")).GetProperty("state").GetString());
        var lease = await server.Client.LeaseAsync(id, "w", 1);
        Assert.Empty(lease.Leases);

        Assert.Equal($"job {id}: running", (await Shards(Server, "job", "resume", id)).Stdout.Trim());
        Assert.Single((await server.Client.LeaseAsync(id, "w", 1)).Leases);

        Assert.Equal($"job {id}: cancelled", (await Shards(Server, "job", "cancel", id)).Stdout.Trim());
        Assert.Equal(JobStates.Cancelled, Json(await Shards(Server, "job", "status", id, "--json")).GetProperty("state").GetString());
        var resumeCancelled = AssertOneLineError(await Shards(Server, "job", "resume", id));
        Assert.Contains("cancelled", resumeCancelled);

        var deleted = await Shards(Server, "job", "delete", id);
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        var gone = AssertOneLineError(await Shards(Server, "job", "status", id));
        Assert.Contains("does not exist", gone);
    }

    [Fact]
    public async Task Checkpoint_export_then_import_brings_the_job_back_where_it_stood()
    {
        var id = await CreateJob("cli-cp");
        var leases = await server.Client.LeaseAsync(id, "w", 3);
        Assert.Equal(3, leases.Leases.Count);
        foreach (var lease in leases.Leases.Take(2))
        {
            await server.Client.ReportAsync(id, new TaskReport(lease.TaskId, lease.LeaseId, "w", true));
        }

        var file = Path.Combine(server.Root, "cli-cp.checkpoint.json");
        var exported = await Shards(Server, "job", "checkpoint", "export", id, "-o", file);
        Assert.True(exported.ExitCode == 0, exported.ToString());
        using (var document = JsonDocument.Parse(await File.ReadAllTextAsync(file)))
        {
            Assert.Equal(id, document.RootElement.GetProperty("jobId").GetString());
        }

        Assert.Equal(0, (await Shards(Server, "job", "delete", id)).ExitCode);
        var imported = await Shards(Server, "job", "checkpoint", "import", "-f", file);
        Assert.True(imported.ExitCode == 0, imported.ToString());
        Assert.Equal(id, imported.Stdout.Trim());

        var status = Json(await Shards(Server, "job", "status", id, "--json")).GetProperty("shards");
        Assert.Equal(6, status.GetProperty("total").GetInt32());
        Assert.Equal(2, status.GetProperty("done").GetInt32());
        // The task that was in flight is re-queued, not lost and not done.
        Assert.Equal(0, status.GetProperty("doing").GetInt32());
        Assert.Equal(4, status.GetProperty("todo").GetInt32());
    }

    [Fact]
    public async Task Worker_run_feeds_every_task_to_the_command_and_completes_the_job()
    {
        var id = await CreateJob("cli-worker", shardSize: 700);
        var seen = Path.Combine(server.Root, "cli-worker-seen");
        Directory.CreateDirectory(seen);
        // Each task's records land in a file named after the task: the test then counts every id once.
        var run = await Shards(Server, "worker", "run", "--job", id, "--batch-size", "250", "--", "sh", "-c", $"cat > {seen}/$SHARDS_TASK_ID.jsonl");
        Assert.True(run.ExitCode == 0, run.ToString());

        var status = Json(await Shards(Server, "job", "status", id, "--json"));
        Assert.Equal(JobStates.Completed, status.GetProperty("state").GetString());
        Assert.Equal(5, status.GetProperty("shards").GetProperty("done").GetInt32());
        Assert.Equal(5, status.GetProperty("shards").GetProperty("total").GetInt32());
        Assert.Equal(ServerFixture.NumbersRows, status.GetProperty("records").GetProperty("delivered").GetInt64());

        var ids = Directory.GetFiles(seen).SelectMany(File.ReadAllLines).Select(line =>
        {
            using var record = JsonDocument.Parse(line);
            return long.Parse(record.RootElement.GetProperty("id").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        }).Order().ToList();
        Assert.Equal(Enumerable.Range(0, ServerFixture.NumbersRows).Select(i => (long)i), ids);
        Assert.Equal(5, Directory.GetFiles(seen).Length);
    }

    [Fact]
    public async Task Worker_run_reports_a_failing_command_failed_and_its_shards_are_dead_lettered()
    {
        var id = await CreateJob("cli-fail", shardSize: 1500, maxAttempts: 2);
        var run = await Shards(Server, "worker", "run", "--job", id, "--", "sh", "-c", "cat > /dev/null; echo \"cannot train on $SHARDS_TASK_ID\" >&2; exit 7");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("4 failed", run.Stderr);

        var status = Json(await Shards(Server, "job", "status", id, "--json"));
        Assert.Equal(JobStates.Failed, status.GetProperty("state").GetString());
        Assert.Equal(2, status.GetProperty("shards").GetProperty("failed").GetInt32());
        Assert.Equal(0, status.GetProperty("shards").GetProperty("done").GetInt32());
        var errors = status.GetProperty("deadLetters").EnumerateArray().Select(d => d.GetProperty("lastError").GetString()!).ToList();
        Assert.Equal(2, errors.Count);
        Assert.All(errors, e => Assert.Contains("exited with code 7", e));
        Assert.Contains(errors, e => e.Contains("cannot train on e0.p0.0-1500", StringComparison.Ordinal));

        var watch = await Shards(Server, "job", "watch", id);
        Assert.NotEqual(0, watch.ExitCode);
        Assert.Contains("dead-lettered", watch.Stderr);
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task Worker_run_stopped_by_a_signal_releases_its_lease_without_failing_it(string signal)
    {
        if (signal == "INT")
        {
            ServeAndTokenTests.RequireSigintDelivered();
        }

        var id = await CreateJob($"cli-signal-{signal.ToLowerInvariant()}", shardSize: 1500);
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { CliPath, "--server", Server.ToString(), "worker", "run", "--job", id, "--", "sh", "-c", "cat > /dev/null; sleep 60" })
        {
            start.ArgumentList.Add(arg);
        }

        using var worker = System.Diagnostics.Process.Start(start)!;
        using var deadline = new CancellationTokenSource(ShardsProcess.Timeout);
        var stdout = worker.StandardOutput.ReadToEndAsync(deadline.Token);
        var stderr = worker.StandardError.ReadToEndAsync(deadline.Token);
        try
        {
            while ((await server.Client.GetJobAsync(id, deadline.Token)).Shards.Doing == 0)
            {
                await Task.Delay(50, deadline.Token);
            }

            using (var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, worker.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(deadline.Token);
            }

            await worker.WaitForExitAsync(deadline.Token);
            var errors = await stderr;
            Assert.DoesNotContain("Unhandled", errors, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal);
            var status = await server.Client.GetJobAsync(id, deadline.Token);
            // Released, not failed and not left to expire.
            Assert.Equal((0L, 0L), (status.Shards.Doing, status.Shards.Failed));
            Assert.Equal(0, status.EpochHistory.Sum(e => e.AttemptsFailed));
            Assert.Equal(0, status.EpochHistory.Sum(e => e.LeasesExpired));
            Assert.True(status.Shards.Todo == status.Shards.Total, $"{status.Shards}\n{await stdout}\n{errors}");
        }
        finally
        {
            if (!worker.HasExited)
            {
                worker.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task Job_watch_follows_a_job_until_it_completes_and_exits_zero()
    {
        var id = await CreateJob("cli-watch", shardSize: 300);
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { CliPath, "--server", Server.ToString(), "job", "watch", id, "--interval", "100" })
        {
            start.ArgumentList.Add(arg);
        }

        using var watch = System.Diagnostics.Process.Start(start)!;
        using var deadline = new CancellationTokenSource(ShardsProcess.Timeout);
        var stderr = watch.StandardError.ReadToEndAsync(deadline.Token);
        try
        {
            // The watch has seen the job before any work: only then does the worker start.
            var first = await watch.StandardOutput.ReadLineAsync(deadline.Token);
            Assert.StartsWith("running epoch 1/1 shards 0/10 (0%)", first);
            var worker = await Shards(Server, "worker", "run", "--job", id, "--", "sh", "-c", "cat > /dev/null; sleep 0.1");
            Assert.True(worker.ExitCode == 0, worker.ToString());
            var rest = await watch.StandardOutput.ReadToEndAsync(deadline.Token);
            await watch.WaitForExitAsync(deadline.Token);
            Assert.True(watch.ExitCode == 0, $"exit {watch.ExitCode}\n{rest}\n{await stderr}");
            var lines = rest.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains(lines, l => l.StartsWith("completed epoch 1/1 shards 10/10 (100%)", StringComparison.Ordinal));
            Assert.Equal($"job {id}: completed, 3,000 records delivered", lines[^1]);
        }
        finally
        {
            if (!watch.HasExited)
            {
                watch.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task Errors_are_one_line_with_a_non_zero_exit_code()
    {
        var unknown = AssertOneLineError(await Shards(Server, "job", "status", "no-such-job"));
        Assert.Contains("'no-such-job' does not exist", unknown);

        var noJob = AssertOneLineError(await Shards(Server, "worker", "run", "--job", "no-such-job", "--", "true"));
        Assert.Contains("'no-such-job' does not exist", noJob);

        var port = ServerFixture.FreePort();
        var down = AssertOneLineError(await Shards(new Uri($"http://127.0.0.1:{port}"), "job", "list"));
        Assert.Equal($"error: cannot reach http://127.0.0.1:{port}/ : connection refused", down);

        var badJson = AssertOneLineError(await Shards(Server, "job", "create", "-f", server.File("bad.json", "{\"id\": \"x\",\n \"source\": }")));
        Assert.Contains("bad.json: not valid JSON at line 2", badJson);

        var badYaml = AssertOneLineError(await Shards(Server, "job", "create", "-f", server.File("bad.yaml", "id: x\nsource: [unclosed\n")));
        Assert.Contains("bad.yaml: not valid YAML", badYaml);

        // The server names the field; the CLI says where the user wrote it in the YAML file.
        var yamlField = AssertOneLineError(await Shards(Server, "job", "create", "-f", server.File("fields.yaml", "id: cli-yaml-field\nsource:\n  kind: csv\n  paths: [numbers.csv]\nshardSize: -5\n")));
        Assert.Contains("fields.yaml line 5, column 1 ('shardSize'): shardSize must be between 1 and", yamlField);
        var yamlUnknown = AssertOneLineError(await Shards(Server, "job", "create", "-f", server.File("unknown.yaml", "id: cli-yaml-unknown\nsource:\n  kind: csv\n  paths: [numbers.csv]\nshardsize: 500\n")));
        Assert.Contains("unknown.yaml line 5, column 1 ('shardsize')", yamlUnknown);

        var missing = AssertOneLineError(await Shards(Server, "job", "create", "-f", Path.Combine(server.Root, "absent.json")));
        Assert.EndsWith("absent.json: no such file", missing);

        // A spec the server refuses: its ProblemDetails detail is the line.
        var refused = AssertOneLineError(await Shards(Server, "job", "create", "-f", server.File("outside.json", """{"id":"cli-outside","source":{"kind":"csv","paths":["../../etc/passwd"]}}""")));
        Assert.Contains("HTTP 400", refused);

        var notStarted = AssertOneLineError(await Shards(Server, "worker", "run", "--job", await CreateJob("cli-nostart"), "--", "/no/such/program"));
        Assert.Contains("cannot start '/no/such/program'", notStarted);
        // The worker stopped without reporting: the lease went back to the queue.
        var status = await server.Client.GetJobAsync("cli-nostart");
        Assert.Equal(0, status.Shards.Doing);
        Assert.Equal(0, status.Shards.Failed);
    }
}
