using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Deploy.Tests;

/// <summary>
/// The rules deploy/k8s must keep. Each check returns its problems, one sentence each naming the
/// object and the reason, so a test asserts none and the broken-manifest tests assert the one expected.
/// </summary>
public static class ManifestChecks
{
    /// <summary>What Microsoft.Orleans.Hosting.Kubernetes asks of the API server, about pods of its own namespace.</summary>
    /// <remarks>
    /// Read from src/Orleans.Hosting.Kubernetes/KubernetesClusterAgent.cs (dotnet/orleans; the
    /// Microsoft.Orleans.Hosting.Kubernetes 10.4.2 assembly references the same client calls:
    /// ReadNamespacedPodAsync, PatchNamespacedPodAsync, WatchListNamespacedPodAsync, DeleteNamespacedPodAsync).
    /// Silo.Tests' KubernetesHostingTests runs the agent against a recording API server: it asks get,
    /// patch, list and watch on pods of its namespace, and nothing the Role does not grant.
    /// </remarks>
    public static readonly IReadOnlyList<(string Resource, string Verb, string Call)> KubernetesHostingCalls =
    [
        ("pods", "get", "ReadNamespacedPodAsync: AddClusterOptionsToPodLabels reads the silo's own pod"),
        ("pods", "patch", "PatchNamespacedPodAsync: AddClusterOptionsToPodLabels sets orleans/serviceId and orleans/clusterId on it"),
        ("pods", "list", "ListNamespacedPodAsync: OnStart lists the cluster's pods by those labels"),
        ("pods", "watch", "WatchListNamespacedPodAsync: MonitorKubernetesPods watches them for deletions"),
    ];

    /// <summary>Asked only with <c>DeleteDefunctSiloPods</c> (<c>Shards__Kubernetes__DeleteDefunctSiloPods</c>).</summary>
    public static readonly (string Resource, string Verb, string Call) DeleteDefunctPods =
        ("pods", "delete", "DeleteNamespacedPodAsync: MonitorOrleansClustering deletes the pod of a silo declared dead");

    /// <summary>Every check, by name.</summary>
    public static IReadOnlyDictionary<string, Func<Manifests, IReadOnlyList<string>>> All { get; } = new Dictionary<string, Func<Manifests, IReadOnlyList<string>>>
    {
        [nameof(Namespaces)] = Namespaces,
        [nameof(Selectors)] = Selectors,
        [nameof(Services)] = Services,
        [nameof(References)] = References,
        [nameof(Probes)] = Probes,
        [nameof(Rbac)] = Rbac,
        [nameof(Disruption)] = Disruption,
        [nameof(Resources)] = Resources,
        [nameof(NonRoot)] = NonRoot,
        [nameof(Shutdown)] = Shutdown,
        [nameof(SiloPods)] = SiloPods,
        [nameof(SecretsNotInlined)] = SecretsNotInlined,
        [nameof(Kustomization)] = Kustomization,
        [nameof(SharedState)] = SharedState,
    };

    /// <summary>
    /// Under a multi-silo clustering every silo pod keeps its state where all silos see it: the log store and the
    /// grain storage are shared services, never the per-pod SQLite files or directories on the data volume (the
    /// silo refuses those at start; this finds it before a rollout does).
    /// </summary>
    public static IReadOnlyList<string> SharedState(Manifests m)
    {
        var problems = new List<string>();
        foreach (var w in m.Workloads().Where(w => w.Kind == "Deployment"))
        {
            foreach (var c in w.Template.Spec.Containers)
            {
                var env = EffectiveEnv(m, w, c);
                var clustering = env.GetValueOrDefault("Shards__Clustering", "localhost");
                if (clustering == "localhost")
                {
                    continue;
                }

                var log = env.GetValueOrDefault("Shards__LogStore__Provider", "sqlite");
                if (log != "postgres")
                {
                    problems.Add($"{w}, container {c.Name}: Shards__LogStore__Provider is '{log}' under Shards__Clustering '{clustering}': every pod would have its own topics; use postgres");
                }

                var storage = env.GetValueOrDefault("Shards__Storage__Provider", "sqlite");
                if (storage is not ("postgres" or "redis" or "blob"))
                {
                    problems.Add($"{w}, container {c.Name}: Shards__Storage__Provider is '{storage}' under Shards__Clustering '{clustering}': every pod would have its own grain state");
                }
            }
        }

        return problems;
    }

