using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains.Tests.Faults;

// One test per persistence point and side of its write (docs/durability.md lists them). Each
// crashes the only silo at that write, starts a new silo on the same SQLite file, finishes the
// job, and checks that no id of any epoch is missing and that every repeat was in flight.

public sealed class CreationCrashTests
{
    [Theory]
    [InlineData(FaultKind.CrashBefore)]
    [InlineData(FaultKind.CrashAfter)]
    public async Task Crash_at_the_create_write(FaultKind kind)
    {
        await using var scenario = await CrashScenario.StartAsync();
        scenario.Faults.Arm("job", 1, kind);
        await scenario.ExpectFaultAsync(scenario.CreateAsync);
        await scenario.RecoverAndFinishAsync();
        scenario.AssertNothingLostAndRepeatsWereInFlight();
        Assert.Empty(scenario.Deliveries.Repeated);
    }

    [Theory]
    [InlineData(FaultKind.CrashBefore)]
    [InlineData(FaultKind.CrashAfter)]
    public async Task Crash_at_the_job_write_that_acknowledges_a_partition(FaultKind kind)
    {
        await using var scenario = await CrashScenario.StartAsync();
        // The first job write stores the spec; the second acknowledges the first partition offered.
        scenario.Faults.Arm("job", 2, kind);
        await scenario.ExpectFaultAsync(scenario.CreateAsync);
        await scenario.RecoverAndFinishAsync();
        scenario.AssertNothingLostAndRepeatsWereInFlight();
        Assert.Empty(scenario.Deliveries.Repeated);
    }

    [Theory]
    [InlineData(FaultKind.CrashBefore)]
    [InlineData(FaultKind.CrashAfter)]
    public async Task Crash_at_the_splitter_offset_write(FaultKind kind)
    {
        await using var scenario = await CrashScenario.StartAsync();
        scenario.Faults.Arm("splitter", 1, kind);
        await scenario.ExpectFaultAsync(scenario.CreateAsync);
        await scenario.RecoverAndFinishAsync();
        scenario.AssertNothingLostAndRepeatsWereInFlight();
        Assert.Empty(scenario.Deliveries.Repeated);
        var splitters = await Task.WhenAll(Enumerable.Range(0, 2).Select(p =>
            scenario.Cluster.Client.GetGrain<ISplitterGrain>(SplitterGrain.KeyOf(scenario.JobId, p)).GetStatus()));
        Assert.All(splitters, s => Assert.Equal((true, CrashScenario.Rows / 2), (s.Acknowledged, s.SplitUpTo)));
    }
}

public sealed class LeaseCrashTests
{
    [Theory]
    [InlineData(FaultKind.CrashBefore)]
    [InlineData(FaultKind.CrashAfter)]
    public async Task Crash_at_a_lease_write(FaultKind kind)
    {
        await using var scenario = await CrashScenario.StartAsync();
        await scenario.CreateAsync();
        await scenario.ProcessAsync(3);
        var held = await scenario.LeaseAndReadAsync();
        scenario.Faults.Arm("job", 1, kind);
        await scenario.ExpectFaultAsync(() => scenario.Job.Lease(new LeaseRequest("a", 2)));
        await scenario.RecoverAndFinishAsync();
        scenario.AssertNothingLostAndRepeatsWereInFlight();
        Assert.Contains(held.TaskId, scenario.InFlight);
    }

    [Theory]
    [InlineData(FaultKind.CrashBefore)]
    [InlineData(FaultKind.CrashAfter)]
    public async Task Crash_at_a_report_write(FaultKind kind)
    {
        await using var scenario = await CrashScenario.StartAsync();
        await scenario.CreateAsync();
        await scenario.ProcessAsync(2);
        var lease = await scenario.LeaseAndReadAsync();
        scenario.Faults.Arm("job", 1, kind);
        await scenario.ExpectFaultAsync(() => scenario.ReportAsync(lease));
        await scenario.RecoverAndFinishAsync();
        scenario.AssertNothingLostAndRepeatsWereInFlight();
        // Stored before the crash, the report holds; lost with it, the shard is leased again and repeats.
        Assert.Equal(kind == FaultKind.CrashAfter, scenario.Deliveries.Repeated.All(r => scenario.Deliveries.TaskOf(r.Epoch, r.Id) != lease.TaskId));
    }

