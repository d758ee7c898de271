using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Providers;
using Orleans.Storage;
using OrleansShards.Providers.Files;

// Lets a silo configured from configuration pick this provider: Orleans:GrainStorage:{name}:ProviderType = ShardsFile.
[assembly: RegisterProvider("ShardsFile", "GrainStorage", "Silo", typeof(FileGrainStorageProviderBuilder))]

namespace OrleansShards.Providers.Files;

/// <summary>
/// Configures file grain storage from a configuration section (<c>Directory</c>, <c>DeleteStateOnClear</c>,
/// <c>InitStage</c>, and <c>SerializerKey</c> naming a keyed <see cref="IGrainStorageSerializer"/>).
/// </summary>
internal sealed class FileGrainStorageProviderBuilder : IProviderBuilder<ISiloBuilder>
{
    public void Configure(ISiloBuilder builder, string? name, IConfigurationSection configurationSection) =>
        builder.ConfigureServices(services => services.AddFileGrainStorage(name ?? ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, (OptionsBuilder<FileGrainStorageOptions> options) =>
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