    /// <summary>kustomization.yaml applies every manifest, and not the Secret template.</summary>
    public static IReadOnlyList<string> Kustomization(Manifests m)
    {
        if (!m.Files.TryGetValue(Manifests.Kustomization, out var text))
        {
            return [$"there is no {Manifests.Kustomization}"];
        }

        var listed = System.Text.RegularExpressions.Regex.Matches(text, @"^\s+-\s+(\S+\.yaml)\s*$", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(x => x.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var problems = new List<string>();
        problems.AddRange(m.Files.Keys.Where(f => f is not Manifests.Kustomization and not Manifests.SecretTemplate && !listed.Contains(f)).Select(f => $"{Manifests.Kustomization} does not apply {f}"));
        problems.AddRange(listed.Where(f => !m.Files.ContainsKey(f)).Select(f => $"{Manifests.Kustomization} lists {f}, which does not exist"));
        if (listed.Contains(Manifests.SecretTemplate))
        {
            problems.Add($"{Manifests.Kustomization} applies {Manifests.SecretTemplate}: its placeholder values would become the real secrets");
        }

        return problems;
    }

    /// <summary>Every object but the Namespace lives in the namespace the manifests create.</summary>
    public static IReadOnlyList<string> Namespaces(Manifests m)
    {
        var problems = new List<string>();
        var namespaces = m.Applied<V1Namespace>().Select(n => n.Metadata.Name).ToHashSet();
        if (namespaces.Count == 0)
        {
            problems.Add("no Namespace is created");
        }

        foreach (var (file, resource) in m.Resources)
        {
            if (resource is IKubernetesObject<V1ObjectMeta> { Metadata: var meta } obj && resource is not V1Namespace && !namespaces.Contains(meta.NamespaceProperty ?? ""))
            {
                problems.Add($"{obj.Kind} {meta.Name} ({file}) is in namespace '{meta.NamespaceProperty}', not one the manifests create");
            }
        }

        return problems;
    }

    /// <summary>Every Deployment, StatefulSet and Job selector matches its own pod template's labels.</summary>
    public static IReadOnlyList<string> Selectors(Manifests m)
    {
        var problems = new List<string>();
        foreach (var w in m.Workloads())
        {
            if (w.Selector is null)
            {
                if (w.Kind != "Job")
                {
                    problems.Add($"{w} has no selector");
                }

                continue;
            }

            if (w.Selector.MatchExpressions is { Count: > 0 })
            {
                problems.Add($"{w} uses matchExpressions, which these checks do not evaluate");
            }

            if (w.Selector.MatchLabels is not { Count: > 0 })
            {
                problems.Add($"{w} has an empty selector");
            }
            else if (!Selects(w.Selector.MatchLabels, w.Labels))
            {
                problems.Add($"{w}: selector {Show(w.Selector.MatchLabels)} does not match its pod labels {Show(w.Labels)}");
            }
        }

        return problems;
    }

    /// <summary>Every Service selects some pod template, and its target ports are ports of the containers it selects.</summary>
    public static IReadOnlyList<string> Services(Manifests m)
    {
        var problems = new List<string>();
        var workloads = m.Workloads().ToList();
        foreach (var service in m.Applied<V1Service>())
        {
            var name = $"Service {service.Metadata.Name}";
            if (service.Spec.Selector is not { Count: > 0 } selector)
            {
                problems.Add($"{name} has no selector");
                continue;
            }

            var selected = workloads.Where(w => w.Namespace == service.Metadata.NamespaceProperty && Selects(selector, w.Labels)).ToList();
            if (selected.Count == 0)
            {
                problems.Add($"{name}: selector {Show(selector)} selects no pod template");
                continue;
            }

            foreach (var port in service.Spec.Ports ?? [])
            {
                var target = port.TargetPort?.Value ?? port.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
                foreach (var w in selected.Where(w => !w.Template.Spec.Containers.Any(c => HasPort(c, target))))
                {
                    problems.Add($"{name}: port {port.Name ?? port.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)} targets '{target}', which no container of {w} exposes");
                }
            }
        }

        foreach (var set in m.Applied<V1StatefulSet>())
        {
            var governing = m.Applied<V1Service>().FirstOrDefault(s => s.Metadata.Name == set.Spec.ServiceName && s.Metadata.NamespaceProperty == set.Metadata.NamespaceProperty);
            if (governing is null)
            {
                problems.Add($"StatefulSet {set.Metadata.Name}: serviceName '{set.Spec.ServiceName}' is no Service of its namespace");
            }
            else if (governing.Spec.Selector is null || !Selects(governing.Spec.Selector, set.Spec.Template.Metadata.Labels))
            {
                problems.Add($"StatefulSet {set.Metadata.Name}: its Service {governing.Metadata.Name} does not select its pods");
            }

            if (set.Spec.VolumeClaimTemplates is not { Count: > 0 })
            {
                problems.Add($"StatefulSet {set.Metadata.Name} has no volumeClaimTemplates: its data would not outlive the pod");
            }
        }

        return problems;
    }

    /// <summary>Every ConfigMap and Secret a pod refers to (envFrom, env valueFrom, volumes) exists, with the keys it names.</summary>
    public static IReadOnlyList<string> References(Manifests m)
    {
        var problems = new List<string>();
        foreach (var w in m.Workloads())
        {
            var volumes = w.Template.Spec.Volumes ?? [];
            foreach (var c in w.AllContainers)
            {
                var where = $"{w}, container {c.Name}";
                foreach (var from in c.EnvFrom ?? [])
                {
                    if (from.ConfigMapRef is { } cm && FindConfigMap(m, w.Namespace, cm.Name) is null && cm.Optional != true)
                    {
                        problems.Add($"{where}: envFrom ConfigMap '{cm.Name}' does not exist");
                    }

                    if (from.SecretRef is { } s && FindSecretKeys(m, w.Namespace, s.Name) is null && s.Optional != true)
                    {
                        problems.Add($"{where}: envFrom Secret '{s.Name}' does not exist");
                    }
                }

                foreach (var env in c.Env ?? [])
                {
                    if (env.ValueFrom?.ConfigMapKeyRef is { } cmk && FindConfigMap(m, w.Namespace, cmk.Name)?.Data?.ContainsKey(cmk.Key) != true && cmk.Optional != true)
                    {
                        problems.Add($"{where}: env {env.Name} refers to key '{cmk.Key}' of ConfigMap '{cmk.Name}', which does not exist");
                    }

                    if (env.ValueFrom?.SecretKeyRef is { } sk && FindSecretKeys(m, w.Namespace, sk.Name)?.Contains(sk.Key) != true && sk.Optional != true)
                    {
                        problems.Add($"{where}: env {env.Name} refers to key '{sk.Key}' of Secret '{sk.Name}', which does not exist");
                    }
                }

                foreach (var mount in c.VolumeMounts ?? [])
                {
                    if (volumes.All(v => v.Name != mount.Name) && !w.Claims.Contains(mount.Name))
                    {
                        problems.Add($"{where}: mounts volume '{mount.Name}', which the pod does not declare");
                    }
                }
            }

            foreach (var volume in volumes)
            {
                if (volume.Secret is { } secret)
                {
                    var keys = FindSecretKeys(m, w.Namespace, secret.SecretName);
                    if (keys is null)
                    {
                        problems.Add($"{w}: volume {volume.Name} mounts Secret '{secret.SecretName}', which does not exist");
                    }
                    else
                    {
                        problems.AddRange((secret.Items ?? []).Where(i => !keys.Contains(i.Key)).Select(i => $"{w}: volume {volume.Name} mounts key '{i.Key}' of Secret '{secret.SecretName}', which it does not have"));
                    }
                }

                if (volume.ConfigMap is { } cm)
                {
                    var map = FindConfigMap(m, w.Namespace, cm.Name);
                    if (map is null)
                    {
                        problems.Add($"{w}: volume {volume.Name} mounts ConfigMap '{cm.Name}', which does not exist");
                    }
                    else
                    {
                        problems.AddRange((cm.Items ?? []).Where(i => map.Data?.ContainsKey(i.Key) != true).Select(i => $"{w}: volume {volume.Name} mounts key '{i.Key}' of ConfigMap '{cm.Name}', which it does not have"));
                    }
                }
            }
        }

        return problems;
    }

    /// <summary>Every probe port (by number or name) is a port of its container.</summary>
    public static IReadOnlyList<string> Probes(Manifests m)
    {
        var problems = new List<string>();
        foreach (var w in m.Workloads())
        {
            foreach (var c in w.AllContainers)
            {
                foreach (var (kind, probe) in new[] { ("startup", c.StartupProbe), ("readiness", c.ReadinessProbe), ("liveness", c.LivenessProbe) })
                {
                    var port = probe?.HttpGet?.Port.Value ?? probe?.TcpSocket?.Port.Value ?? probe?.Grpc?.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    if (port is not null && !HasPort(c, port))
                    {
                        problems.Add($"{w}, container {c.Name}: the {kind} probe's port '{port}' is not a port of the container");
                    }
                }
            }
        }

        return problems;
    }

    /// <summary>
    /// Every pod that runs Kubernetes hosting has a ServiceAccount that a RoleBinding of its namespace
    /// binds to a Role granting every call the hosting makes (<see cref="KubernetesHostingCalls"/>).
    /// </summary>
    public static IReadOnlyList<string> Rbac(Manifests m)
    {
        var problems = new List<string>();
        foreach (var binding in m.Applied<V1RoleBinding>())
        {
            if (binding.RoleRef.Kind == "Role" && !m.Applied<V1Role>().Any(r => r.Metadata.Name == binding.RoleRef.Name && r.Metadata.NamespaceProperty == binding.Metadata.NamespaceProperty))
            {
                problems.Add($"RoleBinding {binding.Metadata.Name} refers to Role '{binding.RoleRef.Name}', which does not exist in its namespace");
            }
        }

        foreach (var w in m.Workloads())
        {
            foreach (var c in w.Template.Spec.Containers)
            {
                var env = EffectiveEnv(m, w, c);
                if (!IsTrue(env, "Shards__Kubernetes__Enabled"))
                {
                    continue;
                }

                var account = w.Template.Spec.ServiceAccountName ?? "default";
                if (!m.Applied<V1ServiceAccount>().Any(a => a.Metadata.Name == account && a.Metadata.NamespaceProperty == w.Namespace))
                {
                    problems.Add($"{w} runs as ServiceAccount '{account}', which the manifests do not create");
                }

                if (w.Template.Spec.AutomountServiceAccountToken == false)
                {
                    problems.Add($"{w} runs Kubernetes hosting but does not mount its ServiceAccount token");
                }

                var rules = m.Applied<V1RoleBinding>()
                    .Where(b => b.Metadata.NamespaceProperty == w.Namespace && b.RoleRef.Kind == "Role"
                        && (b.Subjects ?? []).Any(s => s.Kind == "ServiceAccount" && s.Name == account && (s.NamespaceProperty ?? b.Metadata.NamespaceProperty) == w.Namespace))
                    .SelectMany(b => m.Applied<V1Role>().Where(r => r.Metadata.Name == b.RoleRef.Name && r.Metadata.NamespaceProperty == w.Namespace))
                    .SelectMany(r => r.Rules ?? [])
                    .ToList();
                var required = KubernetesHostingCalls.ToList();
                if (IsTrue(env, "Shards__Kubernetes__DeleteDefunctSiloPods"))
                {
                    required.Add(DeleteDefunctPods);
                }

                foreach (var (resource, verb, call) in required)
                {
                    if (!rules.Any(r => Grants(r, resource, verb)))
                    {
                        problems.Add($"{w}: no Role bound to ServiceAccount '{account}' grants '{verb}' on {resource}, which Kubernetes hosting needs ({call})");
                    }
                }
            }
        }

        return problems;
    }

    /// <summary>Every PodDisruptionBudget selects pods, and still lets one of them be evicted.</summary>
    public static IReadOnlyList<string> Disruption(Manifests m)
    {
        var problems = new List<string>();
        var workloads = m.Workloads().ToList();
        foreach (var pdb in m.Applied<V1PodDisruptionBudget>())
        {
            var selected = workloads.Where(w => w.Namespace == pdb.Metadata.NamespaceProperty && pdb.Spec.Selector?.MatchLabels is { Count: > 0 } labels && Selects(labels, w.Labels)).ToList();
            if (selected.Count == 0)
            {
                problems.Add($"PodDisruptionBudget {pdb.Metadata.Name}: selector selects no pod template");
                continue;
            }

            foreach (var w in selected.Where(w => w.Replicas is not null))
            {
                if (int.TryParse(pdb.Spec.MinAvailable?.Value, out var min) && min >= w.Replicas)
                {
                    problems.Add($"PodDisruptionBudget {pdb.Metadata.Name}: minAvailable {min} of {w.Replicas} replicas of {w} blocks every eviction (node drains hang)");
                }
            }
        }

        return problems;
    }

    /// <summary>Every container, init containers included, requests and limits CPU and memory, requests within limits.</summary>
    public static IReadOnlyList<string> Resources(Manifests m)
    {
        var problems = new List<string>();
        foreach (var w in m.Workloads())
        {
            foreach (var c in w.AllContainers)
            {
                foreach (var resource in new[] { "cpu", "memory" })
                {
                    ResourceQuantity? request = null;
                    ResourceQuantity? limit = null;
                    if (c.Resources?.Requests?.TryGetValue(resource, out request) != true)
                    {
                        problems.Add($"{w}, container {c.Name} requests no {resource}");
                    }

                    if (c.Resources?.Limits?.TryGetValue(resource, out limit) != true)
                    {
                        problems.Add($"{w}, container {c.Name} has no {resource} limit");
                    }

                    if (request is not null && limit is not null && request.ToDecimal() > limit.ToDecimal())
                    {
                        problems.Add($"{w}, container {c.Name} requests more {resource} ({request}) than its limit ({limit})");
                    }
                }
            }
        }

        return problems;
    }

    /// <summary>Every container runs as a user other than root and cannot gain privileges.</summary>
    public static IReadOnlyList<string> NonRoot(Manifests m)
    {
        var problems = new List<string>();
        foreach (var w in m.Workloads())
        {
            var pod = w.Template.Spec.SecurityContext;
            foreach (var c in w.AllContainers)
            {
                var nonRoot = c.SecurityContext?.RunAsNonRoot ?? pod?.RunAsNonRoot;
                var user = c.SecurityContext?.RunAsUser ?? pod?.RunAsUser;
                if (nonRoot != true)
                {
                    problems.Add($"{w}, container {c.Name} does not set runAsNonRoot");
                }

                if (user == 0)
                {
                    problems.Add($"{w}, container {c.Name} runs as user 0 (root)");
                }

                if (c.SecurityContext?.AllowPrivilegeEscalation != false)
                {
                    problems.Add($"{w}, container {c.Name} does not set allowPrivilegeEscalation: false");
                }
            }
        }

        return problems;
    }

    /// <summary>
    /// Every Deployment's grace period outlasts the silo's shutdown timeout: the host's
    /// <see cref="HostOptions.ShutdownTimeout"/>, computed by the silo's host builder from the container's settings.
    /// </summary>
    public static IReadOnlyList<string> Shutdown(Manifests m)
    {
        var problems = new List<string>();
        foreach (var w in m.Workloads().Where(w => w.Kind == "Deployment"))
        {
            // Kubernetes' default grace period is 30 s.
            var grace = TimeSpan.FromSeconds(w.Template.Spec.TerminationGracePeriodSeconds ?? 30);
            foreach (var c in w.Template.Spec.Containers)
            {
                var timeout = HostShutdownTimeout(EffectiveEnv(m, w, c));
                if (grace <= timeout)
                {
                    problems.Add($"{w}: terminationGracePeriodSeconds {grace.TotalSeconds} does not outlast the host's shutdown timeout of {timeout.TotalSeconds} s in container {c.Name}: SIGKILL would cut the silo's shutdown short");
                }
            }
        }

        return problems;
    }

    /// <summary>
    /// Pods that run Kubernetes hosting carry the Orleans labels, get the pod's name, namespace and IP
    /// and the cluster ids from the downward API, expose http/silo/gateway on the ports the settings
    /// name, and probe /readyz and /healthz.
    /// </summary>
    public static IReadOnlyList<string> SiloPods(Manifests m)
    {
        var problems = new List<string>();
        var silos = 0;
        foreach (var w in m.Workloads())
        {
            foreach (var c in w.Template.Spec.Containers)
            {
                var env = EffectiveEnv(m, w, c);
                if (!IsTrue(env, "Shards__Kubernetes__Enabled"))
                {
                    continue;
                }

                silos++;
                var where = $"{w}, container {c.Name}";
                foreach (var (variable, field) in new[] { ("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace"), ("POD_IP", "status.podIP") })
                {
                    var found = c.Env?.FirstOrDefault(e => e.Name == variable)?.ValueFrom?.FieldRef?.FieldPath;
                    if (found != field)
                    {
                        problems.Add($"{where}: env {variable} must come from the downward API field {field}, not '{found}'");
                    }
                }

                foreach (var (variable, label, setting) in new[] { ("ORLEANS_SERVICE_ID", "orleans/serviceId", "Shards__ServiceId"), ("ORLEANS_CLUSTER_ID", "orleans/clusterId", "Shards__ClusterId") })
                {
                    if (!w.Labels.TryGetValue(label, out var labelValue))
                    {
                        problems.Add($"{w}: the pod template lacks the label {label} that Kubernetes hosting selects silo pods by");
                        continue;
                    }

                    var entry = c.Env?.FirstOrDefault(e => e.Name == variable);
                    var value = entry?.ValueFrom?.FieldRef?.FieldPath == $"metadata.labels['{label}']" ? labelValue : entry?.Value;
                    if (value != labelValue)
                    {
                        problems.Add($"{where}: env {variable} is '{value}', not the pod label {label} '{labelValue}'");
                    }

                    if (env.TryGetValue(setting, out var configured) && configured != labelValue)
                    {
                        problems.Add($"{where}: {setting} is '{configured}' but the pod label {label} is '{labelValue}'");
                    }
                }

                if (env.GetValueOrDefault("Shards__AdvertisedIp") != "$(POD_IP)")
                {
                    problems.Add($"{where}: Shards__AdvertisedIp must be $(POD_IP): other silos reach this one at the address it advertises");
                }

                foreach (var (port, setting) in new[] { ("http", "ASPNETCORE_HTTP_PORTS"), ("silo", "Shards__SiloPort"), ("gateway", "Shards__GatewayPort") })
                {
                    var declared = c.Ports?.FirstOrDefault(p => p.Name == port)?.ContainerPort;
                    if (declared is null)
                    {
                        problems.Add($"{where}: no container port named {port}");
                    }
                    else if (env.GetValueOrDefault(setting) != declared.Value.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    {
                        problems.Add($"{where}: container port {port} is {declared} but {setting} is '{env.GetValueOrDefault(setting)}'");
                    }
                }

                if (c.ReadinessProbe?.HttpGet?.Path != "/readyz")
                {
                    problems.Add($"{where}: the readiness probe must GET /readyz (ready once the silo is an active cluster member)");
                }

                if (c.LivenessProbe?.HttpGet?.Path != "/healthz")
                {
                    problems.Add($"{where}: the liveness probe must GET /healthz");
                }
            }
        }

        if (silos == 0)
        {
            problems.Add("no pod template sets Shards__Kubernetes__Enabled=true: no silo runs Kubernetes hosting");
        }

        return problems;
    }

    /// <summary>
    /// No secret is written into the applied manifests: no Secret object but the template, password
    /// settings are <c>file:</c>/<c>env:</c> references, connection strings hold no password, and every
    /// file a setting names is a mounted Secret key in each pod that reads the settings.
    /// </summary>
    public static IReadOnlyList<string> SecretsNotInlined(Manifests m)
    {
        var problems = new List<string>();
        problems.AddRange(m.Applied<V1Secret>().Select(s => $"Secret {s.Metadata.Name} is applied with its values; only {Manifests.SecretTemplate} may hold a Secret, as a template"));
        foreach (var map in m.Applied<V1ConfigMap>())
        {
            foreach (var (key, value) in map.Data ?? new Dictionary<string, string>())
            {
                if (key.EndsWith("Password", StringComparison.OrdinalIgnoreCase) && !value.StartsWith("file:", StringComparison.Ordinal) && !value.StartsWith("env:", StringComparison.Ordinal))
                {
                    problems.Add($"ConfigMap {map.Metadata.Name}: {key} must be a reference (file:PATH or env:NAME), not the password");
                }

                if (value.Contains("password=", StringComparison.OrdinalIgnoreCase))
                {
                    problems.Add($"ConfigMap {map.Metadata.Name}: {key} writes a password into a connection string");
                }
            }
        }

        foreach (var w in m.Workloads())
        {
            foreach (var c in w.Template.Spec.Containers)
            {
                var env = EffectiveEnv(m, w, c);
                foreach (var (key, value) in env)
                {
                    var path = value.StartsWith("file:", StringComparison.Ordinal) ? value["file:".Length..]
                        : key.EndsWith("File", StringComparison.Ordinal) ? value
                        : null;
                    if (path is not null && !MountsSecretFile(m, w, c, path))
                    {
                        problems.Add($"{w}, container {c.Name}: {key} names {path}, which is no mounted Secret key");
                    }

                    if (value.StartsWith("env:", StringComparison.Ordinal) && !env.ContainsKey(value["env:".Length..]))
                    {
                        problems.Add($"{w}, container {c.Name}: {key} names the variable {value["env:".Length..]}, which the container does not have");
                    }
                }
            }
        }

        return problems;
    }

    /// <summary>The container's environment as the process sees it: envFrom ConfigMaps, then env literals (downward API values as their field path).</summary>
    public static Dictionary<string, string> EffectiveEnv(Manifests m, Workload w, V1Container c)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var from in c.EnvFrom ?? [])
        {
            if (from.ConfigMapRef is { } cm && FindConfigMap(m, w.Namespace, cm.Name)?.Data is { } data)
            {
                foreach (var (key, value) in data)
                {
                    env[(from.Prefix ?? "") + key] = value;
                }
            }
        }

        foreach (var e in c.Env ?? [])
        {
            env[e.Name] = e.Value ?? e.ValueFrom?.FieldRef?.FieldPath ?? "";
        }

        return env;
    }

    /// <summary>
    /// The shutdown timeout the silo's own host builder (<see cref="ShardsServer.Build"/>) computes from
    /// these environment settings. Settings that need the pod's world (databases, the token file, the
    /// pod's IP, the data directory) are left out: they do not bear on the timeout, and building with
    /// them would reach for what is not here.
    /// </summary>
    public static TimeSpan HostShutdownTimeout(IReadOnlyDictionary<string, string> env)
    {
        string[] podOnly = ["Shards__Clustering", "Shards__Storage__", "Shards__LogStore__", "Shards__DataRoots__", "Shards__Connections__", "Shards__Auth__", "Shards__Kubernetes__", "Shards__DataDir", "Shards__AdvertisedIp", "Shards__RedisConnection"];
        var dataDir = Path.Combine(Path.GetTempPath(), "shards-deploy-" + Guid.NewGuid().ToString("N")[..8]);
        var args = env.Where(e => !podOnly.Any(p => e.Key.StartsWith(p, StringComparison.Ordinal)) && !e.Value.StartsWith("$(", StringComparison.Ordinal))
            .Select(e => $"--{e.Key.Replace("__", ":", StringComparison.Ordinal)}={e.Value}")
            .Append($"--Shards:DataDir={dataDir}")
            .ToArray();
        try
        {
            var app = ShardsServer.Build(args);
            try
            {
                return app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout;
            }
            finally
            {
                app.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static bool MountsSecretFile(Manifests m, Workload w, V1Container c, string path)
    {
        foreach (var mount in c.VolumeMounts ?? [])
        {
            var volume = w.Template.Spec.Volumes?.FirstOrDefault(v => v.Name == mount.Name);
            if (volume?.Secret is not { } secret || !path.StartsWith(mount.MountPath.TrimEnd('/') + "/", StringComparison.Ordinal))
            {
                continue;
            }

            var relative = path[(mount.MountPath.TrimEnd('/').Length + 1)..];
            var keys = FindSecretKeys(m, w.Namespace, secret.SecretName);
            var key = secret.Items is { Count: > 0 } items ? items.FirstOrDefault(i => i.Path == relative)?.Key : relative;
            if (key is not null && keys?.Contains(key) == true)
            {
                return true;
            }
        }

        return false;
    }

    private static bool Grants(V1PolicyRule rule, string resource, string verb) =>
        (rule.ApiGroups ?? []).Any(g => g is "" or "*")
        && (rule.Resources ?? []).Any(r => r == resource || r == "*")
        && (rule.Verbs ?? []).Any(v => v == verb || v == "*");

    private static bool IsTrue(IReadOnlyDictionary<string, string> env, string key) =>
        env.TryGetValue(key, out var value) && bool.TryParse(value, out var on) && on;

    private static bool HasPort(V1Container c, string port) =>
        (c.Ports ?? []).Any(p => p.Name == port || p.ContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture) == port);

    private static bool Selects(IDictionary<string, string> selector, IDictionary<string, string>? labels) =>
        labels is not null && selector.All(s => labels.TryGetValue(s.Key, out var v) && v == s.Value);

    private static V1ConfigMap? FindConfigMap(Manifests m, string ns, string name) =>
        m.Applied<V1ConfigMap>().FirstOrDefault(c => c.Metadata.Name == name && c.Metadata.NamespaceProperty == ns);

    // Secrets are created by hand from the template, so the template is where their keys are known.
    private static HashSet<string>? FindSecretKeys(Manifests m, string ns, string name) =>
        m.All<V1Secret>().FirstOrDefault(s => s.Metadata.Name == name && s.Metadata.NamespaceProperty == ns) is { } secret
            ? [.. (secret.StringData?.Keys ?? []).Concat(secret.Data?.Keys ?? [])]
            : null;

    private static string Show(IDictionary<string, string> labels) => "{" + string.Join(", ", labels.Select(l => $"{l.Key}={l.Value}")) + "}";
}
