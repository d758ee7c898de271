using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace OrleansShards.Client;

/// <summary>
/// How an application joins an OrleansShards cluster as an Orleans client, bound from <c>Shards:Cluster</c>
/// (<c>Shards__Cluster__Gateways__0=10.0.0.5:30000</c> in the environment).
/// </summary>
public sealed class ShardsClusterOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Shards:Cluster";

    /// <summary>The gateway of a silo started with the defaults on this machine.</summary>
    public const string LocalGateway = "127.0.0.1:30000";

    /// <summary>The cluster id; the silo's <c>Shards:ClusterId</c>.</summary>
    public string ClusterId { get; set; } = "orleans-shards";

    /// <summary>The service id; the silo's <c>Shards:ServiceId</c>.</summary>
    public string ServiceId { get; set; } = "orleans-shards";

    /// <summary>
    /// Silo gateways as <c>host:port</c> (the silos' <c>Shards:GatewayPort</c>); <see cref="LocalGateway"/> when empty.
    /// The client spreads its calls over them and finds the rest of the cluster through them.
    /// </summary>
    public List<string> Gateways { get; set; } = [];

    /// <summary>How long to keep trying to reach a gateway at start (a silo still starting, a container not up yet).</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The gateways as endpoints; host names are resolved now.</summary>
    /// <exception cref="ArgumentException">A gateway is not <c>host:port</c>, or its host does not resolve.</exception>
    public IPEndPoint[] GatewayEndpoints()
    {
        var gateways = Gateways.Count == 0 ? [LocalGateway] : Gateways;
        return gateways.Select(Parse).ToArray();
    }

    private static IPEndPoint Parse(string gateway)
    {
        var colon = gateway.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(gateway.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"{Section}:Gateways: '{gateway}' is not host:port (e.g. {LocalGateway})", nameof(gateway));
        }

        var host = gateway[..colon].Trim('[', ']');
        if (IPAddress.TryParse(host, out var address))
        {
            return new IPEndPoint(address, port);
        }

        var addresses = Dns.GetHostAddresses(host);
        return addresses.Length > 0
            ? new IPEndPoint(addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? addresses[0], port)
            : throw new ArgumentException($"{Section}:Gateways: host '{host}' of '{gateway}' does not resolve", nameof(gateway));
    }
}

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
