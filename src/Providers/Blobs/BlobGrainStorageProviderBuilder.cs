using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Hosting;
using Orleans.Providers;
using Orleans.Storage;
using OrleansShards.Providers.Blobs;

// Lets a silo configured from configuration pick this provider: Orleans:GrainStorage:{name}:ProviderType = ShardsBlob.
[assembly: RegisterProvider("ShardsBlob", "GrainStorage", "Silo", typeof(BlobGrainStorageProviderBuilder))]

namespace OrleansShards.Providers.Blobs;

/// <summary>
/// Configures Azure blob grain storage from a configuration section (<c>ConnectionString</c> or <c>ServiceUri</c>, <c>ContainerName</c>, <c>DeleteStateOnClear</c>,
/// <c>InitStage</c>, and <c>SerializerKey</c> naming a keyed <see cref="IGrainStorageSerializer"/>).
/// </summary>
internal sealed class BlobGrainStorageProviderBuilder : IProviderBuilder<ISiloBuilder>
{
    public void Configure(ISiloBuilder builder, string? name, IConfigurationSection configurationSection) =>
        builder.ConfigureServices(services => services.AddBlobGrainStorage(name ?? ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, (OptionsBuilder<BlobGrainStorageOptions> options) =>
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
