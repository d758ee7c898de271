using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Providers;

namespace OrleansShards.Providers.Sqlite;

/// <summary>
/// Registers <see cref="SqliteGrainStorage"/> on an <see cref="IServiceCollection"/>, the way Orleans registers its own providers.
/// </summary>
public static class SqliteGrainStorageServiceCollectionExtensions
{
    /// <summary>Adds SQLite grain storage as the default grain storage provider.</summary>
    public static IServiceCollection AddSqliteGrainStorageAsDefault(this IServiceCollection services, Action<SqliteGrainStorageOptions> configureOptions) =>
        services.AddSqliteGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configureOptions);

    /// <summary>Adds SQLite grain storage under <paramref name="name"/>.</summary>
    public static IServiceCollection AddSqliteGrainStorage(this IServiceCollection services, string name, Action<SqliteGrainStorageOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(configureOptions);
        return services.AddSqliteGrainStorage(name, builder => builder.Configure(configureOptions));
    }

    /// <summary>Adds SQLite grain storage as the default grain storage provider.</summary>
    public static IServiceCollection AddSqliteGrainStorageAsDefault(this IServiceCollection services, Action<OptionsBuilder<SqliteGrainStorageOptions>>? configureOptions = null) =>
        services.AddSqliteGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configureOptions);

    /// <summary>
    /// Adds SQLite grain storage under <paramref name="name"/>; the options builder can bind the options from configuration.
    /// </summary>
    public static IServiceCollection AddSqliteGrainStorage(this IServiceCollection services, string name, Action<OptionsBuilder<SqliteGrainStorageOptions>>? configureOptions = null)
    {
        return GrainStorageRegistration.Add<SqliteGrainStorageOptions, SqliteGrainStorage>(services, name, configureOptions, (options, storageName) => new SqliteGrainStorageOptionsValidator(options, storageName));
    }
}
