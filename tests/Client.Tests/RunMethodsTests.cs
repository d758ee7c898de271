using OrleansShards.Core;
using OrleansShards.Tests.Servers;

namespace OrleansShards.Client.Tests;

/// <summary>The run methods of <see cref="ShardsClient"/> (issue 14) against the real server.</summary>
public sealed class RunMethodsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const int G = 120;

    private ShardsClient Client => server.Client;

    private async Task CreateAsync(string job)
    {
        await Client.CreateJobAsync(new JobSpec { Id = job, Source = new SourceSpec { Kind = "csv", Paths = ["numbers.csv"] }, ShardSize = 250, Epochs = 2, Shuffle = true, Seed = 5 });
        var run = await Client.CreateRunAsync(job, new RunCreateRequest("r", G));
        Assert.Equal(ServerFixture.NumbersRows / G, run.StepsPerEpoch);
        Assert.Equal(new RunStep(0, 0), run.ResumeAt);
    }

    private static async Task<List<string>> IdsAsync(ShardsClient client, string job, RunStep step, int rank, int worldSize)
    {
        using var batch = await client.GetBatchAsync(job, "r", step.Epoch, step.Step, rank, worldSize, ["id"]);
        Assert.Equal(G / worldSize, batch.Count);
        return [.. batch.Records.EnumerateArray().Select(r => r.GetProperty("id").ToString())];
    }

    [Fact]
    public async Task Every_rank_of_three_reads_an_epoch_of_equal_batches_that_concatenate_to_the_world_size_one_order()
    {
        await CreateAsync("runs-read");
        var ct = TestContext.Current.CancellationToken;
        var perRank = await Task.WhenAll(Enumerable.Range(0, 3).Select(async rank =>
        {
            var steps = new List<(RunStep Step, List<string> Ids)>();
            await foreach (var batch in Client.ReadRunAsync("runs-read", "r", rank, 3, new RunReadOptions { SingleEpoch = true, Columns = ["id"] }, ct))
            {
                using (batch)
                {
                    Assert.Equal(G / 3, batch.Count);
                    steps.Add((batch.Position, [.. batch.Records.EnumerateArray().Select(r => r.GetProperty("id").ToString())]));
                }
            }

            return steps;
        }));

        Assert.All(perRank, steps => Assert.Equal(Enumerable.Range(0, ServerFixture.NumbersRows / G).Select(s => new RunStep(0, s)), steps.Select(s => s.Step)));
        var all = perRank.SelectMany(steps => steps.SelectMany(s => s.Ids)).Select(long.Parse).Order();
        Assert.Equal(Enumerable.Range(0, ServerFixture.NumbersRows).Select(i => (long)i), all);

        // Step 7's global batch is the same with one rank as the three ranks' batches in rank order.
        var whole = await IdsAsync(Client, "runs-read", new RunStep(0, 7), 0, 1);
        Assert.Equal(whole, perRank.SelectMany(steps => steps[7].Ids));
    }

    [Fact]
    public async Task Commits_move_resumeAt_go_forward_only_and_a_rewind_by_name_reads_from_after_it_again()
    {
        await CreateAsync("runs-commit");
        var ct = TestContext.Current.CancellationToken;
        await Client.CommitAsync("runs-commit", "r", 0, 3, "c3", ct);
        var status = await Client.CommitAsync("runs-commit", "r", 0, 9, "c9", ct);
        Assert.Equal(new CommittedStep(0, 9, "c9"), status.Committed);
        Assert.Equal(new RunStep(0, 10), status.ResumeAt);
        Assert.Equal(new RunStep(0, 10), (await Client.GetRunAsync("runs-commit", "r", ct)).ResumeAt);

        var backwards = await Assert.ThrowsAsync<ShardsApiException>(() => Client.CommitAsync("runs-commit", "r", 0, 5, null, ct));
        Assert.Equal(409, backwards.Status);

        await using (var batches = Client.ReadRunAsync("runs-commit", "r", 1, 2, cancellationToken: ct).GetAsyncEnumerator(ct))
        {
            Assert.True(await batches.MoveNextAsync());
            Assert.Equal(new RunStep(0, 10), batches.Current.Position);
            batches.Current.Dispose();
        }

        var rewound = await Client.RewindAsync("runs-commit", "r", "c3", ct);
        Assert.Equal(new RunStep(0, 4), rewound.ResumeAt);
        await using (var batches = Client.ReadRunAsync("runs-commit", "r", 0, 4, cancellationToken: ct).GetAsyncEnumerator(ct))
        {
            Assert.True(await batches.MoveNextAsync());
            Assert.Equal(new RunStep(0, 4), batches.Current.Position);
            batches.Current.Dispose();
        }

        // The run ends after its last step of the last epoch: committed there, a reader gets nothing.
        var last = await Client.CommitAsync("runs-commit", "r", 1, ServerFixture.NumbersRows / G - 1, "end", ct);
        Assert.True(last.Finished);
        Assert.Equal(new RunStep(2, 0), last.ResumeAt);
        await foreach (var batch in Client.ReadRunAsync("runs-commit", "r", 0, 1, cancellationToken: ct))
        {
            Assert.Fail($"a finished run gave step {batch.Position}");
        }

        await Client.DeleteRunAsync("runs-commit", "r", ct);
        Assert.Equal(404, (await Assert.ThrowsAsync<ShardsApiException>(() => Client.GetRunAsync("runs-commit", "r", ct))).Status);
    }

    [Fact]
    public async Task A_world_size_that_does_not_divide_G_is_a_400_naming_worldSize_and_arrow_gives_G_over_W_rows()
    {
        await CreateAsync("runs-bad");
        var bad = await Assert.ThrowsAsync<ShardsApiException>(() => Client.GetBatchAsync("runs-bad", "r", 0, 0, 0, 7));
        Assert.Equal(400, bad.Status);
        Assert.Equal("worldSize", bad.Field);

        using var arrow = await Client.GetBatchAsync("runs-bad", "r", 0, 2, 1, 4, ["id"], BatchFormat.Arrow);
        Assert.Equal(G / 4, arrow.Count);
        var batches = arrow.ReadArrow();
        Assert.Equal(G / 4, batches.Sum(b => b.Length));
        foreach (var b in batches)
        {
            b.Dispose();
        }

        Assert.Equal("r", Assert.Single(await Client.ListRunsAsync("runs-bad")).Run);
    }

    [Fact]
    public async Task Two_ranks_read_a_live_run_as_records_arrive_and_resume_after_the_commit()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = "runs-live-" + Guid.NewGuid().ToString("N")[..8];
        await Client.CreateTopicAsync(topic, 2, ct);
        await Client.CreateJobAsync(new JobSpec { Id = topic, Source = new SourceSpec { Kind = "topic", Topic = topic }, ShardSize = 100, MaxWaitMs = 50 });
        TrainingRun run;
        while (true)
        {
            try
            {
                run = await Client.CreateRunAsync(topic, new RunCreateRequest("r", 8), ct);
                break;
            }
            catch (ShardsApiException e) when (e.Status == 409)
            {
                await Task.Delay(50, ct); // the job still describes its source
            }
        }

        Assert.Null(run.StepsPerEpoch);

        // The ranks read three steps each while the records arrive, four at a time, on alternating partitions.
        var options = new RunReadOptions { Wait = TimeSpan.FromSeconds(5) };
        var ranks = Enumerable.Range(0, 2).Select(rank => Task.Run(
            async () =>
            {
                var ids = new List<(RunStep Step, string[] Ids)>();
                await foreach (var batch in Client.ReadRunAsync(topic, "r", rank, 2, options, ct))
                {
                    using (batch)
                    {
                        ids.Add((batch.Position, [.. batch.Records.EnumerateArray().Select(r => r.GetProperty("id").ToString())]));
                    }

                    if (ids.Count == 3)
                    {
                        break;
                    }
                }

                return ids;
            },
            ct)).ToArray();
        for (var i = 0; i < 6; i++)
        {
            var records = Enumerable.Range(i * 4, 4).Select(id => System.Text.Json.JsonSerializer.SerializeToElement(new { id })).ToList();
            await Client.AppendAsync(topic, i % 2, records, ct);
        }

        var read = await Task.WhenAll(ranks);
        Assert.All(read, steps => Assert.Equal([new RunStep(0, 0), new RunStep(0, 1), new RunStep(0, 2)], steps.Select(s => s.Step)));
        Assert.All(read.SelectMany(steps => steps), s => Assert.Equal(4, s.Ids.Length));
        Assert.Equal(Enumerable.Range(0, 24).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(), read.SelectMany(steps => steps.SelectMany(s => s.Ids)).Order());

        var committed = await Client.CommitAsync(topic, "r", 0, 2, "after-2", ct);
        Assert.Equal(new RunStep(0, 3), committed.ResumeAt);
    }
}
