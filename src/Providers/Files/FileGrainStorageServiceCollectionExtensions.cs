using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OrleansShards.Providers.Files;

/// <summary>Registers <see cref="FileGrainStorage"/>, the way Orleans registers its own providers.</summary>
public static class FileGrainStorageServiceCollectionExtensions
{
    /// <summary>Adds file grain storage under <paramref name="name"/>.</summary>
    public static IServiceCollection AddFileGrainStorage(this IServiceCollection services, string name, Action<FileGrainStorageOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(configureOptions);
        return services.AddFileGrainStorage(name, builder => builder.Configure(configureOptions));
    }

    /// <summary>Adds file grain storage under <paramref name="name"/>; the options builder can bind the options from configuration.</summary>
    public static IServiceCollection AddFileGrainStorage(this IServiceCollection services, string name, Action<OptionsBuilder<FileGrainStorageOptions>>? configureOptions = null)
    {
        return GrainStorageRegistration.Add<FileGrainStorageOptions, FileGrainStorage>(services, name, configureOptions, (options, storageName) => new FileGrainStorageOptionsValidator(options, storageName));
    }

    /// <summary>Adds file grain storage under <paramref name="name"/> to a silo.</summary>
    public static ISiloBuilder AddFileGrainStorage(this ISiloBuilder builder, string name, Action<FileGrainStorageOptions> configureOptions) =>
        builder.ConfigureServices(services => services.AddFileGrainStorage(name, configureOptions));

    /// <summary>Creates the storage named <paramref name="name"/> from its named options.</summary>
    public static FileGrainStorage Create(IServiceProvider services, string name) =>
        GrainStorageRegistration.Create<FileGrainStorageOptions, FileGrainStorage>(services, name);
}
