using System.Data.Common;

namespace OrleansShards.Readers.Sql;

/// <summary>
/// Names one SQL table partition: <c>{kind}://{database}/{table}#{keyColumn}</c>, where the database is the absolute
/// path of a SQLite file or the <em>name</em> of an operator-defined PostgreSQL connection (never its connection
/// string or secret). Table and key column are SQL identifiers, so the locator is parsed from the right.
/// </summary>
internal sealed record SqlLocator(string Kind, string Database, string Table, string KeyColumn)
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    public override string ToString() => $"{Kind}://{Database}/{Table}#{KeyColumn}";

    public static bool TryParse(string locator, out SqlLocator parsed)
    {
        parsed = null!;
        var scheme = locator.IndexOf("://", StringComparison.Ordinal);
        var hash = locator.LastIndexOf('#');
        if (scheme <= 0 || hash < scheme)
        {
            return false;
        }

        var slash = locator.LastIndexOf('/', hash);
        if (slash <= scheme + 2 || slash == hash - 1 || hash == locator.Length - 1)
        {
            return false;
        }

        var kind = locator[..scheme];
        if (kind is not (Sqlite or Postgres))
        {
            return false;
        }

        parsed = new SqlLocator(kind, locator[(scheme + 3)..slash], locator[(slash + 1)..hash], locator[(hash + 1)..]);
        return parsed.Database.Length > 0;
    }

    public static SqlLocator Parse(string locator) =>
        TryParse(locator, out var parsed) ? parsed : throw new ArgumentException($"'{locator}' is not a SQL table locator ({{kind}}://{{database}}/{{table}}#{{keyColumn}})", nameof(locator));
}

/// <summary>A column of a table as the database names and types it.</summary>
internal sealed record SqlColumn(string Name, string TypeName)
{
    /// <summary>PostgreSQL json and jsonb values are written as JSON, not as strings.</summary>
    public bool IsJson => TypeName is "json" or "jsonb";
}

/// <summary>The table of a partition as found in the database's catalog.</summary>
/// <param name="QuotedName">The table's name quoted for SQL (schema-qualified when it has one).</param>
/// <param name="Name">The table's name as the job gave it (for messages).</param>
/// <param name="Columns">The table's columns in table order.</param>
/// <param name="Key">The key column.</param>
/// <param name="KeyCast">The key type to cast parameters to (PostgreSQL), or <see langword="null"/>.</param>
internal sealed record SqlTable(string QuotedName, string Name, IReadOnlyList<SqlColumn> Columns, SqlColumn Key, string? KeyCast)
{
    public string QuotedKey => SqlText.Quote(Key.Name);

    /// <summary>The parameter <paramref name="name"/> as a key value in SQL text.</summary>
    public string KeyParameter(string name) => KeyCast is null ? "@" + name : $"CAST(@{name} AS {KeyCast})";

    /// <summary>
    /// The column <paramref name="name"/>: the one of exactly that name, else the only one equal ignoring case (unquoted
    /// identifiers fold: PostgreSQL to lower case, SQLite ignores case), else <see langword="null"/>.
    /// </summary>
    public static SqlColumn? Find(IReadOnlyList<SqlColumn> columns, string name)
    {
        SqlColumn? folded = null;
        var foldedCount = 0;
        foreach (var column in columns)
        {
            if (column.Name == name)
            {
                return column;
            }

            if (string.Equals(column.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                folded = column;
                foldedCount++;
            }
        }

        return foldedCount == 1 ? folded : null;
    }
}

/// <summary>SQL text helpers shared by the dialects.</summary>
internal static class SqlText
{
    /// <summary>An identifier quoted with double quotes (both SQLite and PostgreSQL).</summary>
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public static DbParameter Parameter(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return parameter;
    }
}

/// <summary>What differs between the SQL databases: opening a connection and finding a table in the catalog.</summary>
internal abstract class SqlDialect
{
    /// <summary>Where the table lives, for messages: <c>sqlite database 'shop.db'</c>, <c>postgres connection 'warehouse'</c>.</summary>
    public abstract string Place(SqlLocator locator);

    /// <summary>Opens a connection to the locator's database.</summary>
    /// <exception cref="SourceSpecException">The database is not defined, not allowed or not there.</exception>
    public abstract ValueTask<DbConnection> OpenAsync(SqlLocator locator, CancellationToken cancellationToken);

    /// <summary>Finds the table and its key column.</summary>
    /// <exception cref="SourceSpecException">No such table or column.</exception>
    public abstract ValueTask<SqlTable> LoadTableAsync(DbConnection connection, SqlLocator locator, CancellationToken cancellationToken);

    /// <summary>Starts the transaction in which a read's queries see one snapshot.</summary>
    public abstract ValueTask<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>An error message of the database with every secret value it may hold replaced.</summary>
    public virtual string Redact(string message) => message;

    /// <summary>Whether the error says the table or a column is gone (the table changed under a job).</summary>
    public abstract bool IsMissingObject(DbException exception);

    /// <summary>Builds the table from the catalog's columns, checking the key column exists.</summary>
    protected SqlTable Table(SqlLocator locator, string quotedName, IReadOnlyList<SqlColumn> columns, Func<SqlColumn, string?> keyCast)
    {
        var key = SqlTable.Find(columns, locator.KeyColumn)
            ?? throw new SourceSpecException(
                "source.keyColumn",
                $"table '{locator.Table}' of {Place(locator)} has no column '{locator.KeyColumn}' (source.keyColumn); its columns are {string.Join(", ", columns.Select(c => c.Name))}");
        return new SqlTable(quotedName, locator.Table, columns, key, keyCast(key));
    }
}
