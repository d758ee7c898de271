using System.Data.Common;
using OrleansShards.Core;

namespace OrleansShards.Readers.Sql;

/// <summary>
/// SQL tables as sources: <c>sqlite</c> (a database file under the data roots) and <c>postgres</c> (a connection
/// the operator defined in <c>Shards:Connections</c>; a job only names it). A table is one partition, and its shards
/// are ranges of rows in the order of a unique, not-null key column, read with keyset queries.
/// </summary>
/// <remarks>
/// A partition's locator is <c>sqlite:///abs/path.db/table#key</c> or <c>postgres://{connection name}/table#key</c>:
/// it names the connection, never its connection string, and the password is resolved from its reference only when
/// a connection to the database is opened, so it never reaches grain state, checkpoints, logs or answers.
/// </remarks>
public sealed class SqlSourceAdapter : ISourceAdapter, IAsyncDisposable
{
    private readonly SqliteDialect _sqlite;
    private readonly PostgresDialect _postgres;
    private readonly SqlPartitionReader _reader;

    /// <summary>Creates the adapter.</summary>
    /// <param name="roots">The roots SQLite files may be read under (relative paths resolve against the data directory).</param>
    /// <param name="connections">The operator's connections (<c>Shards:Connections</c>).</param>
    /// <param name="options">Index and recheck settings; the defaults when <see langword="null"/>.</param>
    public SqlSourceAdapter(DataRoots roots, SourceConnectionsOptions connections, SqlSourceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentNullException.ThrowIfNull(connections);
        options ??= new SqlSourceOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.IndexStride, 1);
        _sqlite = new SqliteDialect(roots);
        _postgres = new PostgresDialect(connections);
        _reader = new SqlPartitionReader(DialectOf, Show, options);
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Kinds => JobSpec.SqlKinds;

    /// <inheritdoc />
    /// <remarks>Opens the database and checks that the table and its key column exist; a table is one partition.</remarks>
    public async ValueTask<IReadOnlyList<string>> ResolvePartitionsAsync(SourceSpec source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var kind = source.Kind.ToLowerInvariant();
        var table = string.IsNullOrWhiteSpace(source.Table) ? throw new SourceSpecException("source.table", "source.table is required") : source.Table;
        var key = string.IsNullOrWhiteSpace(source.KeyColumn) ? throw new SourceSpecException("source.keyColumn", "source.keyColumn is required") : source.KeyColumn;
        SqlLocator locator;
        string field;
        if (kind == SqlLocator.Sqlite)
        {
            locator = new SqlLocator(kind, _sqlite.ResolveDatabase(source.Path ?? ""), table, key);
            field = "source.path";
        }
        else if (kind == SqlLocator.Postgres)
        {
            _postgres.Check(source.Connection);
            locator = new SqlLocator(kind, source.Connection!, table, key);
            field = "source.connection";
        }
        else
        {
            throw new SourceSpecException("source.kind", $"'{source.Kind}' is not a SQL source kind: one of {string.Join(", ", Kinds)}");
        }

        var dialect = DialectOf(locator);
        try
        {
            await using var connection = await dialect.OpenAsync(locator, cancellationToken);
            await dialect.LoadTableAsync(connection, locator, cancellationToken);
        }
        catch (SqlUnavailableException e)
        {
            throw new SourceSpecException(field, e.Message);
        }
        catch (DbException e)
        {
            throw new SourceSpecException(field, $"{dialect.Place(locator)} cannot be read: {dialect.Redact(e.Message)}");
        }
        catch (InvalidOperationException e)
        {
            // A secret reference that points at nothing: the message names the reference, never a value.
            throw new SourceSpecException(field, $"{dialect.Place(locator)} cannot be opened: {dialect.Redact(e.Message)}");
        }

        return [locator.ToString()];
    }

    /// <inheritdoc />
    public IPartitionReader ReaderFor(SourceSpec source) => _reader;

    /// <inheritdoc />
    public string Display(string locator) =>
        SqlLocator.TryParse(locator, out var parsed) && parsed.Kind == SqlLocator.Sqlite
            ? $"{parsed.Kind}://{_sqlite.Relative(parsed.Database)}/{parsed.Table}#{parsed.KeyColumn}"
            : locator;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _postgres.DisposeAsync();

    private SqlDialect DialectOf(SqlLocator locator) => locator.Kind == SqlLocator.Sqlite ? _sqlite : _postgres;

    private string Show(SqlLocator locator) => Display(locator.ToString());
}
