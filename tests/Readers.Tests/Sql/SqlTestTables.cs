using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using OrleansShards.Core;
using OrleansShards.Readers.Sql;
using OrleansShards.Tests.Sql;

namespace OrleansShards.Readers.Tests.Sql;

/// <summary>
/// A database of one kind for reader tests: a SQLite file in a temporary data directory, or a fresh database on the
/// test PostgreSQL server reached through an operator connection named <c>warehouse</c> whose password is the
/// reference <c>env:SHARDS_TEST_PG_PASSWORD</c>.
/// </summary>
public sealed class SqlTestDatabase : IAsyncDisposable
{
    public const string PasswordVariable = "SHARDS_TEST_PG_PASSWORD";

    private readonly PostgresServer? _server;
    private readonly string? _database;

    private SqlTestDatabase(string kind, string dataDir, PostgresServer? server, string? database)
    {
        Kind = kind;
        DataDir = dataDir;
        _server = server;
        _database = database;
    }

    public string Kind { get; }

    public string DataDir { get; }

    public const string SqliteFile = "shop.db";

    public static async Task<SqlTestDatabase> CreateAsync(string kind, PostgresServer server)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "shards-sql-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dataDir);
        if (kind == "sqlite")
        {
            return new SqlTestDatabase(kind, dataDir, null, null);
        }

        server.Require();
        Environment.SetEnvironmentVariable(PasswordVariable, server.Password);
        return new SqlTestDatabase(kind, dataDir, server, await server.CreateDatabaseAsync("readers"));
    }

    /// <summary>The operator's connections: <c>warehouse</c> (when PostgreSQL) with the password as a reference.</summary>
    public SourceConnectionsOptions Connections()
    {
        var options = new SourceConnectionsOptions();
        if (_server is not null)
        {
            options.Connections["warehouse"] = new SourceConnection
            {
                Kind = "postgres",
                ConnectionString = _server.ConnectionStringWithoutPassword(_database!),
                Secret = "env:" + PasswordVariable,
            };
        }

        return options;
    }

    public SqlSourceAdapter Adapter(int stride = 64, TimeSpan? recheck = null) =>
        new(new DataRoots(DataDir), Connections(), new SqlSourceOptions { IndexStride = stride, RecheckInterval = recheck ?? TimeSpan.Zero });

    public SourceSpec Source(string table, string key = "id") => Kind == "sqlite"
        ? new SourceSpec { Kind = "sqlite", Path = SqliteFile, Table = table, KeyColumn = key }
        : new SourceSpec { Kind = "postgres", Connection = "warehouse", Table = table, KeyColumn = key };

    public async Task<DbConnection> OpenAsync()
    {
        if (_server is not null)
        {
            return await _server.OpenAsync(_database!);
        }

        var connection = new SqliteConnection($"Data Source={Path.Combine(DataDir, SqliteFile)};Pooling=False");
        await connection.OpenAsync();
        return connection;
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = 120;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Creates <paramref name="table"/> with <paramref name="rows"/> rows: id = 3g + 1 (gaps between keys), name,
    /// score = g / 2, flag = g even, payload (null every 7th row), note (null every 5th row), and a timestamp.
    /// </summary>
    public async Task CreateItemsAsync(string table, int rows, Func<int, long>? id = null)
    {
        id ??= g => 3L * g + 1;
        if (Kind == "postgres")
        {
            await ExecuteAsync($"""
                CREATE TABLE {table} (id bigint PRIMARY KEY, name text, score double precision, flag boolean, payload bytea, note text, at timestamptz);
                """);
            // Ids through a VALUES list would be slow; the default id function is a series.
            if (id(0) == 1 && id(1) == 4)
            {
                await ExecuteAsync($"""
                    INSERT INTO {table} SELECT 3 * g + 1, 'name ' || g, g / 2.0, g % 2 = 0,
                      CASE WHEN g % 7 = 0 THEN NULL ELSE convert_to('bytes ' || g, 'UTF8') END,
                      CASE WHEN g % 5 = 0 THEN NULL ELSE 'note "' || g || '", é' END,
                      timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
                    FROM generate_series(0, {rows - 1}) g;
                    """);
                return;
            }
        }
        else
        {
            await ExecuteAsync($"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT, score REAL, flag INTEGER, payload BLOB, note TEXT, at TEXT)");
        }

        await using var connection = await OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"INSERT INTO {table} VALUES (@id, @name, @score, @flag, @payload, @note, @at)";
        var parameters = new[] { "id", "name", "score", "flag", "payload", "note", "at" }.Select(n =>
        {
            var p = command.CreateParameter();
            p.ParameterName = n;
            command.Parameters.Add(p);
            return p;
        }).ToArray();
        for (var g = 0; g < rows; g++)
        {
            parameters[0].Value = id(g);
            parameters[1].Value = "name " + g.ToString(CultureInfo.InvariantCulture);
            parameters[2].Value = g / 2.0;
            parameters[3].Value = Kind == "sqlite" ? (g % 2 == 0 ? 1 : 0) : g % 2 == 0;
            parameters[4].Value = g % 7 == 0 ? DBNull.Value : Encoding.UTF8.GetBytes("bytes " + g.ToString(CultureInfo.InvariantCulture));
            parameters[5].Value = g % 5 == 0 ? DBNull.Value : $"note \"{g}\", é";
            parameters[6].Value = Kind == "sqlite"
                ? new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(g).ToString("O", CultureInfo.InvariantCulture)
                : new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(g);
            await command.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        if (_server is not null)
        {
            try
            {
                await _server.ExecuteAsync("postgres", $"DROP DATABASE IF EXISTS \"{_database}\" WITH (FORCE)");
            }
            catch (Npgsql.NpgsqlException)
            {
            }
        }

        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
