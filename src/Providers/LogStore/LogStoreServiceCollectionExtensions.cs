using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansShards.Core;

namespace OrleansShards.Providers.LogStore;

/// <summary>Registers a relational log store as the <see cref="ILogStore"/> of a host.</summary>
public static class LogStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="SqliteLogStore"/> as the singleton <see cref="ILogStore"/>; its clock is the
    /// <see cref="TimeProvider"/> registered (the system clock when none is).
    /// </summary>
    public static IServiceCollection AddSqliteLogStore(this IServiceCollection services, Action<SqliteLogStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<SqliteLogStoreOptions>().Configure(configure);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new SqliteLogStore(
            sp.GetRequiredService<IOptions<SqliteLogStoreOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SqliteLogStore>>()));
        services.AddSingleton<ILogStore>(sp => sp.GetRequiredService<SqliteLogStore>());
        return services;
    }

    /// <summary>
    /// Registers <see cref="PostgresLogStore"/> as the singleton <see cref="ILogStore"/>; its clock is the
    /// <see cref="TimeProvider"/> registered (the system clock when none is).
    /// </summary>
    public static IServiceCollection AddPostgresLogStore(this IServiceCollection services, Action<PostgresLogStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<PostgresLogStoreOptions>().Configure(configure);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new PostgresLogStore(
            sp.GetRequiredService<IOptions<PostgresLogStoreOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<PostgresLogStore>>()));
        services.AddSingleton<ILogStore>(sp => sp.GetRequiredService<PostgresLogStore>());
        return services;
    }
}