    [Theory]
    [InlineData(FaultKind.CrashBefore)]
    [InlineData(FaultKind.CrashAfter)]
    public async Task Crash_at_a_heartbeat_write(FaultKind kind)
    {
        await using var scenario = await CrashScenario.StartAsync();
        await scenario.CreateAsync();
        await scenario.ProcessAsync(1);
        var lease = await scenario.LeaseAndReadAsync();
        scenario.Faults.Arm("job", 1, kind);
        await scenario.ExpectFaultAsync(() => scenario.Job.Heartbeat("a", [lease.LeaseId]));
        await scenario.RecoverAndFinishAsync();
        scenario.AssertNothingLostAndRepeatsWereInFlight();
    }

    [Theory]
    [InlineData(FaultKind.CrashBefore)]
    [InlineData(FaultKind.CrashAfter)]
    public async Task Crash_at_a_release_write(FaultKind kind)
    {
        await using var scenario = await CrashScenario.StartAsync();
        await scenario.CreateAsync();
        await scenario.ProcessAsync(1);
        var leases = (await scenario.Job.Lease(new LeaseRequest("a", 3))).Leases;
        scenario.Faults.Arm("job", 1, kind);
        await scenario.ExpectFaultAsync(() => scenario.Job.Release("a", [.. leases.Select(l => l.LeaseId)]));
        await scenario.RecoverAndFinishAsync();
        scenario.AssertNothingLostAndRepeatsWereInFlight();
        Assert.Empty(scenario.Deliveries.Repeated);
    }
}

public sealed class ExpiryAndEpochCrashTests
{
    [Theory]
    [InlineData(FaultKind.CrashBefore)]
    [InlineData(FaultKind.CrashAfter)]
    public async Task Crash_at_the_write_of_an_expiry_requeue(FaultKind kind)
    {
        await using var scenario = await CrashScenario.StartAsync();
        await scenario.CreateAsync();
        await scenario.ProcessAsync(2);
        var abandoned = await scenario.LeaseAndReadAsync("ghost");
        // Nobody calls: the job's timer finds the expired lease and writes the re-queue.
        scenario.Faults.Arm("job", 1, kind);
        await scenario.Faults.Tripped.WaitAsync(TimeSpan.FromSeconds(30));
        await scenario.RecoverAndFinishAsync();
        scenario.AssertNothingLostAndRepeatsWereInFlight();
        Assert.Contains(scenario.Deliveries.Repeated, r => scenario.Deliveries.TaskOf(r.Epoch, r.Id) == abandoned.TaskId);
    }

    [Theory]
    [InlineData(FaultKind.CrashBefore)]
    [InlineData(FaultKind.CrashAfter)]
    public async Task Crash_at_the_write_that_advances_the_epoch(FaultKind kind)
    {
        await using var scenario = await CrashScenario.StartAsync();
        await scenario.CreateAsync();
        await scenario.ProcessAsync(CrashScenario.ShardsPerEpoch - 1);
        var last = await scenario.LeaseAndReadAsync();
        Assert.Equal(0, last.Epoch);
        scenario.Faults.Arm("job", 1, kind);
        await scenario.ExpectFaultAsync(() => scenario.ReportAsync(last));
        await scenario.RecoverAndFinishAsync();
        scenario.AssertNothingLostAndRepeatsWereInFlight();
        var status = await scenario.Job.GetStatus();
        Assert.Equal(2 * CrashScenario.ShardsPerEpoch, status.EpochHistory.Sum(e => e.ShardsDone));
    }

    [Theory]
    [InlineData(FaultKind.CrashBefore)]
    [InlineData(FaultKind.CrashAfter)]
    public async Task Batched_durability_repeats_work_after_a_crash_but_never_loses_it(FaultKind kind)
    {
        await using var scenario = await CrashScenario.StartAsync(JobSpec.Batched);
        await scenario.CreateAsync();
        await scenario.ProcessAsync(5);
        // A flush that begins now holds those five reports; after it they are durable.
        await scenario.Faults.WaitForNextWriteAsync("job");
        var held = await scenario.LeaseAndReadAsync();
        // Reports acknowledged after that flush are only in memory: they stay in flight for the check.
        for (var i = 0; i < 3; i++)
        {
            var lease = await scenario.LeaseAndReadAsync();
            var answer = await scenario.Job.Report(new TaskReport(lease.TaskId, lease.LeaseId, "a", true));
            Assert.True(answer.Accepted);
        }

        scenario.Faults.Arm("job", 1, kind);
        await scenario.Faults.Tripped.WaitAsync(TimeSpan.FromSeconds(30));
        await scenario.RecoverAndFinishAsync();
        scenario.AssertNothingLostAndRepeatsWereInFlight();
        Assert.Contains(held.TaskId, scenario.InFlight);
    }
}

