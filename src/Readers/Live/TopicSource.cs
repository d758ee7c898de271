using System.Globalization;
using OrleansShards.Core;
using OrleansShards.Readers.JsonLines;

namespace OrleansShards.Readers.Live;

/// <summary>
/// A live partitioned source: its partitions never end, and shards are cut from them as records
/// arrive. The splitter of a partition asks for its bounds and waits for appends.
/// </summary>
public interface ILiveSourceAdapter : ISourceAdapter
{
    /// <summary>Whether <see cref="WaitForRecordsAsync"/> wakes when records arrive; otherwise the splitter polls with back-off.</summary>
    bool WakesOnAppend { get; }

    /// <summary>The first retained offset and the high-water mark of the partition at <paramref name="locator"/>.</summary>
    ValueTask<PartitionBounds> GetBoundsAsync(SourceSpec source, string locator, CancellationToken cancellationToken = default);

    /// <summary>Completes with <see langword="true"/> once the partition's high-water mark is above <paramref name="afterOffset"/>, or <see langword="false"/> after <paramref name="timeout"/>.</summary>
    ValueTask<bool> WaitForRecordsAsync(SourceSpec source, string locator, long afterOffset, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>
    /// For sources whose locator names what a partition holds (a list of objects): the locator of the partition grown by
    /// what was added since, with everything of <paramref name="locator"/> first and in the same order (so offsets stay),
    /// or <see langword="null"/> when nothing was added. A log's locator never changes.
    /// </summary>
    ValueTask<string?> GrowAsync(SourceSpec source, string locator, CancellationToken cancellationToken = default) => ValueTask.FromResult<string?>(null);
}

/// <summary>The topics of the built-in log as a live source (<c>{"kind": "topic", "topic": "name"}</c>); a topic partition is a partition.</summary>
public sealed class TopicSourceAdapter(ILogStore store) : ILiveSourceAdapter
{
    private const string Scheme = "topic://";
    private readonly TopicPartitionReader _reader = new(store);

    /// <inheritdoc />
    public IReadOnlyList<string> Kinds { get; } = ["topic"];

    /// <inheritdoc />
    public bool WakesOnAppend => true;

    /// <summary>The locator of partition <paramref name="partition"/> of <paramref name="topic"/>.</summary>
    public static string LocatorOf(string topic, int partition) => string.Create(CultureInfo.InvariantCulture, $"{Scheme}{topic}/{partition}");

    /// <summary>Parses a locator made by <see cref="LocatorOf"/>.</summary>
    /// <exception cref="ArgumentException">The locator is not a topic partition.</exception>
    public static (string Topic, int Partition) Parse(string locator)
    {
        ArgumentNullException.ThrowIfNull(locator);
        var slash = locator.LastIndexOf('/');
        if (!locator.StartsWith(Scheme, StringComparison.Ordinal) || slash <= Scheme.Length
            || !int.TryParse(locator.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var partition))
        {
            throw new ArgumentException($"'{locator}' is not a topic partition locator ({Scheme}<topic>/<partition>)", nameof(locator));
        }

        return (locator[Scheme.Length..slash], partition);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> ResolvePartitionsAsync(SourceSpec source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var topic = await store.GetTopicAsync(source.Topic ?? "", cancellationToken).ConfigureAwait(false)
            ?? throw new SourceSpecException("source.topic", $"topic '{source.Topic}' does not exist; create it first (POST /v1/topics)");
        return [.. Enumerable.Range(0, topic.Partitions).Select(p => LocatorOf(topic.Name, p))];
    }

    /// <inheritdoc />
    public IPartitionReader ReaderFor(SourceSpec source) => _reader;

    /// <inheritdoc />
    public string Display(string locator)
    {
        var (topic, partition) = Parse(locator);
        return string.Create(CultureInfo.InvariantCulture, $"{topic}/{partition}");
    }

    /// <inheritdoc />
    public ValueTask<PartitionBounds> GetBoundsAsync(SourceSpec source, string locator, CancellationToken cancellationToken = default)
    {
        var (topic, partition) = Parse(locator);
        return store.GetBoundsAsync(topic, partition, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> WaitForRecordsAsync(SourceSpec source, string locator, long afterOffset, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var (topic, partition) = Parse(locator);
        return store.WaitForAppendAsync(topic, partition, afterOffset, timeout, cancellationToken);
    }
}

/// <summary>Reads a range of offsets of a topic partition as one batch of JSON records.</summary>
public sealed class TopicPartitionReader(ILogStore store) : IPartitionReader
{
    private const int PageSize = 4096;

    /// <inheritdoc />
    public async ValueTask<PartitionDescription> DescribeAsync(string path, CancellationToken cancellationToken = default)
    {
        var (topic, partition) = TopicSourceAdapter.Parse(path);
        var bounds = await store.GetBoundsAsync(topic, partition, cancellationToken).ConfigureAwait(false);
        return new PartitionDescription(path, bounds.HighWatermark, new FileFingerprint(0, 0, 0), []);
    }

    /// <inheritdoc />
    public async ValueTask<RecordBatch> ReadAsync(ShardReadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (topic, partition) = TopicSourceAdapter.Parse(request.Path);
        var end = request.Limit is { } limit ? Math.Min(request.End, request.Start + limit) : request.End;
        var count = (int)Math.Max(0, end - request.Start);
        string[]? columns = request.Columns is null ? null : [.. request.Columns];
        byte[][]? names = columns?.Select(c => System.Text.Encoding.UTF8.GetBytes(c)).ToArray();
        using var builder = new JsonRowBatchBuilder(count, count * 64, columns, withCells: columns is not null);
        var found = columns is null ? [] : new int[columns.Length * 2];
        var next = request.Start;
        while (next < end)
        {
            var read = await store.ReadAsync(topic, partition, next, (int)Math.Min(PageSize, end - next), cancellationToken).ConfigureAwait(false);
            if (read.Records.Count == 0)
            {
                throw new SourceChangedException(request.Path, $"the partition ends at offset {read.Bounds.HighWatermark}, before offset {next} of the shard [{request.Start}, {request.End})");
            }

            foreach (var record in read.Records)
            {
                if (record.Offset >= end)
                {
                    break;
                }

                var json = record.Value.Span;
                if (columns is null)
                {
                    JsonLinesPartitionReader.Validate(request.Path, record.Offset, record.Offset, json, null, default);
                    builder.AddRawRecord(json);
                }
                else
                {
                    found.AsSpan().Fill(-1);
                    JsonLinesPartitionReader.Validate(request.Path, record.Offset, record.Offset, json, names, found);
                    builder.BeginRecord();
                    for (var i = 0; i < columns.Length; i++)
                    {
                        var s = found[2 * i];
                        builder.AddRawValue(i, s < 0 ? default : json[s..found[2 * i + 1]]);
                    }

                    builder.EndRecord();
                }

                next = record.Offset + 1;
            }
        }

        return builder.Build(request.Path, columns, columns is null ? JsonRowBatch.CellKind.None : JsonRowBatch.CellKind.RawValues);
    }
}
