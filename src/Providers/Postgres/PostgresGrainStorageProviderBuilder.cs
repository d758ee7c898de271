using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Providers;
using Orleans.Storage;
using OrleansShards.Providers.Postgres;

// Lets a silo configured from configuration pick this provider: Orleans:GrainStorage:{name}:ProviderType = ShardsPostgres.
[assembly: RegisterProvider("ShardsPostgres", "GrainStorage", "Silo", typeof(PostgresGrainStorageProviderBuilder))]

namespace OrleansShards.Providers.Postgres;

/// <summary>
/// Configures PostgreSQL grain storage from a configuration section (<c>ConnectionString</c>, <c>DeleteStateOnClear</c>,
/// <c>InitStage</c>, and <c>SerializerKey</c> naming a keyed <see cref="IGrainStorageSerializer"/>).
/// </summary>
internal sealed class PostgresGrainStorageProviderBuilder : IProviderBuilder<ISiloBuilder>
{
    public void Configure(ISiloBuilder builder, string? name, IConfigurationSection configurationSection) =>
        builder.ConfigureServices(services => services.AddPostgresGrainStorage(name ?? ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, (OptionsBuilder<PostgresGrainStorageOptions> options) =>
        {
            options.Bind(configurationSection, binder => binder.ErrorOnUnknownConfiguration = false);
            options.Configure<IServiceProvider>((o, services) =>
            {
                var serializerKey = configurationSection["SerializerKey"];
                if (!string.IsNullOrEmpty(serializerKey))
                {
                    o.GrainStorageSerializer = services.GetRequiredKeyedService<IGrainStorageSerializer>(serializerKey);
                }
            });
        }));
}
