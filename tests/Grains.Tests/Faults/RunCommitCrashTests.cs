using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains.Tests.Faults;

/// <summary>
/// The persistence point of a run's commit (docs/durability.md, docs/runs.md): a fault right before or right after the
/// run's state write. Before: the commit is not kept and the trainer, who got an error, commits again. After: the commit
/// is kept although the trainer never heard so; its retry of the same commit is 200 and changes nothing. Either way
/// no commit the trainer was told about is lost, and resumeAt never moves past a step whose commit was not stored.
/// </summary>
public sealed class RunCommitCrashTests
{
    private static async Task<IRunGrain> CreateRunAsync(CrashScenario scenario)
    {
        await scenario.CreateAsync();
        var run = scenario.Cluster.Client.GetGrain<IRunGrain>(IRunGrain.KeyOf(scenario.JobId, "r"));
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await run.Create(new RunSpec(1_000));
                return run;
            }
            catch (ShardsException e) when (e.Kind == ShardsErrorKind.Conflict && attempt < 400)
            {
                // The job still describes its source.
                await Task.Delay(25);
            }
        }
    }

    [Theory]
    [InlineData(FaultKind.CrashBefore)]
    [InlineData(FaultKind.CrashAfter)]
    public async Task Crash_at_the_commit_write(FaultKind kind)
    {
        await using var scenario = await CrashScenario.StartAsync();
        var run = await CreateRunAsync(scenario);
        Assert.Equal(new RunPosition(0, 3), (await run.Commit(0, 2, "a")).ResumeAt);

        scenario.Faults.Arm("run", 1, kind);
        await scenario.ExpectFaultAsync(() => run.Commit(0, 5, "b"));
        await scenario.RecoverAsync();

        run = scenario.Cluster.Client.GetGrain<IRunGrain>(IRunGrain.KeyOf(scenario.JobId, "r"));
        var recovered = await run.GetStatus();
        var expected = kind == FaultKind.CrashBefore ? new RunCommitStatus(0, 2, "a") : new RunCommitStatus(0, 5, "b");
        Assert.Equal(expected, recovered.Committed);
        Assert.Equal(kind == FaultKind.CrashBefore ? new RunPosition(0, 3) : new RunPosition(0, 6), recovered.ResumeAt);

        // The trainer retries the commit it got no answer for: kept either way, and a rewind to "a" still works.
        Assert.Equal(new RunPosition(0, 6), (await run.Commit(0, 5, "b")).ResumeAt);
        Assert.Equal(new RunPosition(0, 3), (await run.Rewind("a", null, null)).ResumeAt);
    }

    [Theory]
    [InlineData(FaultKind.FailBefore)]
    [InlineData(FaultKind.FailAfter)]
    public async Task A_failed_commit_write_is_never_shown_as_committed_by_the_same_activation(FaultKind kind)
    {
        await using var scenario = await CrashScenario.StartAsync();
        var run = await CreateRunAsync(scenario);
        await run.Commit(0, 2, "a");
        scenario.Faults.Arm("run", 1, kind);
        await Assert.ThrowsAnyAsync<Exception>(() => run.Commit(0, 5, "b"));

        // The caller heard of no commit: the activation shows the commit it did acknowledge.
        Assert.Equal(new RunCommitStatus(0, 2, "a"), (await run.GetStatus()).Committed);
        Assert.Equal(new RunCommitStatus(0, 5, "b"), (await run.Commit(0, 5, "b")).Committed);
        Assert.Equal(new RunCommitStatus(0, 5, "b"), (await run.GetStatus()).Committed);
    }
}
