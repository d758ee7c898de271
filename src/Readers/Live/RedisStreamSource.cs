using System.Collections.Concurrent;
using OrleansShards.Core;
using StackExchange.Redis;

namespace OrleansShards.Readers.Live;

/// <summary>
/// Redis Streams as a live source (<c>{"kind": "redisstreams", "connection": "name", "keys": ["a", "b"]}</c>):
/// each stream key is a partition, and a record's offset is its ordinal in the stream, the number of
/// entries added before it (Redis 7 counts them: <c>entries-added</c>). Trimming from the head
/// (<c>XTRIM</c>, <c>MAXLEN</c>) keeps the ordinals of the entries left; deleting entries from the middle
/// (<c>XDEL</c>) would shift them and is not supported. A shard is the range of entry ids between two
/// ordinals; a sparse in-memory index of every 1,024th entry id lets a read start near its first entry.
/// Redis cannot wake a client on an append through this client library, so splitters poll with back-off.
/// </summary>
public sealed class RedisStreamsSourceAdapter(SourceConnectionsOptions connections) : ILiveSourceAdapter, IDisposable
{
    /// <summary>Entries between two index anchors.</summary>
    public const int IndexStride = 1024;

    private const string Scheme = "redisstreams://";
    private const string ConnectionKind = "redis";
    private readonly ConcurrentDictionary<string, Lazy<Task<ConnectionMultiplexer>>> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StreamIndex> _indexes = new(StringComparer.Ordinal);
    private RedisStreamPartitionReader? _reader;

    /// <inheritdoc />
    public IReadOnlyList<string> Kinds { get; } = ["redisstreams"];

    /// <inheritdoc />
    public bool WakesOnAppend => false;

    /// <summary>The locator of stream <paramref name="key"/> of connection <paramref name="connection"/>.</summary>
    public static string LocatorOf(string connection, string key) => $"{Scheme}{Uri.EscapeDataString(connection)}/{Uri.EscapeDataString(key)}";

