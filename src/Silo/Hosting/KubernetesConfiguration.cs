using Orleans.Hosting.Kubernetes;
using OrleansShards.Grains;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Settings of Orleans' Kubernetes hosting, bound from <c>Shards:Kubernetes</c>. It is switched on
/// explicitly (<see cref="Enabled"/>), not by sensing <c>KUBERNETES_SERVICE_HOST</c>: a silo image
/// also runs in pods that are no cluster member (the <c>migrate</c> Job, a test runner in CI), and
/// there the hosting would ask the API server for pods it has no right to see.
/// </summary>
public sealed class KubernetesSettings
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Shards:Kubernetes";

    /// <summary>Run Orleans' Kubernetes cluster agent: silo name, advertised IP, cluster and service ids from the pod, and pod watching.</summary>
    public bool Enabled { get; set; }

    /// <summary>How many silos watch the Kubernetes API for deleted pods (Orleans' default: 2); fewer means less load on the API server.</summary>
    public int MaxAgents { get; set; } = 2;

    /// <summary>
    /// Delete the pod of a silo the cluster declared dead, so its Deployment replaces a pod that hangs
    /// instead of exiting. Needs the <c>delete</c> verb on pods (deploy/k8s/rbac.yaml grants it).
    /// </summary>
    public bool DeleteDefunctSiloPods { get; set; }
}

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
