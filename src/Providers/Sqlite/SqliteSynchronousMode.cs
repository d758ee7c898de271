namespace OrleansShards.Providers.Sqlite;

/// <summary>
/// How hard SQLite pushes a commit to the disk before it is acknowledged (SQLite's <c>PRAGMA synchronous</c>).
/// </summary>
public enum SqliteSynchronousMode
{
    /// <summary>
    /// Every commit is fsynced before the write is acknowledged: an acknowledged write survives a power loss.
    /// </summary>
    Full = 0,

    /// <summary>
    /// In WAL mode the WAL is synced only at checkpoints: an acknowledged write survives a process crash,
    /// but the last commits can be lost on a power loss or kernel crash. Several times the commit rate of <see cref="Full"/>.
    /// </summary>
    Normal = 1,
}