public sealed class ImportCrashTests
{
    [Theory]
    [InlineData(FaultKind.CrashBefore)]
    [InlineData(FaultKind.CrashAfter)]
    public async Task Crash_at_the_checkpoint_import_write(FaultKind kind)
    {
        await using var scenario = await CrashScenario.StartAsync();
        await scenario.CreateAsync();
        await scenario.ProcessAsync(4);
        var held = await scenario.LeaseAndReadAsync();
        var document = await scenario.Job.ExportCheckpoint();
        Assert.Contains(document.Doing!, d => d.TaskId == held.TaskId);

        scenario.SwitchTo("imported");
        scenario.Faults.Arm("job", 1, kind);
        await scenario.ExpectFaultAsync(() => scenario.Job.ImportCheckpoint(document));
        await scenario.RecoverAsync();
        var again = await Record.ExceptionAsync(() => scenario.Job.ImportCheckpoint(document));
        if (kind == FaultKind.CrashBefore)
        {
            Assert.Null(again);
        }
        else
        {
            // The import was stored before the crash: importing again is refused, and the job goes on.
            var conflict = Assert.IsType<ShardsException>(again);
            Assert.Equal(ShardsErrorKind.Conflict, conflict.Kind);
        }

        var status = await scenario.Job.GetStatus();
        Assert.Equal(0, status.Shards.Doing);
        Assert.Equal(4, status.Shards.Done);
        await scenario.FinishAsync();
        scenario.AssertNothingLostAndRepeatsWereInFlight();
        Assert.Contains(scenario.Deliveries.Repeated, r => scenario.Deliveries.TaskOf(r.Epoch, r.Id) == held.TaskId);
    }
}

/// <summary>A write that fails without a crash: the caller hears so, the grain reloads its state, and the job goes on in the same cluster.</summary>
public sealed class WriteFailureTests
{
    [Theory]
    [InlineData(FaultKind.FailBefore)]
    [InlineData(FaultKind.FailAfter)]
    public async Task A_failed_lease_write_is_retried_with_the_same_request_id_and_the_job_completes(FaultKind kind)
    {
        await using var scenario = await CrashScenario.StartAsync();
        await scenario.CreateAsync();
        await scenario.ProcessAsync(2);
        scenario.Faults.Arm("job", 1, kind);
        await scenario.ExpectFaultAsync(() => scenario.Job.Lease(new LeaseRequest("a", 2, "req-7")));
        var retried = await scenario.Job.Lease(new LeaseRequest("a", 2, "req-7"));
        var again = await scenario.Job.Lease(new LeaseRequest("a", 2, "req-7"));
        Assert.Equal(retried.Leases, again.Leases);
        Assert.Equal(2, retried.Leases.Count);
        var status = await scenario.Job.GetStatus();
        Assert.Equal(2, status.Shards.Doing);
        await scenario.FinishAsync();
        scenario.AssertNothingLostAndRepeatsWereInFlight();
        Assert.Empty(scenario.Deliveries.Repeated);
    }

    [Theory]
    [InlineData(FaultKind.FailBefore)]
    [InlineData(FaultKind.FailAfter)]
    public async Task A_failed_report_write_is_retried_and_counted_once(FaultKind kind)
    {
        await using var scenario = await CrashScenario.StartAsync();
        await scenario.CreateAsync();
        var lease = await scenario.LeaseAndReadAsync();
        scenario.Faults.Arm("job", 1, kind);
        await scenario.ExpectFaultAsync(() => scenario.ReportAsync(lease));
        var retry = await scenario.Job.Report(new TaskReport(lease.TaskId, lease.LeaseId, "a", true));
        // Lost before the write, the retry is the report; stored before the failure, it is a duplicate.
        Assert.Equal(kind == FaultKind.FailAfter, retry.Duplicate);
        await scenario.FinishAsync();
        var status = await scenario.Job.GetStatus();
        Assert.Equal(CrashScenario.Rows * CrashScenario.Epochs, status.Records.Delivered);
        Assert.Empty(scenario.Deliveries.Repeated);
    }
}
