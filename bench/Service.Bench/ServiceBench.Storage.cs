namespace OrleansShards.Service.Bench;

public sealed partial class ServiceBench
{
    /// <summary>One timed run of lease + report cycles on this silo's storage provider: strict durability, a fresh job.</summary>
    public Func<double, Task<RunResult>> StorageCycles(int workers, int maxTasks) => async seconds =>
        await CycleRunAsync(await CreateJobAsync("storage", shardSize: 1, epochs: 1), workers, maxTasks, seconds, latency: true);
}
