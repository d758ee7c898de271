using Microsoft.Extensions.Logging;
using Orleans.Streams;
using OrleansShards.Core;

namespace OrleansShards.Providers.Streams;

/// <summary>
/// Reads the partitions of one queue from the log store: a cursor per topic partition, nothing copied anywhere.
/// Partitions are found by listing the topics (at start and every <see cref="LogStreamOptions.TopicRefreshInterval"/>),
/// so topics and partitions added at run time are picked up. When nothing is new the receiver waits for an append
/// (<see cref="ILogStore.WaitForAnyAppendAsync"/>, one poll for all its partitions) up to <see cref="LogStreamOptions.MaxWait"/>, so a record reaches the
/// pulling agent as soon as it is acknowledged instead of at the next timer tick.
/// </summary>
internal sealed partial class LogQueueReceiver : IQueueAdapterReceiver
{
    private readonly QueueId _queueId;
    private readonly IStreamQueueMapper _mapper;
    private readonly ILogStore _store;
    private readonly LogStreamOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly string _providerName;
    private readonly List<PartitionCursor> _partitions = [];
    private readonly CancellationTokenSource _stopping = new();
    private long _lastListed;
    private bool _listed;
    private int _rotation;

    public LogQueueReceiver(string providerName, QueueId queueId, IStreamQueueMapper mapper, ILogStore store, LogStreamOptions options, TimeProvider timeProvider, ILogger logger)
    {
        _providerName = providerName;
        _queueId = queueId;
        _mapper = mapper;
        _store = store;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The partitions this queue reads, for tests and diagnostics.</summary>
    internal int PartitionCount => _partitions.Count;

    public async Task Initialize(TimeSpan timeout)
    {
        try
        {
            using var limit = new CancellationTokenSource(timeout);
            await ListTopicsAsync(limit.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // Listing is tried again at every pull: a store that is down at start does not stop the queue for good.
            LogListFailed(exception, _providerName, _queueId);
        }
    }

    [Obsolete("Orleans calls the overload with a cancellation token.")]
    public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount) => GetQueueMessagesAsync(maxCount, CancellationToken.None);

    public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        var token = linked.Token;
        if (!_listed || _timeProvider.GetElapsedTime(_lastListed) >= _options.TopicRefreshInterval)
        {
            await ListTopicsAsync(token).ConfigureAwait(false);
        }

        var limit = maxCount < 0 ? _options.MaxRecordsPerPull : Math.Min(maxCount, _options.MaxRecordsPerPull);
        var messages = await ReadAsync(limit, token).ConfigureAwait(false);
        if (messages.Count == 0 && _options.MaxWait > TimeSpan.Zero && !token.IsCancellationRequested)
        {
            try
            {
                if (await WaitForAnyAppendAsync(token).ConfigureAwait(false))
                {
                    messages = await ReadAsync(limit, token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Shutting down while waiting: nothing to hand over.
            }
        }

        return messages;
    }

    [Obsolete("Orleans calls the overload with a cancellation token.")]
    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages) => Task.CompletedTask;

    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages, CancellationToken cancellationToken) =>
        Task.CompletedTask; // Nothing to acknowledge: the records stay in the log, subscribers keep their own positions.

    public Task Shutdown(TimeSpan timeout)
    {
        _stopping.Cancel();
        return Task.CompletedTask;
    }

    private async Task ListTopicsAsync(CancellationToken cancellationToken)
    {
        var topics = await _store.ListTopicsAsync(cancellationToken).ConfigureAwait(false);
        var known = _partitions.ToDictionary(p => (p.Topic, p.Partition));
        var present = new HashSet<(string, int)>();
        foreach (var topic in topics)
        {
            for (var partition = 0; partition < topic.Partitions; partition++)
            {
                var streamId = LogStreamIds.For(topic.Name, partition);
                if (!_mapper.GetQueueForStream(streamId).Equals(_queueId))
                {
                    continue;
                }

                present.Add((topic.Name, partition));
                if (known.ContainsKey((topic.Name, partition)))
                {
                    continue;
                }

                var bounds = await _store.GetBoundsAsync(topic.Name, partition, cancellationToken).ConfigureAwait(false);

                // Partitions there at start: from the last record, which reaches the agent again so that it registers
                // the stream and its subscribers catch up from their own positions (cursors read the log). Partitions
                // that appear later: from their start, so records appended before they were noticed flow too.
                var start = _listed ? bounds.FirstRetained : Math.Max(bounds.FirstRetained, bounds.HighWatermark - 1);
                _partitions.Add(new PartitionCursor(topic.Name, partition, streamId, start));
            }
        }

        _partitions.RemoveAll(p => !present.Contains((p.Topic, p.Partition)));
        _listed = true;
        _lastListed = _timeProvider.GetTimestamp();
    }

    private async Task<IList<IBatchContainer>> ReadAsync(int limit, CancellationToken cancellationToken)
    {
        var messages = new List<IBatchContainer>();
        if (_partitions.Count == 0)
        {
            return messages;
        }

        // Start at another partition each pull, so a busy partition cannot starve the others of the limit.
        _rotation = (_rotation + 1) % _partitions.Count;
        for (var i = 0; i < _partitions.Count && messages.Count < limit; i++)
        {
            var cursor = _partitions[(_rotation + i) % _partitions.Count];
            LogReadResult read;
            try
            {
                read = await _store.ReadAsync(cursor.Topic, cursor.Partition, cursor.Next, Math.Min(_options.ReadBatchSize, limit - messages.Count), cancellationToken).ConfigureAwait(false);
            }
            catch (LogTruncatedException truncated)
            {
                // Retention passed this cursor. It only wakes subscribers; each one finds the truncation on its own cursor.
                cursor.Next = truncated.FirstRetained;
                continue;
            }
            catch (LogStoreException missing) when (missing.Kind == ShardsErrorKind.NotFound)
            {
                _listed = false; // The topic was deleted: list again at the next pull.
                continue;
            }

            foreach (var record in read.Records)
            {
                messages.Add(new LogBatchContainer(cursor.StreamId, new LogStreamRecord(cursor.Topic, cursor.Partition, record.Offset, record.Value, record.AppendedAt)));
            }

            cursor.Next = read.NextOffset(cursor.Next);
        }

        return messages;
    }

    private async Task<bool> WaitForAnyAppendAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _store.WaitForAnyAppendAsync(_partitions.Select(p => (p.Topic, p.Partition, p.Next)).ToList(), _options.MaxWait, cancellationToken).ConfigureAwait(false);
        }
        catch (LogStoreException missing) when (missing.Kind == ShardsErrorKind.NotFound)
        {
            // A topic was deleted: list again, then read.
            _listed = false;
            return true;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Log stream provider {Provider}: queue {Queue} could not list the topics of the log; it tries again at the next pull")]
    private partial void LogListFailed(Exception exception, string provider, QueueId queue);

    private sealed class PartitionCursor(string topic, int partition, Orleans.Runtime.StreamId streamId, long next)
    {
        public string Topic { get; } = topic;

        public int Partition { get; } = partition;

        public Orleans.Runtime.StreamId StreamId { get; } = streamId;

        public long Next { get; set; } = next;
    }
}
