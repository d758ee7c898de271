namespace OrleansShards.Providers.Sqlite;

/// <summary>
/// The tables of a grain storage file. A rowid table rather than WITHOUT ROWID: states are often kilobytes,
/// and SQLite advises WITHOUT ROWID only for rows far smaller than a page.
/// </summary>
internal static class SqliteSchema
{
    public const string StateTable = "orleans_grain_state";
    public const string MetaTable = "orleans_grain_storage_meta";

    public const string Create = $"""
        CREATE TABLE IF NOT EXISTS {StateTable} (
            service_id   TEXT    NOT NULL,
            grain_type   TEXT    NOT NULL,
            grain_id     TEXT    NOT NULL,
            etag         INTEGER NOT NULL,
            data         BLOB,
            modified_utc INTEGER NOT NULL,
            PRIMARY KEY (service_id, grain_type, grain_id)
        );
        CREATE TABLE IF NOT EXISTS {MetaTable} (
            name  TEXT    NOT NULL PRIMARY KEY,
            value INTEGER NOT NULL
        );
        INSERT INTO {MetaTable} (name, value) VALUES ('etag', 0) ON CONFLICT DO NOTHING;
        INSERT INTO {MetaTable} (name, value) VALUES ('schema', 1) ON CONFLICT DO NOTHING;
        """;

    public const string Select = $"SELECT etag, data FROM {StateTable} WHERE service_id = $s AND grain_type = $t AND grain_id = $g";
}
