using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.Hosting;
using Orleans.Storage;

namespace OrleansShards.Providers.Files;

/// <summary>Options of <see cref="FileGrainStorage"/>; every property binds from configuration.</summary>
public class FileGrainStorageOptions : IStorageProviderSerializerOptions
{
    /// <summary>The directory of the state files, created when missing. Required.</summary>
    public string? Directory { get; set; }

    /// <summary>Whether a clear deletes the file (the default) or keeps one with no state and a new ETag.</summary>
    public bool DeleteStateOnClear { get; set; } = true;

    /// <summary>Stage of the silo lifecycle at which the directory is created and checked.</summary>
    public int InitStage { get; set; } = ServiceLifecycleStage.ApplicationServices;

    /// <inheritdoc/>
    public IGrainStorageSerializer GrainStorageSerializer { get; set; } = default!;
}

/// <summary>Checks <see cref="FileGrainStorageOptions"/> when the silo starts, naming the provider and the field at fault.</summary>
public sealed class FileGrainStorageOptionsValidator : IConfigurationValidator
{
    private readonly FileGrainStorageOptions _options;
    private readonly string _name;

    /// <summary>Creates a validator for the options of the provider named <paramref name="name"/>.</summary>
    public FileGrainStorageOptionsValidator(FileGrainStorageOptions options, string name)
    {
        _options = options;
        _name = name;
    }

    /// <inheritdoc/>
    public void ValidateConfiguration()
    {
        if (string.IsNullOrWhiteSpace(_options.Directory))
        {
            throw Invalid($"{nameof(FileGrainStorageOptions.Directory)} is required: the directory of the state files.");
        }

        if (_options.GrainStorageSerializer is null)
        {
            throw Invalid($"{nameof(FileGrainStorageOptions.GrainStorageSerializer)} is required (no IGrainStorageSerializer is registered).");
        }
    }

    private OrleansConfigurationException Invalid(string reason) =>
        new($"Invalid configuration for {nameof(FileGrainStorage)} named '{_name}': {nameof(FileGrainStorageOptions)}.{reason}");
}

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
