namespace OrleansShards.Core.Sources;

/// <summary>Redis Streams, a stream a partition; always live.</summary>
public sealed class RedisStreamsSourceKind : SourceKind<RedisStreamsSourceSpec>
{
    /// <summary>The one instance.</summary>
    public static RedisStreamsSourceKind Instance { get; } = new();

    /// <inheritdoc />
    public override string Name => "redisstreams";

    /// <inheritdoc />
    public override bool IsLive(SourceSpec source) => true;

    /// <inheritdoc />
    public override (string Field, string Reason)? Validate(SourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (RequireConnection(source) is { } missing)
        {
            return missing;
        }

        if (source.Keys is null || source.Keys.Count == 0 || source.Keys.Any(string.IsNullOrWhiteSpace))
        {
            return ("source.keys", "needs at least one stream key, none empty");
        }

        return source.Keys.Distinct(StringComparer.Ordinal).Count() != source.Keys.Count ? ("source.keys", "names a stream key twice") : null;
    }

    /// <inheritdoc />
    public override RedisStreamsSourceSpec Read(SourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new(source.Connection ?? "", source.Keys ?? []);
    }
}
