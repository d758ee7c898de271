namespace OrleansShards.Providers.LogStore;

/// <summary>
/// Table and column names shared by both dialects. Column names avoid SQL keywords (<c>offset</c>,
/// <c>partition</c>) so that one statement text serves SQLite and PostgreSQL.
/// </summary>
internal static class LogStoreSchema
{
    public const string Topics = "shards_log_topics";
    public const string Partitions = "shards_log_partitions";
    public const string Records = "shards_log_records";

    /// <summary>SQLite: the records table is WITHOUT ROWID because the key is the only access path (a range scan by offset).</summary>
    public const string SqliteCreate = $"""
        CREATE TABLE IF NOT EXISTS {Topics} (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            name       TEXT    NOT NULL UNIQUE,
            partitions INTEGER NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS {Partitions} (
            topic_id         INTEGER NOT NULL,
            part             INTEGER NOT NULL,
            first_retained   INTEGER NOT NULL,
            next_offset      INTEGER NOT NULL,
            last_appended_at INTEGER NOT NULL,
            PRIMARY KEY (topic_id, part)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS {Records} (
            topic_id      INTEGER NOT NULL,
            part          INTEGER NOT NULL,
            record_offset INTEGER NOT NULL,
            appended_at   INTEGER NOT NULL,
            value         BLOB    NOT NULL,
            PRIMARY KEY (topic_id, part, record_offset)
        ) WITHOUT ROWID;
        """;

    /// <summary>PostgreSQL: identity ids are never reused, so a topic deleted and created again never meets its old records.</summary>
    public const string PostgresCreate = $"""
        CREATE TABLE IF NOT EXISTS {Topics} (
            id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name       TEXT    NOT NULL UNIQUE,
            partitions INTEGER NOT NULL,
            created_at BIGINT  NOT NULL
        );
        CREATE TABLE IF NOT EXISTS {Partitions} (
            topic_id         BIGINT  NOT NULL,
            part             INTEGER NOT NULL,
            first_retained   BIGINT  NOT NULL,
            next_offset      BIGINT  NOT NULL,
            last_appended_at BIGINT  NOT NULL,
            PRIMARY KEY (topic_id, part)
        );
        CREATE TABLE IF NOT EXISTS {Records} (
            topic_id      BIGINT  NOT NULL,
            part          INTEGER NOT NULL,
            record_offset BIGINT  NOT NULL,
            appended_at   BIGINT  NOT NULL,
            value         BYTEA   NOT NULL,
            PRIMARY KEY (topic_id, part, record_offset)
        );
        """;
}
