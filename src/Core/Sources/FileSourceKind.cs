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
        // Named first: "path" for "paths" is the likely slip, and the missing "paths" would hide it.
        if (source.Path is not null)
        {
            return ("source.path", $"is not a field of a {name} source: did you mean 'paths' (a list of files or patterns)?");
        }

        if (source.Paths is null || source.Paths.Count == 0)
        {
            return ("source.paths", "needs at least one path or pattern");
        }

        if (source.Paths.Any(string.IsNullOrWhiteSpace))
        {
            return ("source.paths", "holds an empty path");
        }

        if (source.Delimiter is { Length: not 1 })
        {
            return ("source.delimiter", "must be exactly one character");
        }

        // The CSV reader splits bytes: the delimiter is one ASCII byte, and never the quote or a line break.
        if (source.Delimiter is [var d] && (!char.IsAscii(d) || d is '"' or '\n' or '\r' or '\0'))
        {
            return ("source.delimiter", "must be one ASCII character other than '\"', a line break or NUL");
        }

        if (source.Columns is { } columns)
        {
            if (!IsCsv)
            {
                return ("source.columns", $"column types are for csv sources; a {name} source carries its own types");
            }

            foreach (var (column, type) in columns)
            {
                if (string.IsNullOrEmpty(column))
                {
                    return ("source.columns", "names an empty column");
                }

                if (type is null || !ColumnTypeNames.Contains(type))
                {
                    return ($"source.columns.{column}", $"'{type}' is not a column type: use one of {string.Join(", ", ColumnTypeNames)}");
                }
            }
        }

        return null;
    }

    /// <summary>The types <c>source.columns</c> takes.</summary>
    public static IReadOnlyList<string> ColumnTypeNames { get; } = ["string", "int64", "float64", "bool"];

    /// <inheritdoc />
    public override SourceSpec Normalize(SourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        // Column types in name order, so the same types given in another order are the same spec.
        return IsCsv
            ? source with { Header = source.Header ?? true, Delimiter = source.Delimiter ?? ",", Columns = source.Columns?.OrderBy(c => c.Key, StringComparer.Ordinal).ToDictionary(StringComparer.Ordinal) }
            : source;
    }

    /// <inheritdoc />
    public override FileSourceSpec Read(SourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new(source.Paths ?? [], source.Header ?? true, string.IsNullOrEmpty(source.Delimiter) ? ',' : source.Delimiter[0], source.Columns);
    }
}
