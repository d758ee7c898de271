using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OrleansShards.Providers.Postgres;

/// <summary>
/// Registers <see cref="PostgresGrainStorage"/>, the way Orleans registers its own providers.
/// </summary>
public static class PostgresGrainStorageServiceCollectionExtensions
{
    /// <summary>Adds PostgreSQL grain storage under <paramref name="name"/>.</summary>
    public static IServiceCollection AddPostgresGrainStorage(this IServiceCollection services, string name, Action<PostgresGrainStorageOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(configureOptions);
        return services.AddPostgresGrainStorage(name, builder => builder.Configure(configureOptions));
    }

    /// <summary>Adds PostgreSQL grain storage under <paramref name="name"/>; the options builder can bind the options from configuration.</summary>
    public static IServiceCollection AddPostgresGrainStorage(this IServiceCollection services, string name, Action<OptionsBuilder<PostgresGrainStorageOptions>>? configureOptions = null)
    {
        return GrainStorageRegistration.Add<PostgresGrainStorageOptions, PostgresGrainStorage>(services, name, configureOptions, (options, storageName) => new PostgresGrainStorageOptionsValidator(options, storageName));
    }

    /// <summary>Adds PostgreSQL grain storage under <paramref name="name"/> to a silo.</summary>
    public static ISiloBuilder AddPostgresGrainStorage(this ISiloBuilder builder, string name, Action<PostgresGrainStorageOptions> configureOptions) =>
        builder.ConfigureServices(services => services.AddPostgresGrainStorage(name, configureOptions));

    /// <summary>Creates the storage named <paramref name="name"/> from its named options (the factory <c>AddGrainStorage</c> calls).</summary>
    public static PostgresGrainStorage Create(IServiceProvider services, string name) =>
        GrainStorageRegistration.Create<PostgresGrainStorageOptions, PostgresGrainStorage>(services, name);
}
