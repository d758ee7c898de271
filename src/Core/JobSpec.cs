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

    /// <summary>A mixture's sources with their weights (issue 15), instead of <see cref="Source"/>.</summary>
    [Id(20)] public IReadOnlyList<MixtureSourceSpec>? Sources { get; init; }

    /// <summary>A mixture: the records an epoch draws from its sources (default: the sum of the sources' sizes).</summary>
    [Id(21)] public long? SamplesPerEpoch { get; init; }

    /// <summary>The most sources a mixture may name.</summary>
    public const int MaxMixtureSources = 64;

    /// <summary>Whether the job mixes several sources (<see cref="Sources"/>).</summary>
    public bool IsMixture => Sources is not null;

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
        Sources = Sources is null ? null : [.. Sources.Select(s => s with { Source = s.Source is null ? null : NormalizeSource(s.Source with { Kind = s.Source.Kind.ToLowerInvariant() }) })],
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

        if (Sources is not null)
        {
            if (ValidateMixture() is { } mixtureProblem)
            {
                return mixtureProblem;
            }
        }
        else if (Source is null)
        {
            return ("source", "is required (or sources, for a mixture)");
        }
        else if (SamplesPerEpoch is not null)
        {
            return ("samplesPerEpoch", "applies only to a mixture (sources)");
        }
        else if (ValidateSource(Source, "source") is { } sourceProblem)
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

    // The first problem of one source; its fields are named under `field` (source, or sources[i].source).
    private static (string Field, string Reason)? ValidateSource(SourceSpec source, string field)
    {
        if (string.IsNullOrWhiteSpace(source.Kind))
        {
            return (field + ".kind", $"is required: one of {string.Join(", ", SourceKinds)}");
        }

        if (Registry.Find(source.Kind) is not { } kind)
        {
            return (field + ".kind", $"'{source.Kind}' is not a source kind this server reads: one of {string.Join(", ", SourceKinds)}");
        }

        if (source.Watch is not null && !kind.Watches)
        {
            return (field + ".watch", $"applies only to object kinds ({string.Join(", ", Registry.All.Where(k => k.Watches).Select(k => k.Name))})");
        }

        return kind.Validate(source) is { } problem
            ? (problem.Field.StartsWith("source", StringComparison.Ordinal) ? field + problem.Field["source".Length..] : $"{field}.{problem.Field}", problem.Reason)
            : null;
    }

    private (string Field, string Reason)? ValidateMixture()
    {
        if (Source is not null)
        {
            return ("sources", "a job names either one source or a mixture of sources, not both");
        }

        if (Sources!.Count is 0 or > MaxMixtureSources)
        {
            return ("sources", $"must name between 1 and {MaxMixtureSources} sources");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Sources.Count; i++)
        {
            var entry = Sources[i];
            if (entry is null)
            {
                return ($"sources[{i}]", "must be an object {name, source, weight}");
            }

            if (string.IsNullOrEmpty(entry.Name) || entry.Name.Length > 128 || entry.Name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            {
                return ($"sources[{i}].name", "must be 1 to 128 characters of letters, digits, '-', '_' or '.'");
            }

            if (!names.Add(entry.Name))
            {
                return ($"sources[{i}].name", $"'{entry.Name}' names another source of the mixture already: names must be unique");
            }

            if (MixtureWeights.Problem(entry.Weight) is { } weightProblem)
            {
                return ($"sources[{i}].weight", weightProblem);
            }

            if (entry.Source is null)
            {
                return ($"sources[{i}].source", "is required");
            }

            if (ValidateSource(entry.Source, $"sources[{i}].source") is { } problem)
            {
                return problem;
            }

            if (Registry.Find(entry.Source.Kind)?.IsLive(entry.Source) == true)
            {
                return ($"sources[{i}].source", $"source '{entry.Name}' is live ({entry.Source.Kind}): a mixture mixes static sources only in this version");
            }
        }

        return SamplesPerEpoch is < 1 or > 1L << 40 ? ("samplesPerEpoch", $"must be between 1 and {1L << 40}") : null;
    }

    private static readonly JsonSerializerOptions CanonicalOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
