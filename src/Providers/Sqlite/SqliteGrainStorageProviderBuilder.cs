using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Providers;
using Orleans.Storage;
using OrleansShards.Providers.Sqlite;

// Lets a silo configured from configuration pick this provider: Orleans:GrainStorage:{name}:ProviderType = Sqlite.
[assembly: RegisterProvider("Sqlite", "GrainStorage", "Silo", typeof(SqliteGrainStorageProviderBuilder))]

namespace OrleansShards.Providers.Sqlite;

/// <summary>
/// Configures SQLite grain storage from a configuration section (<c>DataSource</c>, <c>Synchronous</c>,
/// <c>DeleteStateOnClear</c>, <c>InitStage</c>, <c>MaxBatchSize</c>, and <c>SerializerKey</c> naming a keyed
/// <see cref="IGrainStorageSerializer"/>).
/// </summary>
internal sealed class SqliteGrainStorageProviderBuilder : IProviderBuilder<ISiloBuilder>
{
    public void Configure(ISiloBuilder builder, string? name, IConfigurationSection configurationSection) =>
        builder.AddSqliteGrainStorage(name ?? ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, (OptionsBuilder<SqliteGrainStorageOptions> options) =>
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
        });
}
