using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace OrleansShards.Client;

/// <summary>A started host holding a connected <see cref="IClusterClient"/>; disposing it leaves the cluster.</summary>
public sealed class ShardsClusterConnection : IAsyncDisposable
{
    private readonly IHost _host;

    internal ShardsClusterConnection(IHost host)
    {
        _host = host;
        Client = host.Services.GetRequiredService<IClusterClient>();
    }

    /// <summary>The client: <c>Client.GetGrain&lt;IJobGrain&gt;(jobId)</c>.</summary>
    public IClusterClient Client { get; }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync().ConfigureAwait(false);
        _host.Dispose();
    }
}
