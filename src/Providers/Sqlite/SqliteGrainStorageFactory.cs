using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OrleansShards.Providers.Sqlite;

/// <summary>
/// Creates <see cref="SqliteGrainStorage"/> instances for <c>AddGrainStorage</c>, one per provider name.
/// </summary>
public static class SqliteGrainStorageFactory
{
    /// <summary>
    /// Creates the storage named <paramref name="name"/> from its named <see cref="SqliteGrainStorageOptions"/>.
    /// </summary>
    public static SqliteGrainStorage Create(IServiceProvider services, string name)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.GetRequiredService<IOptionsMonitor<SqliteGrainStorageOptions>>().Get(name);
        return ActivatorUtilities.CreateInstance<SqliteGrainStorage>(services, name, options);
    }
}
