using Microsoft.Extensions.Options;
using OrleansShards.Readers;
using OrleansShards.Readers.Sql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SQL table sources (<c>sqlite</c>, <c>postgres</c>) with a host.</summary>
public static class SqlSourceRegistration
{
    /// <summary>
    /// Adds the reader of SQL tables: SQLite files under <paramref name="roots"/>, PostgreSQL through the connections of
    /// <see cref="SourceConnectionsOptions"/>.
    /// </summary>
    public static IServiceCollection AddSqlSources(this IServiceCollection services, DataRoots roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        return services.AddSingleton<ISourceAdapter>(sp => new SqlSourceAdapter(roots, sp.GetRequiredService<IOptions<SourceConnectionsOptions>>().Value));
    }
}
