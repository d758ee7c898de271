using Azure.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.Hosting;
using Orleans.Storage;

namespace OrleansShards.Providers.Blobs;

/// <summary>Options of <see cref="BlobGrainStorage"/>; the plain values bind from configuration.</summary>
public class BlobGrainStorageOptions : IStorageProviderSerializerOptions
{
    /// <summary>The default <see cref="ContainerName"/>.</summary>
    public const string DefaultContainerName = "orleans-shards";

    /// <summary>An Azure storage connection string (account key or SAS). Either this or <see cref="ServiceUri"/>. Never logged.</summary>
    [Redact]
    public string? ConnectionString { get; set; }

    /// <summary>The blob service URI (with a SAS token, or with <see cref="TokenCredential"/>), when there is no connection string.</summary>
    [Redact]
    public Uri? ServiceUri { get; set; }

    /// <summary>A credential for <see cref="ServiceUri"/> (a managed identity, for one); set in code.</summary>
    public TokenCredential? TokenCredential { get; set; }

    /// <summary>The container of the states, created when missing.</summary>
    public string ContainerName { get; set; } = DefaultContainerName;

    /// <summary>Whether a clear deletes the blob (the default) or keeps an empty one with a new ETag.</summary>
    public bool DeleteStateOnClear { get; set; } = true;

    /// <summary>Stage of the silo lifecycle at which the container is checked and created.</summary>
    public int InitStage { get; set; } = ServiceLifecycleStage.ApplicationServices;

    /// <inheritdoc/>
    public IGrainStorageSerializer GrainStorageSerializer { get; set; } = default!;
}

/// <summary>Checks <see cref="BlobGrainStorageOptions"/> when the silo starts, naming the provider and the field at fault.</summary>
public sealed class BlobGrainStorageOptionsValidator : IConfigurationValidator
{
    private readonly BlobGrainStorageOptions _options;
    private readonly string _name;

    /// <summary>Creates a validator for the options of the provider named <paramref name="name"/>.</summary>
    public BlobGrainStorageOptionsValidator(BlobGrainStorageOptions options, string name)
    {
        _options = options;
        _name = name;
    }

    /// <inheritdoc/>
    public void ValidateConfiguration()
    {
        if (string.IsNullOrWhiteSpace(_options.ConnectionString) && _options.ServiceUri is null)
        {
            throw Invalid($"{nameof(BlobGrainStorageOptions.ConnectionString)} or {nameof(BlobGrainStorageOptions.ServiceUri)} is required.");
        }

        if (ContainerNameProblem(_options.ContainerName) is { } problem)
        {
            throw Invalid($"{nameof(BlobGrainStorageOptions.ContainerName)}: {problem}");
        }

        if (_options.GrainStorageSerializer is null)
        {
            throw Invalid($"{nameof(BlobGrainStorageOptions.GrainStorageSerializer)} is required (no IGrainStorageSerializer is registered).");
        }
    }

    /// <summary>Why <paramref name="container"/> is not a valid container name, or <see langword="null"/> when it is.</summary>
    public static string? ContainerNameProblem(string? container)
    {
        // Azure's rule: 3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.
        container ??= string.Empty;
        return container.Length is < 3 or > 63 || !container.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
            || container[0] == '-' || container[^1] == '-' || container.Contains("--", StringComparison.Ordinal)
            ? $"'{container}' is not a valid container name (3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit)"
            : null;
    }

    private OrleansConfigurationException Invalid(string reason) =>
        new($"Invalid configuration for {nameof(BlobGrainStorage)} named '{_name}': {nameof(BlobGrainStorageOptions)}.{reason}");
}

/// <summary>Registers <see cref="BlobGrainStorage"/>, the way Orleans registers its own providers.</summary>
public static class BlobGrainStorageServiceCollectionExtensions
{
    /// <summary>Adds blob grain storage under <paramref name="name"/>.</summary>
    public static IServiceCollection AddBlobGrainStorage(this IServiceCollection services, string name, Action<BlobGrainStorageOptions> configureOptions)
    {
        ArgumentNullException.ThrowIfNull(configureOptions);
        return services.AddBlobGrainStorage(name, builder => builder.Configure(configureOptions));
    }

    /// <summary>Adds blob grain storage under <paramref name="name"/>; the options builder can bind the options from configuration.</summary>
    public static IServiceCollection AddBlobGrainStorage(this IServiceCollection services, string name, Action<OptionsBuilder<BlobGrainStorageOptions>>? configureOptions = null)
    {
        return GrainStorageRegistration.Add<BlobGrainStorageOptions, BlobGrainStorage>(services, name, configureOptions, (options, storageName) => new BlobGrainStorageOptionsValidator(options, storageName));
    }

    /// <summary>Adds blob grain storage under <paramref name="name"/> to a silo.</summary>
    public static ISiloBuilder AddBlobGrainStorage(this ISiloBuilder builder, string name, Action<BlobGrainStorageOptions> configureOptions) =>
        builder.ConfigureServices(services => services.AddBlobGrainStorage(name, configureOptions));

    /// <summary>Creates the storage named <paramref name="name"/> from its named options.</summary>
    public static BlobGrainStorage Create(IServiceProvider services, string name) =>
        GrainStorageRegistration.Create<BlobGrainStorageOptions, BlobGrainStorage>(services, name);
}
