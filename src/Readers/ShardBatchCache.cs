namespace OrleansShards.Readers;

/// <summary>
/// Whole shards kept in memory within a byte budget. The pages of a shuffled shard are windows of a seeded order
/// spread over the whole shard, so without a cache every page would read the whole shard again; with it, a shard read
/// page by page is read once while it stays in the budget. Concurrent requests for the same shard share one read.
/// Entries are evicted least recently used first when the budget is exceeded, and after they were not asked for
/// during <see cref="IdleTimeout"/> (checked on each request). A batch handed out stays valid until it is disposed,
/// even when its entry is evicted meanwhile: the last holder returns its buffers.
/// </summary>
/// <remarks>
/// Written by hand rather than on <c>Microsoft.Extensions.Caching.Memory</c>: a cached batch owns pooled buffers that
/// must be returned exactly once, after the last page that uses it is written, which needs the reference count
/// kept here anyway; the rest (a dictionary and a recency list under one lock) is a few lines.
/// </remarks>
public sealed class ShardBatchCache
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Key, Entry> _entries = [];
    private readonly LinkedList<Entry> _recency = new();
    private readonly TimeProvider _time;
    private long _usedBytes;
    private long _reads;

    /// <summary>A cache of at most <paramref name="budgetBytes"/> (estimated) bytes of shards.</summary>
    /// <param name="budgetBytes">The budget; 0 turns caching off (every request reads).</param>
    /// <param name="idleTimeout">How long an entry nobody asks for is kept.</param>
    /// <param name="time">The clock of the idle timeout.</param>
    public ShardBatchCache(long budgetBytes, TimeSpan idleTimeout, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budgetBytes);
        ArgumentNullException.ThrowIfNull(time);
        BudgetBytes = budgetBytes;
        IdleTimeout = idleTimeout;
        _time = time;
    }

    /// <summary>The byte budget of the cached shards (as estimated by the callers).</summary>
    public long BudgetBytes { get; }

    /// <summary>How long an entry nobody asks for is kept.</summary>
    public TimeSpan IdleTimeout { get; }

    /// <summary>The estimated bytes held now.</summary>
    public long UsedBytes
    {
        get
        {
            lock (_lock)
            {
                return _usedBytes;
            }
        }
    }

    /// <summary>How many reads went to the reader (misses and shards larger than the budget).</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>
    /// The records of <paramref name="request"/> from the cache, or read by <paramref name="reader"/> and kept when
    /// <paramref name="estimatedBytes"/> fits the budget. The caller disposes the batch it gets.
    /// </summary>
    /// <param name="reader">The reader of the request; part of the key, since two readers may parse one path differently.</param>
    /// <param name="request">The shard to read (its path, fingerprint, range and columns are the key).</param>
    /// <param name="estimatedBytes">What the shard is expected to hold in memory.</param>
    /// <param name="cancellationToken">Cancels the wait; a read shared with other callers goes on for them.</param>
    public async ValueTask<RecordBatch> ReadAsync(IPartitionReader reader, ShardReadRequest request, long estimatedBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(request);
        estimatedBytes = Math.Max(1, estimatedBytes);
        if (estimatedBytes > BudgetBytes)
        {
            Interlocked.Increment(ref _reads);
            return await reader.ReadAsync(request, cancellationToken);
        }

        var key = new Key(reader, request.Path, request.Expected, request.Start, request.End, request.Columns is null ? null : string.Join('\u001f', request.Columns), request.Limit);
        Entry entry;
        List<Entry>? evicted = null;
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (_entries.TryGetValue(key, out var found))
            {
                entry = found;
                _recency.Remove(entry.Node);
            }
            else
            {
                entry = new Entry(key, estimatedBytes);
                // Not tied to this caller's token: other callers may come to share the read.
                entry.Read = ReadShared(reader, request);
                _entries.Add(key, entry);
                _usedBytes += estimatedBytes;
                Interlocked.Increment(ref _reads);
            }

            entry.Refs++;
            entry.LastUsed = now;
            _recency.AddFirst(entry.Node);
            while (_recency.Last is { } oldest && oldest.Value != entry && (_usedBytes > BudgetBytes || now - oldest.Value.LastUsed > IdleTimeout))
            {
                (evicted ??= []).Add(oldest.Value);
                RemoveLocked(oldest.Value);
            }
        }

        evicted?.ForEach(Release);
        try
        {
            var batch = await entry.Read.WaitAsync(cancellationToken);
            return new SharedBatch(this, entry, batch);
        }
        catch
        {
            lock (_lock)
            {
                if (entry.Read.IsFaulted && _entries.TryGetValue(key, out var current) && current == entry)
                {
                    // A failed read is not kept: the next request tries again (and reports its own error).
                    RemoveLocked(entry);
                    entry.Refs--;
                }
            }

            Release(entry);
            throw;
        }
    }

    /// <summary>Starts the read on the thread pool: not under the lock, and not on the scheduler of whoever asked first (a grain).</summary>
    private static Task<RecordBatch> ReadShared(IPartitionReader reader, ShardReadRequest request) =>
        Task.Run(() => reader.ReadAsync(request, CancellationToken.None).AsTask());

    /// <summary>Drops the cache's own reference; called under the lock.</summary>
    private void RemoveLocked(Entry entry)
    {
        _entries.Remove(entry.Key);
        _recency.Remove(entry.Node);
        _usedBytes -= entry.Bytes;
    }

    /// <summary>Drops one reference (the cache's, after <see cref="RemoveLocked"/>, or a holder's); the last returns the buffers.</summary>
    private void Release(Entry entry)
    {
        bool last;
        lock (_lock)
        {
            last = --entry.Refs == 0;
        }

        if (last && entry.Read.IsCompletedSuccessfully)
        {
            entry.Read.Result.Dispose();
        }
    }

    private readonly record struct Key(IPartitionReader Reader, string Path, FileFingerprint Expected, long Start, long End, string? Columns, int? Limit);

    private sealed class Entry
    {
        public Entry(Key key, long bytes)
        {
            Key = key;
            Bytes = bytes;
            Node = new LinkedListNode<Entry>(this);
            // The cache's own reference; each holder adds one.
            Refs = 1;
        }

        public Key Key { get; }

        public long Bytes { get; }

        public LinkedListNode<Entry> Node { get; }

        public Task<RecordBatch> Read { get; set; } = null!;

        public int Refs { get; set; }

        public DateTimeOffset LastUsed { get; set; }
    }

    /// <summary>A holder's view of a cached batch: reads go to the batch, disposing drops the holder's reference.</summary>
    private sealed class SharedBatch(ShardBatchCache cache, Entry entry, RecordBatch batch) : RecordBatch
    {
        private int _disposed;

        public override int Count => batch.Count;

        public override IReadOnlyList<string>? ColumnNames => batch.ColumnNames;

        public override void WriteRecord(System.Text.Json.Utf8JsonWriter writer, int row) => batch.WriteRecord(writer, row);

        public override string? GetText(int row, string column) => batch.GetText(row, column);

        public override Apache.Arrow.RecordBatch ToArrow(ReadOnlySpan<int> rows) => batch.ToArrow(rows);

        public override void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                cache.Release(entry);
            }

            base.Dispose();
        }
    }
}
