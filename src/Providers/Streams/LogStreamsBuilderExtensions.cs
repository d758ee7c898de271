using Orleans.Configuration;
using Orleans.Streams;

namespace OrleansShards.Providers.Streams;

/// <summary>Registers the log stream provider on silos and clients.</summary>
public static class LogStreamsBuilderExtensions
{
    /// <summary>
    /// Adds the persistent stream provider <paramref name="name"/> on the built-in log. The silo needs an
    /// <see cref="OrleansShards.Core.ILogStore"/> (<c>AddSqliteLogStore</c>/<c>AddPostgresLogStore</c>) and, for
    /// subscriptions that survive restarts, a grain storage named <c>PubSubStore</c>.
    /// </summary>
    public static ISiloBuilder AddShardsLogStreams(this ISiloBuilder builder, string name, Action<LogStreamOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = Configure(name, configure);
        return builder.AddPersistentStreams(name, LogQueueAdapterFactory.Create, stream =>
        {
            stream.Configure<LogStreamOptions>(ob => ob.Configure(o => Copy(options, o)));
            stream.Configure<HashRingStreamQueueMapperOptions>(ob => ob.Configure(o => o.TotalQueueCount = options.QueueCount));
            stream.ConfigurePullingAgent(ob => ob.Configure(o => o.GetQueueMsgsTimerPeriod = options.PullPeriod));
            stream.ConfigureStreamPubSub(StreamPubSubType.ExplicitGrainBasedAndImplicit);
        });
    }

    /// <summary>
    /// Adds the stream provider <paramref name="name"/> to a client so that it can subscribe to topic partitions (and,
    /// with an <see cref="OrleansShards.Core.ILogStore"/> registered in the client, produce to them).
    /// </summary>
    public static IClientBuilder AddShardsLogStreams(this IClientBuilder builder, string name, Action<LogStreamOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = Configure(name, configure);
        return builder.AddPersistentStreams(name, LogQueueAdapterFactory.Create, stream =>
        {
            stream.Configure<LogStreamOptions>(ob => ob.Configure(o => Copy(options, o)));
            stream.Configure<HashRingStreamQueueMapperOptions>(ob => ob.Configure(o => o.TotalQueueCount = options.QueueCount));
            stream.ConfigureStreamPubSub(StreamPubSubType.ExplicitGrainBasedAndImplicit);
        });
    }

    private static LogStreamOptions Configure(string name, Action<LogStreamOptions>? configure)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var options = new LogStreamOptions();
        configure?.Invoke(options);
        options.Validate(name);
        return options;
    }

    private static void Copy(LogStreamOptions from, LogStreamOptions to)
    {
        to.QueueCount = from.QueueCount;
        to.ReadBatchSize = from.ReadBatchSize;
        to.MaxRecordsPerPull = from.MaxRecordsPerPull;
        to.MaxWait = from.MaxWait;
        to.PullPeriod = from.PullPeriod;
        to.TopicRefreshInterval = from.TopicRefreshInterval;
        to.CachedRecordsPerPartition = from.CachedRecordsPerPartition;
    }
}