    /// <summary>Parses a locator made by <see cref="LocatorOf"/>.</summary>
    /// <exception cref="ArgumentException">It is not a Redis stream locator.</exception>
    public static (string Connection, string Key) Parse(string locator)
    {
        ArgumentNullException.ThrowIfNull(locator);
        var slash = locator.IndexOf('/', Scheme.Length);
        if (!locator.StartsWith(Scheme, StringComparison.Ordinal) || slash <= Scheme.Length)
        {
            throw new ArgumentException($"'{locator}' is not a Redis stream locator ({Scheme}<connection>/<key>)", nameof(locator));
        }

        return (Uri.UnescapeDataString(locator[Scheme.Length..slash]), Uri.UnescapeDataString(locator[(slash + 1)..]));
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> ResolvePartitionsAsync(SourceSpec source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var database = await DatabaseAsync(source.Connection).ConfigureAwait(false);
        var locators = new List<string>();
        foreach (var key in source.Keys ?? [])
        {
            // A key that does not exist yet is an empty partition; one of another type cannot be read.
            var type = await database.KeyTypeAsync(key).ConfigureAwait(false);
            if (type is not (RedisType.Stream or RedisType.None))
            {
                throw new SourceSpecException("source.keys", $"Redis key '{key}' holds a {type.ToString().ToLowerInvariant()}, not a stream");
            }

            locators.Add(LocatorOf(source.Connection!, key));
        }

        return locators;
    }

    /// <inheritdoc />
    public IPartitionReader ReaderFor(SourceSpec source) => _reader ??= new RedisStreamPartitionReader(this);

    /// <inheritdoc />
    public string Display(string locator) => Parse(locator).Key;

    /// <inheritdoc />
    public async ValueTask<PartitionBounds> GetBoundsAsync(SourceSpec source, string locator, CancellationToken cancellationToken = default)
    {
        var (connection, key) = Parse(locator);
        var info = await InfoAsync(await DatabaseAsync(connection).ConfigureAwait(false), key).ConfigureAwait(false);
        return new PartitionBounds(info.FirstOrdinal, info.EntriesAdded);
    }

    /// <inheritdoc />
    public async ValueTask<bool> WaitForRecordsAsync(SourceSpec source, string locator, long afterOffset, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        // Polled: the splitter does its own back-off; this is for callers that only want to wait.
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            if ((await GetBoundsAsync(source, locator, cancellationToken).ConfigureAwait(false)).HighWatermark > afterOffset)
            {
                return true;
            }

            var left = deadline - DateTimeOffset.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            await Task.Delay(left < TimeSpan.FromMilliseconds(50) ? left : TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var connection in _connections.Values.Where(c => c.IsValueCreated && c.Value.IsCompletedSuccessfully))
        {
            connection.Value.Result.Dispose();
        }
    }

    internal async Task<IDatabase> DatabaseAsync(string? name)
    {
        var connection = connections.Get(name, ConnectionKind);
        var lazy = _connections.GetOrAdd(name!, _ => new Lazy<Task<ConnectionMultiplexer>>(() => ConnectAsync(name!, connection)));
        try
        {
            return (await lazy.Value.ConfigureAwait(false)).GetDatabase();
        }
        catch (Exception e) when (e is RedisConnectionException or RedisException)
        {
            // Not cached: the next call tries again.
            _connections.TryRemove(name!, out _);
            throw new SourceSpecException("source.connection", $"Redis connection '{name}' cannot be reached: {e.Message}");
        }
    }

    private static Task<ConnectionMultiplexer> ConnectAsync(string name, SourceConnection connection)
    {
        var options = ConfigurationOptions.Parse(connection.ConnectionString ?? throw new SourceSpecException("source.connection", $"connection '{name}' has no connectionString (host:port)"));
        if (!string.IsNullOrEmpty(options.Password))
        {
            throw new SourceSpecException("source.connection", $"connection '{name}' holds a password in its connection string: put it in 'secret' as env:NAME or file:PATH");
        }

        if (connection.Secret is { } secret)
        {
            options.Password = SecretReference.Resolve(secret, $"{SourceConnectionsOptions.Section}:{name}:Secret");
        }

        options.AbortOnConnectFail = true;
        return ConnectionMultiplexer.ConnectAsync(options);
    }

    internal StreamIndex IndexOf(string locator) => _indexes.GetOrAdd(locator, _ => new StreamIndex());

    internal static async Task<StreamInfoSnapshot> InfoAsync(IDatabase database, string key)
    {
        RedisResult result;
        try
        {
            result = await database.ExecuteAsync("XINFO", "STREAM", key).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.Contains("no such key", StringComparison.OrdinalIgnoreCase))
        {
            return new StreamInfoSnapshot(0, 0, null);
        }

        var fields = (RedisResult[])result!;
        long length = 0, added = -1;
        string? firstId = null;
        for (var i = 0; i + 1 < fields.Length; i += 2)
        {
            switch ((string?)fields[i])
            {
                case "length":
                    length = (long)fields[i + 1];
                    break;
                case "entries-added":
                    added = (long)fields[i + 1];
                    break;
                case "first-entry":
                    firstId = fields[i + 1].IsNull ? null : (string?)((RedisResult[])fields[i + 1]!)[0];
                    break;
            }
        }

        if (added < 0)
        {
            throw new SourceSpecException("source.keys", $"Redis does not report entries-added for stream '{key}': Redis 7 or later is required");
        }

        return new StreamInfoSnapshot(length, added, firstId);
    }

    /// <summary>What <c>XINFO STREAM</c> says of a stream.</summary>
    internal readonly record struct StreamInfoSnapshot(long Length, long EntriesAdded, string? FirstId)
    {
        public long FirstOrdinal => EntriesAdded - Length;
    }

    /// <summary>Every 1,024th entry id of a stream by ordinal, built as reads need it; reset when trimming passes its start.</summary>
    internal sealed class StreamIndex
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private readonly List<(long Ordinal, string Id)> _anchors = [];

        /// <summary>The anchor at or below <paramref name="ordinal"/>, extending the index as far as needed.</summary>
        public async Task<(long Ordinal, string Id)> AnchorAsync(IDatabase database, string key, long ordinal, StreamInfoSnapshot info)
        {
            await _gate.WaitAsync().ConfigureAwait(false);
            try
            {
                if (_anchors.Count == 0 || _anchors[0].Ordinal < info.FirstOrdinal)
                {
                    // Trimming removed the start of what we indexed: start again from the first retained entry.
                    _anchors.Clear();
                    _anchors.Add((info.FirstOrdinal, info.FirstId ?? throw new InvalidOperationException($"stream '{key}' is empty")));
                }

                while (_anchors[^1].Ordinal + IndexStride <= ordinal)
                {
                    var (last, id) = _anchors[^1];
                    var entries = await database.StreamRangeAsync(key, id, "+", IndexStride + 1).ConfigureAwait(false);
                    if (entries.Length <= IndexStride || entries[0].Id != id)
                    {
                        break;
                    }

                    _anchors.Add((last + IndexStride, entries[IndexStride].Id!));
                }

                var index = _anchors.FindLastIndex(a => a.Ordinal <= ordinal);
                return _anchors[Math.Max(0, index)];
            }
            finally
            {
                _gate.Release();
            }
        }
    }
}

