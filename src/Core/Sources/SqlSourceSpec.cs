namespace OrleansShards.Core.Sources;

/// <summary>The options of a SQL table source.</summary>
/// <param name="Path">sqlite: the database file, relative to the data directory.</param>
/// <param name="Connection">postgres: the name of a connection the operator defined in configuration.</param>
/// <param name="Table">The table, optionally <c>schema.table</c>.</param>
/// <param name="KeyColumn">The unique, ordered key column shards are ranges of.</param>
public sealed record SqlSourceSpec(string? Path, string? Connection, string Table, string KeyColumn);
