using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansShards.Core;

/// <summary>Where a job's records come from. One <see cref="Kind"/> field and kind-specific fields.</summary>
[GenerateSerializer, Immutable]
public sealed record SourceSpec
{
    /// <summary>The source kind: <c>csv</c> or <c>jsonl</c>.</summary>
    [Id(0)] public string Kind { get; init; } = "";

    /// <summary>File paths or glob patterns, relative to the server's data directory.</summary>
    [Id(1)] public IReadOnlyList<string>? Paths { get; init; }

    /// <summary>CSV: whether the first row names the columns (default <see langword="true"/>).</summary>
    [Id(2)] public bool? Header { get; init; }

    /// <summary>CSV: the field delimiter, one character (default <c>,</c>).</summary>
    [Id(3)] public string? Delimiter { get; init; }
}

/// <summary>What a client asks for when it creates a job.</summary>
[GenerateSerializer, Immutable]
public sealed record JobSpec
{
    /// <summary>The durability mode in which a lease or report is acknowledged only once durable.</summary>
    public const string Strict = "strict";

    /// <summary>The durability mode in which state is written at most every <see cref="FlushIntervalMs"/>.</summary>
    public const string Batched = "batched";

    /// <summary>The source kinds this server reads.</summary>
    public static readonly IReadOnlyList<string> SourceKinds = ["csv", "jsonl"];

    /// <summary>The job id; the server makes one when absent.</summary>
    [Id(0)] public string? Id { get; init; }

    /// <summary>The data source.</summary>
    [Id(1)] public SourceSpec? Source { get; init; }

    /// <summary>Records per shard.</summary>
    [Id(2)] public long ShardSize { get; init; } = 10_000;

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

    /// <summary>The task book settings this spec implies.</summary>
    public TaskBookSettings ToTaskBookSettings() =>
        new(Epochs, Shuffle, unchecked((ulong)Seed), TimeSpan.FromSeconds(LeaseTimeoutSeconds), MaxAttempts);

    /// <summary>The spec with every default filled in, so two specs that mean the same compare equal.</summary>
    public JobSpec Normalize() => this with
    {
        Durability = Durability.ToLowerInvariant(),
        FlushIntervalMs = string.Equals(Durability, Batched, StringComparison.OrdinalIgnoreCase) ? FlushIntervalMs ?? 1000 : FlushIntervalMs,
        Source = Source is null ? null : Source with
        {
            Kind = Source.Kind.ToLowerInvariant(),
            Header = Source.Kind.Equals("csv", StringComparison.OrdinalIgnoreCase) ? Source.Header ?? true : Source.Header,
            Delimiter = Source.Kind.Equals("csv", StringComparison.OrdinalIgnoreCase) ? Source.Delimiter ?? "," : Source.Delimiter,
        },
    };

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

        if (!SourceKinds.Contains(Source.Kind.ToLowerInvariant()))
        {
            return ("source.kind", $"'{Source.Kind}' is not a source kind this server reads: one of {string.Join(", ", SourceKinds)}");
        }

        if (Source.Paths is null || Source.Paths.Count == 0)
        {
            return ("source.paths", "needs at least one path or pattern");
        }

        if (Source.Paths.Any(string.IsNullOrWhiteSpace))
        {
            return ("source.paths", "holds an empty path");
        }

        if (Source.Delimiter is { Length: not 1 })
        {
            return ("source.delimiter", "must be exactly one character");
        }

        if (ShardSize < 1)
        {
            return ("shardSize", "must be at least 1");
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

        return MaxWaitMs is < 1 ? ("maxWaitMs", "must be at least 1") : null;
    }

    private static readonly JsonSerializerOptions CanonicalOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
