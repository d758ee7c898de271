using OrleansShards.Providers.Sqlite;

namespace OrleansShards.Providers.LogStore;

/// <summary>Options of <see cref="SqliteLogStore"/>.</summary>
public sealed class SqliteLogStoreOptions : RelationalLogStoreOptions
{
    /// <summary>Path of the SQLite file. Created, with its directory, when missing. Required.</summary>
    public string? DataSource { get; set; }

    /// <summary>Durability of a commit: <see cref="SqliteSynchronousMode.Full"/> (the default) fsyncs every commit before the append is acknowledged.</summary>
    public SqliteSynchronousMode Synchronous { get; set; } = SqliteSynchronousMode.Full;

    /// <summary>How long a statement waits for another process's write lock on the file before it fails. 30 s by default.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        if (string.IsNullOrWhiteSpace(DataSource))
        {
            throw new ArgumentException($"{nameof(SqliteLogStoreOptions)}.{nameof(DataSource)} is required: the path of the SQLite file of the log.");
        }

        if (DataSource.Trim().Equals(":memory:", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"{nameof(SqliteLogStoreOptions)}.{nameof(DataSource)} must be a file path; ':memory:' is not durable.");
        }

        if (!Enum.IsDefined(Synchronous))
        {
            throw new ArgumentException($"{nameof(SqliteLogStoreOptions)}.{nameof(Synchronous)} must be Full or Normal, not {Synchronous}.");
        }

        if (BusyTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(SqliteLogStoreOptions)}.{nameof(BusyTimeout)} must be positive, not {BusyTimeout}.");
        }
    }
}
