using Microsoft.Extensions.Options;
using Orleans.Providers;

namespace OrleansShards.Providers.Sqlite;

/// <summary>
/// Registers <see cref="SqliteGrainStorage"/> on an <see cref="ISiloBuilder"/>.
/// </summary>
public static class SqliteGrainStorageSiloBuilderExtensions
{
    /// <summary>Adds SQLite grain storage as the default grain storage provider.</summary>
    public static ISiloBuilder AddSqliteGrainStorageAsDefault(this ISiloBuilder builder, Action<SqliteGrainStorageOptions> configureOptions) =>
        builder.AddSqliteGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configureOptions);

    /// <summary>Adds SQLite grain storage under <paramref name="name"/>.</summary>
    public static ISiloBuilder AddSqliteGrainStorage(this ISiloBuilder builder, string name, Action<SqliteGrainStorageOptions> configureOptions) =>
        builder.ConfigureServices(services => services.AddSqliteGrainStorage(name, configureOptions));

    /// <summary>Adds SQLite grain storage as the default grain storage provider.</summary>
    public static ISiloBuilder AddSqliteGrainStorageAsDefault(this ISiloBuilder builder, Action<OptionsBuilder<SqliteGrainStorageOptions>>? configureOptions = null) =>
        builder.AddSqliteGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configureOptions);

    /// <summary>
    /// Adds SQLite grain storage under <paramref name="name"/>; the options builder can bind the options from configuration.
    /// </summary>
    public static ISiloBuilder AddSqliteGrainStorage(this ISiloBuilder builder, string name, Action<OptionsBuilder<SqliteGrainStorageOptions>>? configureOptions = null) =>
        builder.ConfigureServices(services => services.AddSqliteGrainStorage(name, configureOptions));
}
