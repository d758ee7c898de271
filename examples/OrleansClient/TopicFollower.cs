using Orleans.Streams;
using OrleansShards.Providers.Streams;

namespace OrleansShards.OrleansClient;

/// <summary>
/// Follows a topic partition through its Orleans stream (the silo's <c>shards-log</c> provider on the built-in
/// log): subscribes from an offset (a <see cref="LogSequenceToken"/>), so records from that offset on arrive in
/// order, then each record as it lands. To resume after a disconnect, subscribe again from the last offset handled + 1.
/// </summary>
public static class TopicFollower
{
    /// <summary>The stream provider the silo serves the log under.</summary>
    public const string StreamProvider = "shards-log";

    /// <summary>Adds the log's stream provider to a client (subscribe only: appends go through the silo).</summary>
    public static void AddLogStreams(IClientBuilder client) => client.AddShardsLogStreams(StreamProvider);

    /// <summary>
    /// Subscribes to partition <paramref name="partition"/> of <paramref name="topic"/> from <paramref name="from"/>,
    /// collects <paramref name="count"/> records, and unsubscribes.
    /// </summary>
    /// <exception cref="TimeoutException">Fewer records arrived within <paramref name="timeout"/>.</exception>
    public static async Task<IReadOnlyList<LogStreamRecord>> ReadAsync(
        IClusterClient client, string topic, int partition, long from, int count, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var stream = client.GetStreamProvider(StreamProvider).GetStream<LogStreamRecord>(LogStreamIds.For(topic, partition));
        var received = new List<LogStreamRecord>(count);
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handle = await stream.SubscribeAsync(
            (record, _) =>
            {
                lock (received)
                {
                    if (received.Count < count)
                    {
                        received.Add(record);
                    }

                    if (received.Count == count)
                    {
                        enough.TrySetResult();
                    }
                }

                return Task.CompletedTask;
            },
            new LogSequenceToken(from));
        try
        {
            await enough.Task.WaitAsync(timeout, cancellationToken);
        }
        finally
        {
            await handle.UnsubscribeAsync();
        }

        lock (received)
        {
            return [.. received];
        }
    }
}
