using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace OrleansShards.Grains;

/// <summary>Registers what the grains need besides grain storage: options, readers, time.</summary>
public static class ShardsGrainServices
{
    /// <summary>Adds the services of the OrleansShards grains.</summary>
    public static IServiceCollection AddShardsGrains(this IServiceCollection services, Action<ShardsOptions>? configure = null)
    {
        var options = services.AddOptions<ShardsOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SourceReaders>();
        services.TryAddSingleton(sp =>
        {
            var shards = sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<ShardsOptions>>().Value;
            return new OrleansShards.Readers.ShardBatchCache(shards.ShardCacheBytes, shards.ShardCacheIdle, sp.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton<TaskRecordReader>();
        services.TryAddSingleton<JobCheckpointService>();
        services.AddOptions<RunOptions>();
        services.TryAddSingleton<RunBatchReader>();
        services.TryAddSingleton<LiveRunBatchReader>();
        return services;
    }
}
