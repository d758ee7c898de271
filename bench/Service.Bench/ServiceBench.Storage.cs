namespace OrleansShards.Service.Bench;

public sealed partial class ServiceBench
{
    /// <summary>Lease + report cycles on the silo's storage provider, strict durability, a fresh job per run.</summary>
    public async Task StorageCyclesAsync(string provider, int workers, int maxTasks)
    {
        var m = await Runner.MeasureAsync($"{provider}, {workers} workers, maxTasks {maxTasks}", options, async s =>
            await CycleRunAsync(await CreateJobAsync("storage", shardSize: 1, epochs: 1), workers, maxTasks, s, latency: true));
        results.Add(Keys.Storage(provider), m);
    }
}
