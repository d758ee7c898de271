using OrleansShards.Providers.Postgres;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Applies <see cref="PostgresClusteringSchema"/> when the silo starts, before Orleans opens its membership table
/// (<c>Shards:ApplySchema</c>, on by default; off when the schema is applied by the <c>migrate</c> command only).
/// </summary>
public sealed partial class ClusteringSchemaAtStart(string connectionString, ILogger<ClusteringSchemaAtStart> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <inheritdoc />
    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(ClusteringSchemaAtStart), ServiceLifecycleStage.First, async cancellationToken =>
        {
            var result = await PostgresClusteringSchema.ApplyAsync(connectionString, cancellationToken);
            LogApplied(ShardsClustering.DescribePostgres(connectionString), result.Describe());
        });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Clustering schema on {Target}: {Outcome}")]
    private partial void LogApplied(string target, string outcome);
}
