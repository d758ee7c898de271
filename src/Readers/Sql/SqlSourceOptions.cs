namespace OrleansShards.Readers.Sql;

/// <summary>Settings of SQL table sources.</summary>
public sealed class SqlSourceOptions
{
    /// <summary>Rows per entry of the in-memory key index: a read skips at most this many keys before its first row.</summary>
    public int IndexStride { get; set; } = 1024;

    /// <summary>
    /// How often a read compares the table's row count with the job's snapshot (a <c>count(*)</c>), at most, per
    /// table; zero checks on every read. Reads always check the keys of the rows they cover.
    /// </summary>
    public TimeSpan RecheckInterval { get; set; } = TimeSpan.FromSeconds(1);
}
