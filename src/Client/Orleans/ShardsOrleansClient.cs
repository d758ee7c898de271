using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace OrleansShards.Client;

/// <summary>
/// Joins an OrleansShards cluster as an Orleans <see cref="IClusterClient"/>: the grain contracts of
/// <c>OrleansShards.GrainInterfaces</c> (<c>IJobGrain</c>, <c>IWorkerGrain</c>, ...) and their serializers come
/// with this assembly, so an application calls the grains as the silo's own HTTP API does.
/// </summary>
public static class ShardsOrleansClient
{
    /// <summary>
    /// Adds the Orleans client of an OrleansShards cluster to a host: static gateways, cluster and service ids
    /// from <c>Shards:Cluster</c> then <paramref name="configure"/>, and retries of the first connection for
    /// <see cref="ShardsClusterOptions.ConnectTimeout"/>.
    /// </summary>
    /// <param name="builder">The host.</param>
    /// <param name="configure">Changes to the options read from configuration.</param>
    /// <param name="configureClient">More of Orleans' client settings (another clustering provider, say).</param>
    public static IHostApplicationBuilder AddShardsClusterClient(
        this IHostApplicationBuilder builder, Action<ShardsClusterOptions>? configure = null, Action<IClientBuilder>? configureClient = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Configuration.GetSection(ShardsClusterOptions.Section).Get<ShardsClusterOptions>() ?? new ShardsClusterOptions();
        configure?.Invoke(options);
        var gateways = options.GatewayEndpoints();
        builder.UseOrleansClient(client =>
        {
            client.UseStaticClustering(gateways);
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = options.ClusterId;
                o.ServiceId = options.ServiceId;
            });
            DateTimeOffset? giveUpAt = null;
            client.UseConnectionRetryFilter(async (_, cancellationToken) =>
            {
                giveUpAt ??= DateTimeOffset.UtcNow + options.ConnectTimeout;
                if (DateTimeOffset.UtcNow >= giveUpAt)
                {
                    return false;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
                return true;
            });
            configureClient?.Invoke(client);
        });
        return builder;
    }

    /// <summary>
    /// Starts a host holding only the cluster client and returns it connected: for console tools and tests
    /// that want a client, not a host. Dispose it to leave the cluster.
    /// </summary>
    /// <exception cref="Orleans.Runtime.SiloUnavailableException">No gateway answered within the connect timeout.</exception>
    /// <param name="options">Where the cluster is.</param>
    /// <param name="cancellationToken">Gives up connecting.</param>
    /// <param name="configureClient">More of Orleans' client settings (a stream provider, say).</param>
    public static async Task<ShardsClusterConnection> ConnectAsync(ShardsClusterOptions options, CancellationToken cancellationToken = default, Action<IClientBuilder>? configureClient = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.AddShardsClusterClient(o =>
        {
            o.ClusterId = options.ClusterId;
            o.ServiceId = options.ServiceId;
            o.Gateways = [.. options.Gateways];
            o.ConnectTimeout = options.ConnectTimeout;
        },
        configureClient);
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return new ShardsClusterConnection(host);
    }
}
