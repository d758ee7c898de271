using OrleansShards.Core;
using OrleansShards.GrainInterfaces;
using OrleansShards.Tests.Servers;

namespace OrleansShards.Client.Tests;

/// <summary>The typed job methods of <see cref="ShardsClient"/> against the real server.</summary>
public sealed class JobMethodsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private ShardsClient Client => server.Client;

    private Task<JobStatus> Create(string id) => Client.CreateJobAsync(new JobSpec
    {
        Id = id,
        Source = new SourceSpec { Kind = "csv", Paths = ["numbers.csv"] },
        ShardSize = 1000,
    });

    [Fact]
    public async Task Pause_resume_cancel_list_and_delete()
    {
        await Create("methods-life");
        Assert.Equal(JobStates.Paused, (await Client.PauseJobAsync("methods-life")).State);
        Assert.Equal(JobStates.Running, (await Client.ResumeJobAsync("methods-life")).State);
        Assert.Contains(await Client.ListJobsAsync(), j => j.Id == "methods-life");
        Assert.Equal(JobStates.Cancelled, (await Client.CancelJobAsync("methods-life")).State);
        var refused = await Assert.ThrowsAsync<ShardsApiException>(() => Client.LeaseAsync("methods-life", "w", 1));
        Assert.Equal(409, refused.Status);
        await Client.DeleteJobAsync("methods-life");
        Assert.DoesNotContain(await Client.ListJobsAsync(), j => j.Id == "methods-life");
        Assert.Equal(404, (await Assert.ThrowsAsync<ShardsApiException>(() => Client.GetJobAsync("methods-life"))).Status);
    }

    [Fact]
    public async Task A_typed_checkpoint_round_trips_through_export_delete_and_import()
    {
        await Create("methods-cp");
        var leases = await Client.LeaseAsync("methods-cp", "w", 2);
        await Client.ReportAsync("methods-cp", new TaskReport(leases.Leases[0].TaskId, leases.Leases[0].LeaseId, "w", Done: true));

        var checkpoint = await Client.ExportCheckpointAsync("methods-cp");
        Assert.Equal("methods-cp", checkpoint.JobId);
        Assert.Single(checkpoint.Doing!);
        await Client.DeleteJobAsync("methods-cp");

        var imported = await Client.ImportCheckpointAsync(checkpoint);
        Assert.Equal("methods-cp", imported.Id);
        Assert.Equal(new ShardProgress(Total: 3, Todo: 2, Doing: 0, Done: 1, Failed: 0), imported.Shards);
    }
}
