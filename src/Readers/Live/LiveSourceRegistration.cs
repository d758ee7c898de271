using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.Readers;
using OrleansShards.Readers.Live;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the live sources (<c>topic</c>, <c>redisstreams</c>) with a host.</summary>
public static class LiveSourceRegistration
{
    /// <summary>Adds the reader of Redis Streams, through the connections of <see cref="SourceConnectionsOptions"/>.</summary>
    public static IServiceCollection AddRedisStreamsSources(this IServiceCollection services) =>
        services.AddSingleton<ISourceAdapter>(sp => new RedisStreamsSourceAdapter(sp.GetRequiredService<IOptions<SourceConnectionsOptions>>().Value));

    /// <summary>Adds the reader of the built-in log's topics, on the registered <see cref="ILogStore"/>.</summary>
    public static IServiceCollection AddTopicSources(this IServiceCollection services) =>
        services.AddSingleton<ISourceAdapter>(sp => new TopicSourceAdapter(sp.GetRequiredService<ILogStore>()));
}
