using System.Net;

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
