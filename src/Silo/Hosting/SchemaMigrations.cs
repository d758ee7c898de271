using OrleansShards.Providers.Postgres;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// The <c>migrate</c> command of the silo executable: applies every schema the configured databases need, in order,
/// and exits 0; on the first failure, one line naming the step and the reason, and exit code 1.
/// </summary>
public static class SchemaMigrations
{
    /// <summary>The steps, in order. Stores that need a schema add a step here.</summary>
    public static IList<SchemaStep> Steps { get; } =
    [
        new("clustering", IsPostgresClustering, ApplyClusteringAsync),
        new("grain storage", IsPostgresStorage, ApplyStorageAsync),
    ];

    /// <summary>Runs the needed steps of <see cref="Steps"/> against <paramref name="configuration"/>.</summary>
    /// <returns>The process exit code: 0 when every needed schema is in place, 1 otherwise.</returns>
    public static async Task<int> RunAsync(IConfiguration configuration, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var applied = 0;
        foreach (var step in Steps)
        {
            try
            {
                if (!step.IsNeeded(configuration))
                {
                    continue;
                }

                var outcome = await step.ApplyAsync(configuration, cancellationToken);
                await output.WriteLineAsync($"migrate: {step.Name}: {outcome}");
                applied++;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                await error.WriteLineAsync($"migrate: {step.Name} failed: {OneLine(e)}");
                return 1;
            }
        }

        await output.WriteLineAsync(applied == 0
            ? "migrate: nothing to do: no configured store needs a schema (neither Shards:Clustering nor Shards:Storage:Provider is 'postgres')"
            : $"migrate: done, {applied} schema{(applied == 1 ? "" : "s")} in place");
        return 0;
    }

    private static SiloHostOptions Host(IConfiguration configuration) =>
        configuration.GetSection("Shards").Get<SiloHostOptions>() ?? new SiloHostOptions();

    private static bool IsPostgresClustering(IConfiguration configuration) =>
        ShardsClustering.Mode(Host(configuration)) == SiloHostOptions.PostgresClustering;

    private static async Task<string> ApplyClusteringAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        var connectionString = ShardsClustering.PostgresConnectionString(Host(configuration));
        var result = await PostgresClusteringSchema.ApplyAsync(connectionString, cancellationToken);
        return $"{ShardsClustering.DescribePostgres(connectionString)}: {result.Describe()}";
    }

    private static bool IsPostgresStorage(IConfiguration configuration) =>
        string.Equals(configuration[$"{StorageSettings.Section}:Provider"]?.Trim(), "postgres", StringComparison.OrdinalIgnoreCase);

    private static async Task<string> ApplyStorageAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        var settings = StorageSettings.FromConfiguration(configuration, Host(configuration), Path.GetTempPath());
        await settings.CreateSchemaAsync(cancellationToken);
        return "the grain state table and its ETag sequence are in place";
    }

    private static string OneLine(Exception e)
    {
        var message = e is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0].Message : e.Message;
        return string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}
