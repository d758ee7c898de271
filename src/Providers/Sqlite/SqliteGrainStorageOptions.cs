using OrleansShards.Providers.Relational;

namespace OrleansShards.Providers.Sqlite;

/// <summary>
/// Options of <see cref="SqliteGrainStorage"/>. Every property is a plain value, so the options bind from configuration.
/// </summary>
public class SqliteGrainStorageOptions : RelationalGrainStorageOptions
{
    /// <summary>
    /// Path of the SQLite database file. Created, with its directory, when missing. Required.
    /// </summary>
    public string? DataSource { get; set; }

    /// <summary>
    /// Durability of a commit. <see cref="SqliteSynchronousMode.Full"/> by default: a write acknowledged is durable.
    /// </summary>
    public SqliteSynchronousMode Synchronous { get; set; } = SqliteSynchronousMode.Full;
}
