namespace OrleansShards.Core.Sources;

/// <summary>A SQL table whose shards are ranges of a key column: <c>sqlite</c> (a file) or <c>postgres</c> (a connection).</summary>
public sealed class SqlSourceKind : SourceKind<SqlSourceSpec>
{
    private readonly bool _file;

    private SqlSourceKind(string name, bool file)
    {
        Name = name;
        _file = file;
    }

    /// <summary>A SQLite database file under the data roots.</summary>
    public static SqlSourceKind Sqlite { get; } = new("sqlite", file: true);

    /// <summary>A PostgreSQL database, through a named connection.</summary>
    public static SqlSourceKind Postgres { get; } = new("postgres", file: false);

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override (string Field, string Reason)? Validate(SourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (_file && string.IsNullOrWhiteSpace(source.Path))
        {
            return ("source.path", "is required: the database file, relative to the data directory");
        }

        if (!_file && RequireConnection(source) is { } missing)
        {
            return missing;
        }

        if (!IsSqlIdentifier(source.Table, allowSchema: true))
        {
            return ("source.table", $"'{source.Table}' is not a table name (letters, digits and '_', optionally 'schema.table')");
        }

        return IsSqlIdentifier(source.KeyColumn, allowSchema: false) ? null : ("source.keyColumn", $"'{source.KeyColumn}' is not a column name (letters, digits and '_')");
    }

    /// <inheritdoc />
    public override SqlSourceSpec Read(SourceSpec source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new(source.Path, source.Connection, source.Table ?? "", source.KeyColumn ?? "");
    }

    private static bool IsSqlIdentifier(string? name, bool allowSchema)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 127)
        {
            return false;
        }

        var parts = name.Split('.');
        return (parts.Length == 1 || (allowSchema && parts.Length == 2))
            && parts.All(p => p.Length > 0 && (char.IsAsciiLetter(p[0]) || p[0] == '_') && p.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'));
    }
}
