using OrleansShards.Grains;

namespace OrleansShards.Silo.Hosting;

/// <summary>Wires <c>Microsoft.Orleans.Hosting.Kubernetes</c> into the silo when configuration asks for it.</summary>
public static class KubernetesConfiguration
{
    /// <summary>
    /// Calls <c>UseKubernetesHosting</c> when <c>Shards:Kubernetes:Enabled</c> is true. The pod's
    /// <c>POD_NAME</c>, <c>POD_NAMESPACE</c>, <c>POD_IP</c>, <c>ORLEANS_SERVICE_ID</c> and
    /// <c>ORLEANS_CLUSTER_ID</c> (from the downward API) then override the silo name and the cluster
    /// options. The advertised address stays <c>Shards:AdvertisedIp</c> where the clustering sets one:
    /// the Deployment passes the pod's IP as <c>Shards__AdvertisedIp=$(POD_IP)</c>.
    /// </summary>
    public static ISiloBuilder UseShardsKubernetesHosting(this ISiloBuilder silo, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(configuration);
        var settings = configuration.GetSection(KubernetesSettings.Section).Get<KubernetesSettings>() ?? new KubernetesSettings();
        if (!settings.Enabled)
        {
            return silo;
        }

        var clustering = configuration[$"{ShardsOptions.Section}:Clustering"] ?? SiloHostOptions.LocalhostClustering;
        if (string.Equals(clustering.Trim(), SiloHostOptions.LocalhostClustering, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(
                $"{KubernetesSettings.Section}:Enabled is true but Shards:Clustering is '{clustering}': silos in several pods need a shared membership table (postgres, redis or azuretable)");
        }

        if (settings.MaxAgents < 1)
        {
            throw new InvalidOperationException($"{KubernetesSettings.Section}:MaxAgents is {settings.MaxAgents}; it must be at least 1");
        }

        return silo.UseKubernetesHosting(options => options.Configure(o =>
        {
            o.MaxAgents = settings.MaxAgents;
            o.DeleteDefunctSiloPods = settings.DeleteDefunctSiloPods;
        }));
    }
}
