using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Storage;
using OrleansShards.Providers.Files;
using OrleansShards.Providers.Postgres;
using OrleansShards.Providers.Sqlite;

namespace OrleansShards.Providers.Tests.Storage;

/// <summary>
/// Like Orleans' own providers, ours can be picked by an application's configuration alone:
/// <c>Orleans:GrainStorage:{name}:ProviderType</c> and the options beside it.
/// </summary>
public sealed class ProviderTypeTests
{
    [Theory]
    [InlineData("Sqlite", "DataSource", "/tmp/x/state.db", typeof(SqliteGrainStorage))]
    [InlineData("ShardsPostgres", "ConnectionString", "Host=127.0.0.1;Username=u;Database=d", typeof(PostgresGrainStorage))]
    [InlineData("ShardsFile", "Directory", "/tmp/x/grains", typeof(FileGrainStorage))]
    public void A_provider_type_in_configuration_registers_the_provider(string providerType, string key, string value, Type expected)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Orleans:GrainStorage:picked:ProviderType"] = providerType,
            [$"Orleans:GrainStorage:picked:{key}"] = value,
        });
        builder.UseOrleans(silo => silo.UseLocalhostClustering());
        using var host = builder.Build();
        Assert.IsType(expected, host.Services.GetRequiredKeyedService<IGrainStorage>("picked"));
    }
}
