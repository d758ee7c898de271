using System.Text.Json;
using System.Text.Json.Serialization;
using OrleansShards.Core.Sources;
using Registry = OrleansShards.Core.Sources.SourceKinds;

namespace OrleansShards.Core;

/// <summary>What a client asks for when it creates a job.</summary>
[GenerateSerializer, Immutable, Alias("shards.JobSpec")]
public sealed record JobSpec
{
    /// <summary>The durability mode in which a lease or report is acknowledged only once durable.</summary>
    public const string Strict = "strict";

    /// <summary>The durability mode in which state is written at most every <see cref="FlushIntervalMs"/>.</summary>
    public const string Batched = "batched";

    /// <summary>The source kinds read from files under the data roots.</summary>
    public static readonly IReadOnlyList<string> FileKinds = Registry.NamesOf<FileSourceKind>();

    /// <summary>The source kinds read from SQL tables.</summary>
    public static readonly IReadOnlyList<string> SqlKinds = Registry.NamesOf<SqlSourceKind>();

    /// <summary>The source kinds read from object stores through a transformer.</summary>
    public static readonly IReadOnlyList<string> ObjectKinds = Registry.NamesOf<ObjectSourceKind>();

    /// <summary>The transformers that turn an object's bytes into records.</summary>
    public static readonly IReadOnlyList<string> Transformers = ObjectSourceKind.Transformers;

    /// <summary>Live partitioned logs, split as records arrive: the built-in log's topics and Redis Streams.</summary>
    public static readonly IReadOnlyList<string> LiveKinds = [.. Registry.NamesOf<TopicSourceKind>(), .. Registry.NamesOf<RedisStreamsSourceKind>()];

    /// <summary>The source kinds this server reads.</summary>
    public static readonly IReadOnlyList<string> SourceKinds = Registry.Names;

    /// <summary>How long a live job waits for a shard to fill before it cuts a partial one, unless the spec says.</summary>
    public const int DefaultMaxWaitMs = 1000;

    /// <summary>The job id; the server makes one when absent.</summary>
    [Id(0)] public string? Id { get; init; }

    /// <summary>The data source.</summary>
    [Id(1)] public SourceSpec? Source { get; init; }

    /// <summary>Records per shard.</summary>
    [Id(2)] public long ShardSize { get; init; } = 10_000;

    /// <summary>The largest <see cref="ShardSize"/>: offsets plus a shard's size never overflow a long.</summary>
    public const long MaxShardSize = 1L << 40;

    /// <summary>Passes over the data.</summary>
    [Id(3)] public int Epochs { get; init; } = 1;

    /// <summary>Whether shards (and the records within a shard) come in a seeded random order.</summary>
    [Id(4)] public bool Shuffle { get; init; }

    /// <summary>The shuffle seed.</summary>
    [Id(5)] public long Seed { get; init; }

    /// <summary>How long a lease lasts without a heartbeat.</summary>
    [Id(6)] public int LeaseTimeoutSeconds { get; init; } = 60;

    /// <summary>Failed or expired attempts after which a shard is dead-lettered.</summary>
    [Id(7)] public int MaxAttempts { get; init; } = 3;

    /// <summary><c>strict</c> or <c>batched</c>.</summary>
    [Id(8)] public string Durability { get; init; } = Strict;

    /// <summary>Batched mode: the longest time between state writes.</summary>
    [Id(9)] public int? FlushIntervalMs { get; init; }

    /// <summary>Live sources: the longest wait before a partial shard is cut.</summary>
    [Id(10)] public int? MaxWaitMs { get; init; }

    /// <summary>Live sources: at most one lease per partition at a time.</summary>
    [Id(11)] public bool Ordered { get; init; }

    /// <summary>Whether the source is a live log whose shards are cut as records arrive.</summary>
    public bool IsLive => Source is { } source && Registry.Find(source.Kind)?.IsLive(source) == true;

