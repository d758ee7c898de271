using Npgsql;

namespace OrleansShards.Providers.Postgres;

/// <summary>
/// The PostgreSQL schema of Orleans' ADO.NET clustering provider (<c>Microsoft.Orleans.Clustering.AdoNet</c>, invariant
/// <c>Npgsql</c>): the membership tables and the query texts the provider loads from <c>OrleansQuery</c>. Orleans'
/// packages do not ship them; ours are written from the provider's query keys and parameters (see the embedded
/// <c>PostgresClustering.sql</c>).
/// </summary>
public static class PostgresClusteringSchema
{
    /// <summary>The ADO.NET invariant name to give the provider.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>Every query key the clustering provider and its gateway list provider read.</summary>
    public static IReadOnlyList<string> QueryKeys { get; } =
    [
        "InsertMembershipVersionKey",
        "InsertMembershipKey",
        "UpdateMembershipKey",
        "UpdateIAmAlivetimeKey",
        "MembershipReadRowKey",
        "MembershipReadAllKey",
        "GatewaysQueryKey",
        "DeleteMembershipTableEntriesKey",
        "CleanupDefunctSiloEntriesKey",
    ];

    /// <summary>The tables the schema creates.</summary>
    public static IReadOnlyList<string> Tables { get; } = ["orleansquery", "shards_membership_version", "shards_membership"];

    // Silos of one deployment may start together and all apply the schema: CREATE TABLE IF NOT EXISTS is not safe
    // against a concurrent twin (unique violation on the catalog), so they take turns on this lock.
    private const long AdvisoryLockKey = 0x5348_4152_4453_0001; // "SHARDS" + step 1

    /// <summary>The SQL script, as embedded in this assembly.</summary>
    public static string Script { get; } = ReadScript();

    /// <summary>
    /// Creates the tables and writes the queries, in one transaction. Idempotent: on a database migrated before it
    /// creates nothing and rewrites the queries (so a newer version of them replaces an older one).
    /// </summary>
    /// <param name="connectionString">An Npgsql connection string, with the password if the server wants one.</param>
    /// <param name="cancellationToken">Cancels the migration (the transaction rolls back).</param>
    public static async Task<PostgresSchemaResult> ApplyAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        return await ApplyAsync(dataSource, cancellationToken);
    }

    /// <summary>Same as <see cref="ApplyAsync(string, CancellationToken)"/>, on connections of <paramref name="dataSource"/>.</summary>
    public static async Task<PostgresSchemaResult> ApplyAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("key", AdvisoryLockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        var missing = new List<string>();
        foreach (var table in Tables)
        {
            await using var exists = new NpgsqlCommand("SELECT to_regclass(@name) IS NOT NULL", connection, transaction);
            exists.Parameters.AddWithValue("name", table);
            if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
            {
                missing.Add(table);
            }
        }

        await using (var script = new NpgsqlCommand(Script, connection, transaction))
        {
            await script.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return new PostgresSchemaResult(missing, QueryKeys);
    }

    private static string ReadScript()
    {
        const string name = "OrleansShards.Providers.Postgres.PostgresClustering.sql";
        using var stream = typeof(PostgresClusteringSchema).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"the embedded resource {name} is missing from {typeof(PostgresClusteringSchema).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
