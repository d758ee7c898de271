namespace OrleansShards.Core.Sources;

/// <summary>Files under the data roots, a file a partition: <c>csv</c>, <c>jsonl</c>, <c>tfrecord</c>, <c>parquet</c>.</summary>
/// <param name="name">The kind.</param>
public sealed class FileSourceKind(string name) : SourceKind<FileSourceSpec>
{
    /// <summary>CSV, whose rows may have a header and a delimiter.</summary>
    public static FileSourceKind Csv { get; } = new("csv");

    /// <summary>JSON Lines.</summary>
    public static FileSourceKind JsonLines { get; } = new("jsonl");

    /// <summary>TFRecord.</summary>
    public static FileSourceKind TfRecord { get; } = new("tfrecord");

    /// <summary>Parquet.</summary>
    public static FileSourceKind Parquet { get; } = new("parquet");

    /// <inheritdoc />
    public override string Name => name;

    private bool IsCsv => name == Csv.Name;

    /// <inheritdoc />
    public override (string Field, string Reason)? Validate(SourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Paths is null || source.Paths.Count == 0)
        {
            return ("source.paths", "needs at least one path or pattern");
        }

        if (source.Paths.Any(string.IsNullOrWhiteSpace))
        {
            return ("source.paths", "holds an empty path");
        }

        // The CSV reader splits bytes: the delimiter is one ASCII byte, and never the quote or a line break.
        return source.Delimiter is { Length: not 1 } ? ("source.delimiter", "must be exactly one character")
            : source.Delimiter is [var d] && (!char.IsAscii(d) || d is '"' or '\n' or '\r' or '\0') ? ("source.delimiter", "must be one ASCII character other than '\"', a line break or NUL")
            : null;
    }

    /// <inheritdoc />
    public override SourceSpec Normalize(SourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return IsCsv ? source with { Header = source.Header ?? true, Delimiter = source.Delimiter ?? "," } : source;
    }

    /// <inheritdoc />
    public override FileSourceSpec Read(SourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new(source.Paths ?? [], source.Header ?? true, string.IsNullOrEmpty(source.Delimiter) ? ',' : source.Delimiter[0]);
    }
}
