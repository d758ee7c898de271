using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace OrleansShards.Readers.Sql;

/// <summary>SQLite files under the data roots, opened read-only.</summary>
internal sealed class SqliteDialect(DataRoots roots) : SqlDialect
{
    public override string Place(SqlLocator locator) => $"sqlite database '{Relative(locator.Database)}'";

    /// <summary>A database path as users name it: relative to the data directory when it lies inside it.</summary>
    public string Relative(string path)
    {
        return roots.TryRelative(path, out var relative) ? relative : path;
    }

    /// <summary>The absolute path of <paramref name="path"/> under the data roots, which must be an existing file.</summary>
    public string ResolveDatabase(string path)
    {
        string full;
        try
        {
            full = roots.ResolveFile(path);
        }
        catch (Exception e) when (e is PathOutsideRootsException or SourcePathException)
        {
            throw new SourceSpecException("source.path", e.Message);
        }

        return File.Exists(full)
            ? full
            : throw new SourceSpecException("source.path", $"the sqlite database '{path}' does not exist (looked for {full})");
    }

    public override async ValueTask<DbConnection> OpenAsync(SqlLocator locator, CancellationToken cancellationToken)
    {
        // The locator came from this server, but a read plan travels: check the roots again.
        var path = ResolveDatabase(locator.Database);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString());
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public override async ValueTask<SqlTable> LoadTableAsync(DbConnection connection, SqlLocator locator, CancellationToken cancellationToken)
    {
        var dot = locator.Table.IndexOf('.', StringComparison.Ordinal);
        var schema = dot < 0 ? "main" : locator.Table[..dot];
        var name = dot < 0 ? locator.Table : locator.Table[(dot + 1)..];
        string? realName = null;
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT name FROM {SqlText.Quote(schema)}.sqlite_schema WHERE type IN ('table', 'view') AND name = @name COLLATE NOCASE ORDER BY name = @name DESC LIMIT 1";
            SqlText.Parameter(command, "@name", name);
            try
            {
                realName = await command.ExecuteScalarAsync(cancellationToken) as string;
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 1)
            {
                // "unknown database": a schema that is not attached.
            }
            catch (SqliteException e)
            {
                throw new SourceSpecException("source.path", $"{Place(locator)} cannot be read: {e.Message}");
            }
        }

        if (realName is null)
        {
            throw new SourceSpecException("source.table", $"{Place(locator)} has no table '{locator.Table}' (source.table)");
        }

        var columns = new List<SqlColumn>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT name, type FROM pragma_table_info(@name, @schema) ORDER BY cid";
            SqlText.Parameter(command, "@name", realName);
            SqlText.Parameter(command, "@schema", schema);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                columns.Add(new SqlColumn(reader.GetString(0), reader.IsDBNull(1) ? "" : reader.GetString(1).ToLowerInvariant()));
            }
        }

        return Table(locator, $"{SqlText.Quote(schema)}.{SqlText.Quote(realName)}", columns, _ => null);
    }

    public override ValueTask<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // A deferred transaction (BEGIN, not BEGIN IMMEDIATE, so readers never queue behind each other): its reads
        // see one snapshot (WAL) or hold the shared lock (rollback journal) until it ends.
        ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(IsolationLevel.Serializable, deferred: true));

    public override bool IsMissingObject(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: 1 } && exception.Message.Contains("no such", StringComparison.Ordinal);
}

