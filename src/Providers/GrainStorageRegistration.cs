using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;
using Orleans.Storage;

namespace OrleansShards.Providers;

/// <summary>
/// What registering each of our grain storage providers does alike, the way Orleans registers its own: named
/// options, their validator, the default serializer, logged options, and the storage created from the named options.
/// </summary>
internal static class GrainStorageRegistration
{
    /// <summary>Registers <typeparamref name="TStorage"/> under <paramref name="name"/> with its options and <paramref name="validator"/>.</summary>
    public static IServiceCollection Add<TOptions, TStorage>(
        IServiceCollection services, string name, Action<OptionsBuilder<TOptions>>? configureOptions, Func<TOptions, string, IConfigurationValidator> validator)
        where TOptions : class, IStorageProviderSerializerOptions
        where TStorage : IGrainStorage
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(name);
        configureOptions?.Invoke(services.AddOptions<TOptions>(name));
        services.AddTransient(sp => validator(sp.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name), name));
        services.AddTransient<IPostConfigureOptions<TOptions>, DefaultStorageProviderSerializerOptionsConfigurator<TOptions>>();
        services.ConfigureNamedOptionForLogging<TOptions>(name);
        return services.AddGrainStorage(name, (sp, storageName) => Create<TOptions, TStorage>(sp, storageName));
    }

    /// <summary>Creates the storage named <paramref name="name"/> from its named options.</summary>
    public static TStorage Create<TOptions, TStorage>(IServiceProvider services, string name)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name);
        return ActivatorUtilities.CreateInstance<TStorage>(services, name, options);
    }
}
