using OrleansShards.Testing.Servers;

[assembly: AssemblyFixture(typeof(OrleansShards.Providers.Tests.Storage.StorageAzuriteServer))]

namespace OrleansShards.Providers.Tests.Storage;

/// <summary>A real Azurite blob service (npm, <c>--skipApiVersionCheck</c>), started on first use.</summary>
public sealed class StorageAzuriteServer : StorageServer<ServerProcess>
{
    /// <inheritdoc/>
    protected override Task<ServerProcess> StartAsync() => LocalServers.StartAzuriteAsync();
}
