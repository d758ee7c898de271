using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains.Tests.Faults;

/// <summary>
/// One crash test: a job on a single silo whose storage fails or crashes on command (phase A),
/// then, after a crash, every silo killed and a new one started on the same SQLite file that
/// finishes the job (phase B). It records every id delivered and which shards were read without
/// an acknowledged report, so it can check that nothing was lost and that every repeat was in flight.
/// </summary>
public sealed class CrashScenario : IAsyncDisposable
{
    public const long Rows = 12_000;
    public const int ShardsPerEpoch = 12;
    public const int Epochs = 2;

    private readonly TestData _data = new();
    private readonly HashSet<string> _inFlight = [];
    private ShardsCluster? _cluster;

    private CrashScenario(string durability) => Spec = new JobSpec
    {
        Id = "crash",
        Source = new SourceSpec { Kind = "csv", Paths = ["part-*.csv"] },
        ShardSize = 1_000,
        Epochs = Epochs,
        Shuffle = true,
        Seed = 99,
        LeaseTimeoutSeconds = 2,
        MaxAttempts = 20,
        Durability = durability,
        FlushIntervalMs = durability == JobSpec.Batched ? 200 : null,
    };

    public FaultInjector Faults { get; } = new();

    public Deliveries Deliveries { get; } = new();

    public JobSpec Spec { get; private set; }

    /// <summary>The job the scenario drives; <see cref="SwitchTo"/> moves it to another (an imported copy).</summary>
    public string JobId => Spec.Id!;

    public ShardsCluster Cluster => _cluster ?? throw new InvalidOperationException("no cluster");

    public IJobGrain Job => Cluster.Client.GetGrain<IJobGrain>(JobId);

    /// <summary>Task ids that were read and whose report was not acknowledged: the only ones allowed to repeat.</summary>
    public IReadOnlySet<string> InFlight => _inFlight;

    public static async Task<CrashScenario> StartAsync(string durability = JobSpec.Strict)
    {
        var scenario = new CrashScenario(durability);
        scenario._data.WriteCsv("part-{0}.csv", Rows, 2);
        scenario._cluster = await ShardsCluster.StartAsync(scenario._data, silos: 1, scenario.Faults);
        return scenario;
    }

    public Task CreateAsync() => Job.Create(Spec);

    /// <summary>Drives <paramref name="jobId"/> from now on: the same source, spec and work, under another id.</summary>
    public void SwitchTo(string jobId) => Spec = Spec with { Id = jobId };

    /// <summary>Kills the crashed deployment and starts a new silo on the same file, without faults.</summary>
    public async Task RecoverAsync()
    {
        await Cluster.KillAllAsync();
        await Cluster.DisposeAsync();
        _cluster = await ShardsCluster.StartAsync(_data, silos: 1);
    }

    /// <summary>Leases one shard and reads it; it stays in flight until <see cref="ReportAsync"/> is acknowledged.</summary>
    public async Task<TaskLease> LeaseAndReadAsync(string worker = "a")
    {
        var lease = (await Job.Lease(new LeaseRequest(worker, 1))).Leases.Single();
        _inFlight.Add(lease.TaskId);
        new ThickWorker(Cluster, JobId, worker, Deliveries).Read(await Job.GetReadPlan(), lease);
        return lease;
    }

    public async Task ReportAsync(TaskLease lease, string worker = "a")
    {
        await Job.Report(new TaskReport(lease.TaskId, lease.LeaseId, worker, Done: true));
        _inFlight.Remove(lease.TaskId);
    }

    /// <summary>Leases, reads and reports <paramref name="shards"/> shards one after another.</summary>
    public async Task ProcessAsync(int shards)
    {
        for (var i = 0; i < shards; i++)
        {
            await ReportAsync(await LeaseAndReadAsync());
        }
    }

    /// <summary>Runs <paramref name="operation"/>, which must fail because of the armed fault, and waits for the fault.</summary>
    public async Task ExpectFaultAsync(Func<Task> operation)
    {
        var error = await Record.ExceptionAsync(operation);
        Assert.NotNull(error);
        await Faults.Tripped.WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Kills the crashed deployment, starts a new silo on the same file, and finishes the job with two workers.</summary>
    public async Task RecoverAndFinishAsync()
    {
        await RecoverAsync();
        await FinishAsync();
    }

    /// <summary>Finishes the job on the current cluster; a create that never landed is simply made again (create is idempotent).</summary>
    public async Task FinishAsync()
    {
        try
        {
            await Job.GetStatus();
        }
        catch (ShardsException e) when (e.Kind == ShardsErrorKind.NotFound)
        {
            await Job.Create(Spec);
        }

        // A job that exists is asked to create itself again all the same: the same spec is a no-op
        // that must not fail, and after a crash at creation it wakes the splitters.
        if (Spec.Id == "crash")
        {
            await Job.Create(Spec);
        }

        var workers = new[] { "b0", "b1" }.Select(w => new ThickWorker(Cluster, JobId, w, Deliveries, resilient: true).RunAsync()).ToArray();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(JobStates.Completed, (await Job.GetStatus()).State);
    }

    /// <summary>No id of any epoch is missing, and every id delivered twice lies in a shard that was in flight at the fault.</summary>
    public void AssertNothingLostAndRepeatsWereInFlight()
    {
        for (var epoch = 0; epoch < Epochs; epoch++)
        {
            Assert.Empty(Deliveries.Missing(epoch, Rows));
        }

        foreach (var (epoch, id, _) in Deliveries.Repeated)
        {
            var task = Deliveries.TaskOf(epoch, id);
            Assert.True(_inFlight.Contains(task), $"id {id} of epoch {epoch} (task {task}) was delivered twice but its shard was not in flight at the fault");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        _data.Dispose();
    }
}
