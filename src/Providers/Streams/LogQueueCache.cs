using Orleans.Streams;
using OrleansShards.Core;

namespace OrleansShards.Providers.Streams;

/// <summary>
/// The cache of one queue: per partition, a bounded window of the records the receiver read last, for subscribers
/// that keep up. A cursor asked for an offset below the window (or for a partition the window does not hold) reads
/// the log store itself, so no subscriber ever misses a record the log still has, and a slow subscriber costs no
/// memory: it reads the log at its own pace. The cache never holds the pulling agent back (never under pressure).
/// </summary>
/// <remarks>
/// The pulling agent calls the cache and its cursors on its own single-threaded scheduler; cursors read the log
/// synchronously there (Orleans' cursor interface is synchronous), one page at a time.
/// </remarks>
internal sealed class LogQueueCache : IQueueCache
{
    private readonly Dictionary<StreamId, Window> _windows = [];
    private readonly ILogStore _store;
    private readonly LogStreamOptions _options;

    public LogQueueCache(ILogStore store, LogStreamOptions options)
    {
        _store = store;
        _options = options;
    }

    public int GetMaxAddCount() => _options.MaxRecordsPerPull;

    public void AddToCache(IList<IBatchContainer> messages)
    {
        foreach (var message in messages)
        {
            if (message is not LogBatchContainer container)
            {
                continue;
            }

            if (!_windows.TryGetValue(container.StreamId, out var window))
            {
                window = new Window();
                _windows.Add(container.StreamId, window);
            }

            window.Add(container, _options.CachedRecordsPerPartition);
        }
    }

    public bool TryPurgeFromCache(out IList<IBatchContainer> purgedItems)
    {
        // Windows trim themselves as records arrive; the log, not the receiver, keeps what was purged.
        purgedItems = null!;
        return false;
    }

    public IQueueCacheCursor GetCacheCursor(StreamId streamId, StreamSequenceToken? token)
    {
        if (!LogStreamIds.TryParse(streamId, out var topic, out var partition))
        {
            return new LogCacheCursor(this, streamId, topic, partition, long.MaxValue);
        }

        long start;
        if (token is not null)
        {
            start = token.SequenceNumber;
        }
        else if (_windows.TryGetValue(streamId, out var window))
        {
            start = window.Next;
        }
        else
        {
            // No record of this partition passed through yet: start at whatever is appended next.
            start = Sync(() => _store.GetBoundsAsync(topic, partition)).HighWatermark;
        }

        return new LogCacheCursor(this, streamId, topic, partition, start);
    }

    public bool IsUnderPressure() => false;

    internal LogBatchContainer? FromWindow(StreamId streamId, long offset, out bool atHead)
    {
        atHead = false;
        if (!_windows.TryGetValue(streamId, out var window))
        {
            return null;
        }

        atHead = offset >= window.Next;
        return window.Get(offset);
    }

    internal IReadOnlyList<LogRecord> ReadLog(string topic, int partition, long offset) =>
        Sync(() => _store.ReadAsync(topic, partition, offset, _options.ReadBatchSize)).Records;

    /// <summary>
    /// Runs a log store call to completion off the agent's scheduler: the store never needs that scheduler, so
    /// waiting for it here cannot deadlock.
    /// </summary>
    private static T Sync<T>(Func<ValueTask<T>> call) => Task.Run(() => call().AsTask()).GetAwaiter().GetResult();

    /// <summary>The newest records of one partition, contiguous: <c>[First, Next)</c>.</summary>
    private sealed class Window
    {
        private readonly List<LogBatchContainer> _items = [];

        public long First { get; private set; }

        public long Next { get; private set; }

        public void Add(LogBatchContainer container, int capacity)
        {
            var offset = container.Record.Offset;
            if (_items.Count > 0 && offset < Next)
            {
                return; // Read again (a receiver restarting one record back): already here.
            }

            if (_items.Count == 0 || offset > Next)
            {
                // A gap (the receiver skipped truncated records) starts the window afresh: it stays contiguous.
                _items.Clear();
                First = offset;
            }

            _items.Add(container);
            Next = offset + 1;
            if (_items.Count >= 2 * capacity)
            {
                var drop = _items.Count - capacity;
                _items.RemoveRange(0, drop);
                First += drop;
            }
        }

        public LogBatchContainer? Get(long offset) =>
            offset >= First && offset < Next ? _items[(int)(offset - First)] : null;
    }
}

/// <summary>
/// A subscriber's position in a partition: the offset it gets next. Served from the cache's window when the
/// offset is there, from the log store otherwise.
/// </summary>
internal sealed class LogCacheCursor : IQueueCacheCursor
{
    private readonly LogQueueCache _cache;
    private readonly StreamId _streamId;
    private readonly string _topic;
    private readonly int _partition;
    private long _next;
    private IBatchContainer? _current;
    private IReadOnlyList<LogRecord> _page = [];
    private int _pageIndex;

    public LogCacheCursor(LogQueueCache cache, StreamId streamId, string topic, int partition, long next)
    {
        _cache = cache;
        _streamId = streamId;
        _topic = topic;
        _partition = partition;
        _next = next;
    }

    public IBatchContainer? GetCurrent(out Exception? exception)
    {
        exception = null;
        return _current;
    }

    public bool MoveNext()
    {
        if (_next == long.MaxValue)
        {
            return false;
        }

        var cached = _cache.FromWindow(_streamId, _next, out var atHead);
        if (cached is not null)
        {
            return Advance(cached);
        }

        if (atHead)
        {
            return false; // Nothing newer yet; the agent refreshes the cursor when the receiver brings more.
        }

        while (_pageIndex < _page.Count && _page[_pageIndex].Offset < _next)
        {
            _pageIndex++;
        }

        if (_pageIndex >= _page.Count)
        {
            // Records removed by retention throw LogTruncatedException (with the first retained offset): the pulling
            // agent hands it to the subscriber's OnErrorAsync, so a gap is always reported, never skipped silently.
            _page = _cache.ReadLog(_topic, _partition, _next);

            _pageIndex = 0;
            if (_page.Count == 0)
            {
                return false;
            }
        }

        var record = _page[_pageIndex++];
        return Advance(new LogBatchContainer(_streamId, new LogStreamRecord(_topic, _partition, record.Offset, record.Value, record.AppendedAt)));
    }

    public void Refresh(StreamSequenceToken token)
    {
        // The position is an offset: new records need no refresh to be found.
    }

    public void RecordDeliveryFailure()
    {
    }

    public void Dispose()
    {
        _page = [];
        _current = null;
    }

    private bool Advance(LogBatchContainer container)
    {
        _current = container;
        _next = container.Record.Offset + 1;
        return true;
    }
}
