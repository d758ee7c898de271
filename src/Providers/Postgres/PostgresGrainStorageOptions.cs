using OrleansShards.Providers.Relational;

namespace OrleansShards.Providers.Postgres;

/// <summary>
/// Options of <see cref="PostgresGrainStorage"/>.
/// </summary>
public class PostgresGrainStorageOptions : RelationalGrainStorageOptions
{
    /// <summary>
    /// The Npgsql connection string, password included (resolve secrets before setting it). Required. Never logged.
    /// </summary>
    [Redact]
    public string? ConnectionString { get; set; }
}
