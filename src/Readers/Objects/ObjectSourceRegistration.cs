using Microsoft.Extensions.Options;
using OrleansShards.Readers;
using OrleansShards.Readers.Objects;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the object store sources (<c>s3</c>, <c>azureblob</c>) with a host.</summary>
public static class ObjectSourceRegistration
{
    /// <summary>Adds the reader of object stores, through the connections of <see cref="SourceConnectionsOptions"/>.</summary>
    public static IServiceCollection AddObjectSources(this IServiceCollection services, ObjectSourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return services.AddSingleton<ISourceAdapter>(sp => new ObjectSourceAdapter(sp.GetRequiredService<IOptions<SourceConnectionsOptions>>().Value, options));
    }
}
