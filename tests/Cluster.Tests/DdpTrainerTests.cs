using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OrleansShards.Client;
using OrleansShards.Core;

namespace OrleansShards.Cluster.Tests;

/// <summary>
/// The real DDP job of issue 14: examples/python/ddp_train.py (PyTorch, gloo on CPU) trains from a run of a silo
/// process; the trainer and the silo are both killed (SIGKILL) mid-epoch, the silo restarts on the same data
/// directory, and another number of ranks resumes from <c>resumeAt</c> and the last checkpoint.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class DdpTrainerTests
{
    /// <summary>N: a multiple of G, so "every record of the epoch" is every row.</summary>
    private const int Rows = 960;

    /// <summary>G: divisible by 2 and by 3, the two world sizes.</summary>
    private const int GlobalBatch = 24;

    private const string Python = "/usr/bin/python3";

    [Fact]
    public async Task Trainer_and_silo_killed_mid_epoch_three_ranks_resume_on_the_same_steps_and_every_record_is_trained_once_by_committed_steps()
    {
        await RequireTorchAsync();
        var ct = TestContext.Current.CancellationToken;
        var root = Path.Combine(Path.GetTempPath(), "shards-ddp-" + Guid.NewGuid().ToString("N")[..8]);
        var dataDir = Path.Combine(root, "data");
        Directory.CreateDirectory(dataDir);
        WriteRegressionCsv(Path.Combine(dataDir, "points.csv"), Rows);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        try
        {
            // First attempt: 2 ranks, a checkpoint and commit every 4 steps, slow steps so the kill lands mid-epoch.
            TrainingRun committedAtKill;
            await using (var first = new SiloProcess("ddp-silo-1", root, [$"--Shards:DataDir={dataDir}"]))
            {
                first.Start();
                await first.WaitReadyAsync(http, TimeSpan.FromMinutes(2));
                var client = new ShardsClient(new HttpClient { BaseAddress = first.Address, Timeout = TimeSpan.FromSeconds(60) });
                await client.CreateJobAsync(
                    new JobSpec { Id = "ddp", Source = new SourceSpec { Kind = "csv", Paths = ["points.csv"] }, ShardSize = 64, Epochs = 1, Shuffle = true, Seed = 7 },
                    ct);
                var created = await client.CreateRunAsync("ddp", new RunCreateRequest("r", GlobalBatch), ct);
                Assert.Equal(Rows / GlobalBatch, created.StepsPerEpoch);
                Assert.Equal(new RunStep(0, 0), created.ResumeAt);

                using var trainer = StartTrainer(first.Address, root, worldSize: 2, "attempt1", stepSeconds: 0.15);
                var trainerErrors = trainer.StandardError.ReadToEndAsync(ct);
                // Kill between two commits, when every rank has trained at least two steps past the last one.
                var clock = Stopwatch.StartNew();
                while (true)
                {
                    Assert.False(trainer.HasExited, $"the first trainer ended before the kill (exit {(trainer.HasExited ? trainer.ExitCode : 0)}):\n{(trainerErrors.IsCompleted ? await trainerErrors : "")}");
                    Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), "the first trainer made no progress in 3 minutes\n" + first.Tail());
                    var status = await client.GetRunAsync("ddp", "r", ct);
                    var trained = ReadSteps(Path.Combine(root, "attempt1"), 2);
                    if (status.Committed is { Step: >= 7 } c && trained.Count > 0 && trained.Keys.Max(k => k.Step) >= c.Step + 2)
                    {
                        break;
                    }

                    await Task.Delay(50, ct);
                }

                trainer.Kill(entireProcessTree: true);
                first.Kill();
                await trainer.WaitForExitAsync(ct);
            }

            // The silo restarts on the same data directory; the trainer resumes with 3 ranks from resumeAt.
            await using var second = new SiloProcess("ddp-silo-2", root, [$"--Shards:DataDir={dataDir}"]);
            second.Start();
            await second.WaitReadyAsync(http, TimeSpan.FromMinutes(2));
            var again = new ShardsClient(new HttpClient { BaseAddress = second.Address, Timeout = TimeSpan.FromSeconds(60) });
            committedAtKill = await again.GetRunAsync("ddp", "r", ct);
            var committed = Assert.IsType<CommittedStep>(committedAtKill.Committed);
            Assert.Equal(new RunStep(0, committed.Step + 1), committedAtKill.ResumeAt);
            Assert.Equal($"ckpt-e0-s{committed.Step}.pt", committed.Checkpoint);

            using (var resumed = StartTrainer(second.Address, root, worldSize: 3, "attempt2", stepSeconds: 0))
            {
                var stderr = resumed.StandardError.ReadToEndAsync(ct);
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
                deadline.CancelAfter(TimeSpan.FromMinutes(4));
                await resumed.WaitForExitAsync(deadline.Token);
                Assert.True(resumed.ExitCode == 0, $"the resumed trainer failed (exit {resumed.ExitCode}):\n{await stderr}\n{second.Tail()}");
            }

            var final = await again.GetRunAsync("ddp", "r", ct);
            Assert.True(final.Finished, "the run is not finished after the resumed trainer");
            Assert.Equal(new RunStep(1, 0), final.ResumeAt);

            var firstSteps = ReadSteps(Path.Combine(root, "attempt1"), 2);
            var secondSteps = ReadSteps(Path.Combine(root, "attempt2"), 3);
            var steps = Rows / GlobalBatch;

            // The resumed attempt starts right after the commit and trains to the epoch's end.
            Assert.Equal(Enumerable.Range((int)committed.Step + 1, steps - (int)committed.Step - 1).Select(s => (long)s), secondSteps.Keys.Select(k => k.Step).Order());

            // Steps both attempts trained (the first trained them, then died before their commit) are the same global batches.
            var overlap = firstSteps.Keys.Intersect(secondSteps.Keys).OrderBy(k => k.Epoch).ThenBy(k => k.Step).ToList();
            Assert.True(overlap.Count > 0, $"the first attempt trained no step past its commit {committed.Step}: the kill did not land mid-way");
            foreach (var step in overlap)
            {
                Assert.Equal(firstSteps[step], secondSteps[step]);
            }

            // Counting only committed steps (the first attempt's up to the commit, then the second's), every record once.
            var trainedIds = firstSteps.Where(s => s.Key.Step <= committed.Step).SelectMany(s => s.Value)
                .Concat(secondSteps.SelectMany(s => s.Value))
                .Select(id => long.Parse(id, CultureInfo.InvariantCulture)).Order().ToList();
            Assert.Equal(Enumerable.Range(0, Rows).Select(i => (long)i), trainedIds);
            Assert.All(secondSteps.Values, batch => Assert.Equal(GlobalBatch, batch.Count));
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"killed after commit of step {committed.Step}; first attempt trained to step {firstSteps.Keys.Max(k => k.Step)}; {overlap.Count} step(s) retrained with 3 ranks, identical");
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Each step's global batch: the ranks' record ids concatenated in rank order, for steps every rank logged.</summary>
    private static Dictionary<RunStep, List<string>> ReadSteps(string logDir, int worldSize)
    {
        var byRank = new Dictionary<RunStep, string[][]>();
        for (var rank = 0; rank < worldSize; rank++)
        {
            var file = Path.Combine(logDir, $"rank{rank}.jsonl");
            if (!File.Exists(file))
            {
                continue;
            }

            string[] lines;
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            using (var reader = new StreamReader(stream))
            {
                lines = reader.ReadToEnd().Split('\n');
            }

            foreach (var line in lines)
            {
                // The last line of a killed rank may be cut short: only whole lines count.
                if (!line.EndsWith('}'))
                {
                    continue;
                }

                using var entry = JsonDocument.Parse(line);
                if (!entry.RootElement.TryGetProperty("ids", out var ids))
                {
                    continue;
                }

                var position = new RunStep(entry.RootElement.GetProperty("epoch").GetInt32(), entry.RootElement.GetProperty("step").GetInt64());
                var parts = byRank.TryGetValue(position, out var existing) ? existing : byRank[position] = new string[worldSize][];
                parts[rank] = [.. ids.EnumerateArray().Select(id => id.ToString())];
            }
        }

        return byRank.Where(s => s.Value.All(p => p is not null)).ToDictionary(s => s.Key, s => s.Value.SelectMany(p => p).ToList());
    }

    private static Process StartTrainer(Uri server, string root, int worldSize, string attempt, double stepSeconds)
    {
        var script = Path.Combine(SiloProcess.RepoRoot, "examples", "python", "ddp_train.py");
        var start = new ProcessStartInfo(Python) { RedirectStandardError = true, RedirectStandardOutput = false, UseShellExecute = false };
        foreach (var argument in new[]
        {
            script, "--server", server.ToString(), "--job", "ddp", "--run", "r", "--world-size", worldSize.ToString(CultureInfo.InvariantCulture),
            "--checkpoint-dir", Path.Combine(root, "checkpoints"), "--checkpoint-every", "4", "--log-dir", Path.Combine(root, attempt),
            "--step-seconds", stepSeconds.ToString(CultureInfo.InvariantCulture),
        })
        {
            start.ArgumentList.Add(argument);
        }

        // Torch's own thread pools on a shared two-core machine: one thread a rank.
        start.Environment["OMP_NUM_THREADS"] = "1";
        return Process.Start(start) ?? throw new InvalidOperationException("python did not start");
    }

    private static async Task RequireTorchAsync()
    {
        string? problem = null;
        if (!File.Exists(Python))
        {
            problem = $"{Python} is missing";
        }
        else
        {
            using var check = Process.Start(new ProcessStartInfo(Python, ["-c", "import torch, torch.distributed; assert torch.distributed.is_available()"]) { RedirectStandardError = true, UseShellExecute = false })!;
            var error = await check.StandardError.ReadToEndAsync();
            await check.WaitForExitAsync();
            if (check.ExitCode != 0)
            {
                problem = $"{Python} has no usable torch (apt-get install -y python3-torch python3-numpy): {error.Trim()}";
            }
        }

        if (problem is null)
        {
            return;
        }

        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Fail(problem + " (CI is set, so this is a failure, not a skip)");
        }

        Assert.Skip(problem);
    }

    /// <summary>id, x1, x2, y with y = 3·x1 − 2·x2 + 1 plus a little deterministic noise.</summary>
    private static void WriteRegressionCsv(string path, int rows)
    {
        var random = new Random(5);
        var lines = new List<string>(rows + 1) { "id,x1,x2,y" };
        for (var i = 0; i < rows; i++)
        {
            var x1 = random.NextDouble() * 2 - 1;
            var x2 = random.NextDouble() * 2 - 1;
            var y = 3 * x1 - 2 * x2 + 1 + (random.NextDouble() - 0.5) * 0.1;
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{i},{x1:F6},{x2:F6},{y:F6}"));
        }

        File.WriteAllLines(path, lines);
    }
}
