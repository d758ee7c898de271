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
