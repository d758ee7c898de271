using System.Data;
using System.Data.Common;

namespace OrleansShards.Providers.Relational;

/// <summary>A stored row as a read finds it.</summary>
/// <param name="Found">Whether a row exists.</param>
/// <param name="Etag">Its ETag.</param>
/// <param name="Data">Its serialized state; <see langword="null"/> for a row kept by a clear.</param>
internal readonly record struct StoredRow(bool Found, long Etag, byte[]? Data);

/// <summary>
/// What differs between the databases <see cref="RelationalGrainStorage"/> runs on: how a connection is opened and
/// the schema created, how reads run, how ETags are reserved and how a failed statement leaves the transaction.
/// Everything else (the single writer with group commit, ETag checks, the statements) is shared. Both dialects take
/// <c>@name</c> parameters, so the statements are written once.
/// </summary>
internal abstract class RelationalDialect : IDisposable
{
    public const string StateTable = "orleans_grain_state";

    /// <summary>The database, as messages name it: "the SQLite grain storage file '/x'" (never a password).</summary>
    public abstract string Where { get; }

    /// <summary>"SQLite" or "PostgreSQL", for thread names and logs.</summary>
    public abstract string Kind { get; }

    /// <summary>The statement that opens a write transaction.</summary>
    public virtual string Begin => "BEGIN";

    /// <summary>The statement that reserves ETags (parameter <c>@n</c>, the count); see <see cref="ReadReservedEtags"/>.</summary>
    public abstract string ReserveEtags { get; }

    /// <summary>A failure of this store, of the exception type its callers catch.</summary>
    public abstract Exception Failure(string message, Exception? inner);

    /// <summary>
    /// Opens the writer's connection, creating the database objects when missing. Throws <see cref="Failure"/>
    /// naming the database and the reason when it cannot.
    /// </summary>
    public abstract DbConnection OpenWriter(string serviceId);

    /// <summary>Reads one row; runs beside the writer.</summary>
    public abstract ValueTask<StoredRow> ReadAsync(string serviceId, string grainType, string grainId, CancellationToken cancellationToken);

    /// <summary>
    /// Whether the transaction is still open after <paramref name="exception"/> failed one statement in it: then only
    /// that operation fails; otherwise the database rolled everything back and the rest of the batch is retried.
    /// </summary>
    public abstract bool TransactionSurvives(DbConnection connection, DbException exception);

    /// <summary>Whether a transaction is open on <paramref name="connection"/> (one that failed counts: it needs a rollback).</summary>
    public virtual bool InTransaction(DbConnection connection) => true;

    /// <summary>Fills <paramref name="etags"/> with fresh ETags, in the order they are used, from the reserve command.</summary>
    public virtual void ReadReservedEtags(DbCommand command, Span<long> etags)
    {
        using var reader = command.ExecuteReader();
        var i = 0;
        while (reader.Read())
        {
            etags[i++] = reader.GetInt64(0);
        }

        if (i != etags.Length)
        {
            throw new InvalidOperationException($"{Where}: reserving {etags.Length} ETags returned {i}.");
        }
    }

    /// <summary>Releases what the dialect holds (idle read connections, a data source).</summary>
    public virtual void Dispose()
    {
    }

    /// <summary>Adds a parameter of <paramref name="type"/> to <paramref name="command"/>.</summary>
    public static DbParameter AddParameter(DbCommand command, string name, DbType type, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = type;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return parameter;
    }

    public const string SelectRow = $"SELECT etag, data FROM {StateTable} WHERE service_id = @s AND grain_type = @t AND grain_id = @g";

    public const string Insert =
        $"INSERT INTO {StateTable} (service_id, grain_type, grain_id, etag, data, modified_utc) " +
        "VALUES (@s, @t, @g, @new, @data, @m) ON CONFLICT DO NOTHING";

    public const string Update =
        $"UPDATE {StateTable} SET etag = @new, data = @data, modified_utc = @m " +
        "WHERE service_id = @s AND grain_type = @t AND grain_id = @g AND etag = @old";

    public const string Delete = $"DELETE FROM {StateTable} WHERE service_id = @s AND grain_type = @t AND grain_id = @g AND etag = @old";

    public const string SelectEtag = $"SELECT etag FROM {StateTable} WHERE service_id = @s AND grain_type = @t AND grain_id = @g";
}
