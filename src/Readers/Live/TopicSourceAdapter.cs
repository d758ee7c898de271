using System.Globalization;
using OrleansShards.Core;

namespace OrleansShards.Readers.Live;

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