/// <summary>
/// PostgreSQL through Npgsql, one pooled data source per connection the operator defined. The password is resolved
/// from its reference (<see cref="SecretReference"/>) each time a physical connection is opened, and never written to
/// a connection string that could be shown.
/// </summary>
internal sealed class PostgresDialect(SourceConnectionsOptions connections) : SqlDialect, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<NpgsqlDataSource>> _sources = new(StringComparer.Ordinal);

    /// <summary>Secret values resolved so far, so that no error message can carry one.</summary>
    private readonly ConcurrentDictionary<string, byte> _secrets = new(StringComparer.Ordinal);

    public override string Place(SqlLocator locator) => $"postgres connection '{locator.Database}'";

    /// <summary>Checks the connection is defined as a usable postgres connection.</summary>
    /// <exception cref="SourceSpecException">It is not.</exception>
    public void Check(string? name) => Source(name);

    public override async ValueTask<DbConnection> OpenAsync(SqlLocator locator, CancellationToken cancellationToken)
    {
        var source = Source(locator.Database);
        try
        {
            return await source.OpenConnectionAsync(cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            throw new SqlUnavailableException($"{Place(locator)} cannot be opened: {Redact(Messages(e))}");
        }
    }

    public override async ValueTask<SqlTable> LoadTableAsync(DbConnection connection, SqlLocator locator, CancellationToken cancellationToken)
    {
        var exact = string.Join('.', locator.Table.Split('.').Select(SqlText.Quote));
        uint oid;
        string quoted;
        await using (var command = connection.CreateCommand())
        {
            // An unquoted name folds to lower case, as in SQL; the exact spelling wins when both exist.
            command.CommandText = """
                SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.oid = coalesce(to_regclass(@exact), to_regclass(@folded)) AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
                """;
            SqlText.Parameter(command, "exact", exact);
            SqlText.Parameter(command, "folded", locator.Table);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                throw new SourceSpecException("source.table", $"{Place(locator)} has no table '{locator.Table}' (source.table) that its user can see");
            }

            oid = reader.GetFieldValue<uint>(0);
            quoted = $"{SqlText.Quote(reader.GetString(1))}.{SqlText.Quote(reader.GetString(2))}";
        }

        var columns = new List<SqlColumn>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                SELECT a.attname, t.typname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                WHERE a.attrelid = CAST(@oid AS bigint)::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
                """;
            SqlText.Parameter(command, "oid", (long)oid);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                columns.Add(new SqlColumn(reader.GetString(0), reader.GetString(1)));
                types[reader.GetString(0)] = reader.GetString(2);
            }
        }

        return Table(locator, quoted, columns, key => types[key.Name]);
    }

    public override async ValueTask<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await ((NpgsqlConnection)connection).BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);

    public override string Redact(string message)
    {
        foreach (var secret in _secrets.Keys)
        {
            message = message.Replace(secret, "***", StringComparison.Ordinal);
        }

        return message;
    }

    /// <summary>The messages of an exception and its causes (a password provider's error is wrapped by Npgsql).</summary>
    private static string Messages(Exception e)
    {
        var messages = new List<string>();
        for (var current = e; current is not null; current = current.InnerException)
        {
            if (!messages.Contains(current.Message))
            {
                messages.Add(current.Message);
            }
        }

        return string.Join(": ", messages);
    }

    public override bool IsMissingObject(DbException exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.UndefinedColumn };

    private NpgsqlDataSource Source(string? name)
    {
        var connection = connections.Get(name, SqlLocator.Postgres);
        return _sources.GetOrAdd(name!, key => new Lazy<NpgsqlDataSource>(() => Build(key, connection))).Value;
    }

    private NpgsqlDataSource Build(string name, SourceConnection connection)
    {
        NpgsqlConnectionStringBuilder settings;
        try
        {
            settings = new NpgsqlConnectionStringBuilder(connection.ConnectionString ?? "");
        }
        catch (ArgumentException)
        {
            // The message could quote the string, which is the operator's: say only where it is.
            throw new SourceSpecException("source.connection", $"connection '{name}' has a connection string that is not valid for PostgreSQL (Shards:Connections:{name}:ConnectionString)");
        }

        if (!string.IsNullOrEmpty(settings.Password) || !string.IsNullOrEmpty(settings.Passfile))
        {
            throw new SourceSpecException("source.connection", $"connection '{name}' holds a password in its connection string; the operator gives it as a reference in Shards:Connections:{name}:Secret (env:NAME or file:PATH)");
        }

        if (string.IsNullOrEmpty(settings.ApplicationName))
        {
            settings.ApplicationName = "orleans-shards";
        }

        var builder = new NpgsqlDataSourceBuilder(settings.ConnectionString);
        if (connection.Secret is { Length: > 0 } reference)
        {
            // Resolved whenever a physical connection is opened: a rotated secret is picked up, and it is kept nowhere else.
            builder.UsePasswordProvider(
                _ => ResolveSecret(name, reference),
                (_, _) => ValueTask.FromResult(ResolveSecret(name, reference)));
        }

        return builder.Build();
    }

    private string ResolveSecret(string name, string reference)
    {
        var value = SecretReference.Resolve(reference, $"connection '{name}'");
        if (value.Length > 0)
        {
            _secrets.TryAdd(value, 0);
        }

        return value;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var source in _sources.Values.Where(s => s.IsValueCreated))
        {
            await source.Value.DisposeAsync();
        }
    }
}

/// <summary>The database of a SQL source cannot be reached; the message holds no secret.</summary>
public sealed class SqlUnavailableException(string message) : IOException(message);