    /// <summary>The task book settings this spec implies.</summary>
    public TaskBookSettings ToTaskBookSettings() =>
        new(Epochs, Shuffle, unchecked((ulong)Seed), TimeSpan.FromSeconds(LeaseTimeoutSeconds), MaxAttempts);

    /// <summary>The spec with every default filled in, so two specs that mean the same compare equal.</summary>
    public JobSpec Normalize() => this with
    {
        Durability = Durability.ToLowerInvariant(),
        FlushIntervalMs = string.Equals(Durability, Batched, StringComparison.OrdinalIgnoreCase) ? FlushIntervalMs ?? 1000 : FlushIntervalMs,
        MaxWaitMs = IsLive ? MaxWaitMs ?? DefaultMaxWaitMs : MaxWaitMs,
        Source = Source is null ? null : NormalizeSource(Source with { Kind = Source.Kind.ToLowerInvariant() }),
    };

    private static SourceSpec NormalizeSource(SourceSpec source) => Registry.Find(source.Kind)?.Normalize(source) ?? source;

    /// <summary>A canonical text of the normalised spec: equal texts mean the same job.</summary>
    public string Canonical() => JsonSerializer.Serialize(Normalize(), CanonicalOptions);

    /// <summary>The first problem of the spec as (field, reason), or <see langword="null"/> when it is valid.</summary>
    public (string Field, string Reason)? Validate()
    {
        if (Id is not null && (Id.Length is 0 or > 128 || Id.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))))
        {
            return ("id", "must be 1 to 128 characters of letters, digits, '-', '_' or '.'");
        }

        if (Source is null)
        {
            return ("source", "is required");
        }

        if (string.IsNullOrWhiteSpace(Source.Kind))
        {
            return ("source.kind", $"is required: one of {string.Join(", ", SourceKinds)}");
        }

        if (Registry.Find(Source.Kind) is not { } kind)
        {
            return ("source.kind", $"'{Source.Kind}' is not a source kind this server reads: one of {string.Join(", ", SourceKinds)}");
        }

        if (Source.Watch is not null && !kind.Watches)
        {
            return ("source.watch", $"applies only to object kinds ({string.Join(", ", Registry.All.Where(k => k.Watches).Select(k => k.Name))})");
        }

        if (kind.Validate(Source) is { } sourceProblem)
        {
            return sourceProblem;
        }

        if (ShardSize is < 1 or > MaxShardSize)
        {
            return ("shardSize", "must be between 1 and 2^40 records");
        }

        if (Epochs is < 1 or > 1_000_000)
        {
            return ("epochs", "must be between 1 and 1000000");
        }

        if (LeaseTimeoutSeconds is < 1 or > 86_400)
        {
            return ("leaseTimeoutSeconds", "must be between 1 and 86400");
        }

        if (MaxAttempts is < 1 or > 1000)
        {
            return ("maxAttempts", "must be between 1 and 1000");
        }

        if (!string.Equals(Durability, Strict, StringComparison.OrdinalIgnoreCase) && !string.Equals(Durability, Batched, StringComparison.OrdinalIgnoreCase))
        {
            return ("durability", $"'{Durability}' is neither 'strict' nor 'batched'");
        }

        if (FlushIntervalMs is < 1 or > 600_000)
        {
            return ("flushIntervalMs", "must be between 1 and 600000");
        }

        if (MaxWaitMs is < 1 or > 3_600_000)
        {
            return ("maxWaitMs", "must be between 1 and 3600000");
        }

        if (IsLive && Epochs != 1)
        {
            return ("epochs", "must be 1 for a live source: its records never end, so there is no second pass");
        }

        if (IsLive && Shuffle)
        {
            return ("shuffle", "is not available for a live source: its shards are handed out in offset order");
        }

        if (!IsLive && (MaxWaitMs is not null || Ordered))
        {
            return (MaxWaitMs is not null ? "maxWaitMs" : "ordered", $"applies only to live sources ({string.Join(", ", LiveKinds)})");
        }

        return null;
    }

    private static readonly JsonSerializerOptions CanonicalOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
