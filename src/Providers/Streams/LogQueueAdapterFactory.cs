using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Streams;
using OrleansShards.Core;

namespace OrleansShards.Providers.Streams;

/// <summary>
/// The persistent stream provider on the built-in log. Producing (<c>OnNextAsync</c>) appends to the log store and
/// returns once the record is durable; the receivers read the log store and the queue caches serve subscribers from a
/// small window of recent records or, further back, from the log store itself. The log is the only copy of a record.
/// </summary>
public sealed class LogQueueAdapterFactory : IQueueAdapterFactory, IQueueAdapter, IQueueAdapterCache
{
    private readonly IServiceProvider _services;
    private readonly LogStreamOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _timeProvider;
    private readonly HashRingBasedStreamQueueMapper _mapper;
    private ILogStore? _store;

    /// <summary>Creates the provider named <paramref name="name"/>.</summary>
    public LogQueueAdapterFactory(string name, LogStreamOptions options, IServiceProvider services, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(name);
        Name = name;
        _options = options;
        _services = services;
        _loggerFactory = loggerFactory;
        _timeProvider = services.GetService<TimeProvider>() ?? TimeProvider.System;
        _mapper = new HashRingBasedStreamQueueMapper(new HashRingStreamQueueMapperOptions { TotalQueueCount = options.QueueCount }, name);
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    /// <remarks>Subscribers may start from any offset the log still has.</remarks>
    public bool IsRewindable => true;

    /// <inheritdoc/>
    public StreamProviderDirection Direction => StreamProviderDirection.ReadWrite;

    /// <summary>The log store of this process; a process without one (a remote client) can subscribe but not produce.</summary>
    private ILogStore Store => _store ??= _services.GetService<ILogStore>()
        ?? throw new InvalidOperationException(
            $"Log stream provider '{Name}': no {nameof(ILogStore)} is registered in this process (AddSqliteLogStore or AddPostgresLogStore). " +
            "A client without access to the log can subscribe, but must append through the silo (the topic API).");

    /// <summary>Creates the factory the way Orleans' <c>AddPersistentStreams</c> asks for it.</summary>
    public static LogQueueAdapterFactory Create(IServiceProvider services, string name) =>
        new(name, services.GetOptionsByName<LogStreamOptions>(name), services, services.GetRequiredService<ILoggerFactory>());

    /// <inheritdoc/>
    [Obsolete("Orleans calls the overload with a cancellation token.")]
    public Task<IQueueAdapter> CreateAdapter() => Task.FromResult<IQueueAdapter>(this);

    /// <inheritdoc/>
    public Task<IQueueAdapter> CreateAdapter(CancellationToken cancellationToken) => Task.FromResult<IQueueAdapter>(this);

    /// <inheritdoc/>
    public IQueueAdapterCache GetQueueAdapterCache() => this;

    /// <inheritdoc/>
    public IStreamQueueMapper GetStreamQueueMapper() => _mapper;

    /// <inheritdoc/>
    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId) =>
        Task.FromResult<IStreamFailureHandler>(new NoOpStreamDeliveryFailureHandler());

    /// <inheritdoc/>
    public IQueueCache CreateQueueCache(QueueId queueId) => new LogQueueCache(Store, _options);

    /// <inheritdoc/>
    public IQueueAdapterReceiver CreateReceiver(QueueId queueId) =>
        new LogQueueReceiver(Name, queueId, _mapper, Store, _options, _timeProvider, _loggerFactory.CreateLogger<LogQueueReceiver>());

    /// <inheritdoc/>
    /// <remarks>
    /// Appends the events to the partition the stream names, in one durable append. Events are
    /// <see cref="LogStreamRecord"/> (its value is appended), UTF-8 JSON as <see cref="ReadOnlyMemory{T}"/> of bytes or
    /// <see cref="byte"/> arrays, or JSON text. The log assigns the offsets, so a token is refused.
    /// </remarks>
    public async Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (token is not null)
        {
            throw new ArgumentException($"Log stream provider '{Name}': the log assigns offsets; produce to stream {streamId} without a sequence token.", nameof(token));
        }

        if (!LogStreamIds.TryParse(streamId, out var topic, out var partition))
        {
            throw new ArgumentException(
                $"Log stream provider '{Name}': stream {streamId} is not a topic partition; use LogStreamIds.For(topic, partition) (namespace = topic, key = partition number).",
                nameof(streamId));
        }

        var values = new List<ReadOnlyMemory<byte>>();
        foreach (var item in events)
        {
            ReadOnlyMemory<byte> value = item switch
            {
                LogStreamRecord record => record.Value,
                ReadOnlyMemory<byte> bytes => bytes,
                byte[] array => array,
                string text => Encoding.UTF8.GetBytes(text),
                _ => throw new ArgumentException(
                    $"Log stream provider '{Name}': stream {streamId} item {values.Count} is a {item?.GetType().Name ?? "null"}; " +
                    "produce LogStreamRecord, UTF-8 JSON bytes or JSON text.", nameof(events)),
            };
            if (!IsJson(value.Span))
            {
                throw new ArgumentException($"Log stream provider '{Name}': stream {streamId} item {values.Count} is not one valid UTF-8 JSON value; nothing was appended.", nameof(events));
            }

            values.Add(value);
        }

        if (values.Count > 0)
        {
            await Store.AppendAsync(topic, partition, values).ConfigureAwait(false);
        }
    }

    private static bool IsJson(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read())
            {
                return false;
            }

            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
