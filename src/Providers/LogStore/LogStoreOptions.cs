using OrleansShards.Providers.Sqlite;

namespace OrleansShards.Providers.LogStore;

/// <summary>Options shared by the relational log stores. Plain values, so they bind from configuration.</summary>
public abstract class RelationalLogStoreOptions
{
    /// <summary>Default for <see cref="PollInterval"/>.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromMilliseconds(25);

    /// <summary>Default for <see cref="MaxBatchSize"/>.</summary>
    public const int DefaultMaxBatchSize = 1024;

    /// <summary>
    /// How often a waiter for appends looks at the database for appends made by other processes (appends through
    /// the same store instance wake it at once). 25 ms by default: a stream subscriber fed by a receiver in another
    /// silo than the append then still gets a record within 50 ms at the 99th percentile on loopback. Each poll is one
    /// indexed query per topic waited on; raise it where that matters more than latency.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = DefaultPollInterval;

    /// <summary>Most writes (appends, topic changes) committed in one transaction. 1024 by default.</summary>
    public int MaxBatchSize { get; set; } = DefaultMaxBatchSize;

    /// <summary>Throws <see cref="ArgumentException"/> naming the option at fault.</summary>
    public virtual void Validate()
    {
        if (PollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{GetType().Name}.{nameof(PollInterval)} must be positive, not {PollInterval}.");
        }

        if (MaxBatchSize < 1)
        {
            throw new ArgumentException($"{GetType().Name}.{nameof(MaxBatchSize)} must be at least 1, not {MaxBatchSize}.");
        }
    }
}

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
