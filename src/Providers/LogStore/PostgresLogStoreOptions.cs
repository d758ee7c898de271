namespace OrleansShards.Providers.LogStore;

/// <summary>Options of <see cref="PostgresLogStore"/>.</summary>
public sealed class PostgresLogStoreOptions : RelationalLogStoreOptions
{
    /// <summary>The Npgsql connection string (host, database, user, password). The tables are created when missing. Required.</summary>
    public string? ConnectionString { get; set; }

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException($"{nameof(PostgresLogStoreOptions)}.{nameof(ConnectionString)} is required: the Npgsql connection string of the log's database.");
        }
    }
}
