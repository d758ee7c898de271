using OrleansShards.Testing.Servers;

[assembly: AssemblyFixture(typeof(OrleansShards.Providers.Tests.Storage.StorageRedisServer))]

namespace OrleansShards.Providers.Tests.Storage;

/// <summary>A real <c>redis-server --bind 127.0.0.1 --port P --save ""</c>, started on first use.</summary>
public sealed class StorageRedisServer : StorageServer<ServerProcess>
{
    /// <inheritdoc/>
    protected override Task<ServerProcess> StartAsync() => LocalServers.StartRedisAsync();
}
