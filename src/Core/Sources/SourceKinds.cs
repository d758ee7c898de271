namespace OrleansShards.Core.Sources;

/// <summary>
/// The registry of the source kinds this server understands: a spec names one of them in <c>source.kind</c>, and the
/// kind checks, fills in and reads the rest of its source. Adding a kind is a <see cref="SourceKind"/> class and a line
/// here (plus its reader and registration beside the reader).
/// </summary>
public static class SourceKinds
{
    /// <summary>Every kind, in the order error messages list them.</summary>
    public static IReadOnlyList<SourceKind> All { get; } =
    [
        FileSourceKind.Csv, FileSourceKind.JsonLines, FileSourceKind.TfRecord, FileSourceKind.Parquet,
        SqlSourceKind.Sqlite, SqlSourceKind.Postgres,
        ObjectSourceKind.S3, ObjectSourceKind.AzureBlob,
        TopicSourceKind.Instance, RedisStreamsSourceKind.Instance,
    ];

    private static readonly Dictionary<string, SourceKind> ByName = All.ToDictionary(k => k.Name, StringComparer.Ordinal);

    /// <summary>The names of every kind.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. All.Select(k => k.Name)];

    /// <summary>The names of the kinds of <typeparamref name="TKind"/>.</summary>
    public static IReadOnlyList<string> NamesOf<TKind>() where TKind : SourceKind => [.. All.OfType<TKind>().Select(k => k.Name)];

    /// <summary>The kind named <paramref name="name"/> (case-insensitive), or <see langword="null"/>.</summary>
    /// <remarks>Lower-cased invariantly, as specs always were, rather than compared ignoring case: the two differ on a few letters.</remarks>
    public static SourceKind? Find(string? name) => name is not null && ByName.TryGetValue(name.ToLowerInvariant(), out var kind) ? kind : null;

    /// <summary>The kind of <paramref name="source"/>.</summary>
    /// <exception cref="ArgumentException">The kind is none of <see cref="Names"/>.</exception>
    public static SourceKind Of(SourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Find(source.Kind) ?? throw new ArgumentException($"'{source.Kind}' is not a source kind this server reads: one of {string.Join(", ", Names)}", nameof(source));
    }

    /// <summary>The typed options of <paramref name="source"/>, a valid spec of a kind of <typeparamref name="TOptions"/>.</summary>
    public static TOptions Read<TOptions>(SourceSpec source) =>
        Of(source) is SourceKind<TOptions> kind ? kind.Read(source) : throw new ArgumentException($"source kind '{source.Kind}' has no {typeof(TOptions).Name}", nameof(source));
}
