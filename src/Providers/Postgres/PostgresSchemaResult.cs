namespace OrleansShards.Providers.Postgres;

/// <summary>What <see cref="PostgresClusteringSchema.ApplyAsync(string, CancellationToken)"/> found and did.</summary>
/// <param name="CreatedTables">The tables it created; empty when the database had been migrated before.</param>
/// <param name="QueryKeys">The query keys it wrote (or found up to date) in the <c>OrleansQuery</c> table.</param>
public sealed record PostgresSchemaResult(IReadOnlyList<string> CreatedTables, IReadOnlyList<string> QueryKeys)
{
    /// <summary>One line for an operator: what was created, or that everything was there.</summary>
    public string Describe() => CreatedTables.Count > 0
        ? $"created tables {string.Join(", ", CreatedTables)}; wrote {QueryKeys.Count} queries to OrleansQuery"
        : $"tables present; {QueryKeys.Count} queries in OrleansQuery up to date";
}
