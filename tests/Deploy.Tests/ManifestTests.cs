using k8s.Models;

namespace OrleansShards.Deploy.Tests;

/// <summary>deploy/k8s hangs together, and each check catches the mistake it is there for.</summary>
public sealed class ManifestTests
{
    private static readonly Manifests Repository = Manifests.LoadRepository();

    public static TheoryData<string> CheckNames => [.. ManifestChecks.All.Keys];

    [Theory]
    [MemberData(nameof(CheckNames))]
    public void The_manifests_pass_the_check(string check)
    {
        var problems = ManifestChecks.All[check](Repository);

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void Every_piece_of_the_deployment_is_there()
    {
        Assert.Single(Repository.Applied<V1Namespace>(), n => n.Metadata.Name == "orleans-shards");
        Assert.Single(Repository.Applied<V1ServiceAccount>());
        Assert.Single(Repository.Applied<V1Role>());
        Assert.Single(Repository.Applied<V1RoleBinding>());
        Assert.Single(Repository.Applied<V1ConfigMap>());
        Assert.Single(Repository.Applied<V1PodDisruptionBudget>());
        // The base applies no PersistentVolumeClaim the silos need: one that cannot bind would keep every pod Pending.
        Assert.Empty(Repository.Applied<V1PersistentVolumeClaim>());
        var silo = Assert.Single(Repository.Applied<V1Deployment>());
        Assert.Equal(3, silo.Spec.Replicas);
        var postgres = Assert.Single(Repository.Applied<V1StatefulSet>());
        Assert.Contains(postgres.Spec.VolumeClaimTemplates, t => t.Spec.Resources.Requests.ContainsKey("storage"));
        Assert.Equal(["orleans-shards-gateway", "orleans-shards-http", "orleans-shards-postgres"], Repository.Applied<V1Service>().Select(s => s.Metadata.Name).Order());
        var secret = Assert.Single(Repository.All<V1Secret>());
        Assert.Equal(["api-tokens", "postgres-password"], secret.StringData.Keys.Order());
    }

    [Fact]
    public void The_migrate_job_runs_the_silo_image_with_the_migrate_command_and_the_silo_settings()
    {
        var silo = Assert.Single(Repository.Applied<V1Deployment>()).Spec.Template.Spec.Containers.Single();
        var job = Assert.Single(Repository.Applied<V1Job>());
        var migrate = job.Spec.Template.Spec.Containers.Single();

        Assert.Equal(silo.Image, migrate.Image);
        Assert.Equal(["migrate"], migrate.Args);
        Assert.Null(migrate.Command);
        Assert.Equal(silo.EnvFrom.Select(e => e.ConfigMapRef?.Name), migrate.EnvFrom.Select(e => e.ConfigMapRef?.Name));
        Assert.Contains(job.Spec.Template.Spec.RestartPolicy, new[] { "OnFailure", "Never" });
    }

    [Fact]
    public void The_role_is_derived_from_what_kubernetes_hosting_calls()
    {
        var rule = Assert.Single(Assert.Single(Repository.Applied<V1Role>()).Rules);
        var required = ManifestChecks.KubernetesHostingCalls.Append(ManifestChecks.DeleteDefunctPods).Select(c => c.Verb).Order();

        // No more than it needs either: the Role grants exactly these verbs, on pods only.
        Assert.Equal(required, rule.Verbs.Order());
        Assert.Equal(["pods"], rule.Resources);
    }

    /// <summary>Mistakes put into a copy of the real manifests: the check, the file, the text replaced and by what, the problem the check must report.</summary>
    public static TheoryData<string, string, string, string, string> Breakages =>
    [
        (nameof(ManifestChecks.Selectors), "silo-deployment.yaml", "app.kubernetes.io/component: silo\n        orleans/serviceId", "app.kubernetes.io/component: silos\n        orleans/serviceId", "does not match its pod labels"),
        (nameof(ManifestChecks.Services), "silo-services.yaml", "targetPort: gateway", "targetPort: gateways", "targets 'gateways', which no container of Deployment orleans-shards-silo exposes"),
        (nameof(ManifestChecks.Services), "postgres.yaml", "serviceName: orleans-shards-postgres", "serviceName: postgres", "serviceName 'postgres' is no Service"),
        (nameof(ManifestChecks.References), Manifests.SecretTemplate, "  api-tokens: |", "  api-token: |", "mounts key 'api-tokens' of Secret 'orleans-shards-secrets', which it does not have"),
        (nameof(ManifestChecks.References), "postgres.yaml", "key: postgres-password", "key: password", "refers to key 'password' of Secret 'orleans-shards-secrets'"),
        (nameof(ManifestChecks.References), "migrate-job.yaml", "name: orleans-shards-config", "name: orleans-shards-settings", "envFrom ConfigMap 'orleans-shards-settings' does not exist"),
        (nameof(ManifestChecks.Probes), "silo-deployment.yaml", "path: /readyz\n              port: http", "path: /readyz\n              port: 8081", "the readiness probe's port '8081' is not a port of the container"),
        (nameof(ManifestChecks.Probes), "postgres.yaml", "tcpSocket:\n              port: postgres", "tcpSocket:\n              port: pg", "the liveness probe's port 'pg'"),
        (nameof(ManifestChecks.Rbac), "rbac.yaml", "\"patch\", ", "", "grants 'patch' on pods"),
        (nameof(ManifestChecks.Rbac), "rbac.yaml", ", \"delete\"", "", "grants 'delete' on pods"),
        (nameof(ManifestChecks.Rbac), "rbac.yaml", "  - kind: ServiceAccount\n    name: orleans-shards-silo", "  - kind: ServiceAccount\n    name: default", "grants 'get' on pods"),
        (nameof(ManifestChecks.Rbac), "silo-deployment.yaml", "serviceAccountName: orleans-shards-silo", "serviceAccountName: silo", "runs as ServiceAccount 'silo', which the manifests do not create"),
        (nameof(ManifestChecks.Disruption), "pdb.yaml", "minAvailable: 2", "minAvailable: 3", "blocks every eviction"),
        (nameof(ManifestChecks.Disruption), "pdb.yaml", "      app.kubernetes.io/component: silo\n", "      app.kubernetes.io/component: api\n", "selects no pod template"),
        (nameof(ManifestChecks.Resources), "silo-deployment.yaml", "              memory: 2Gi\n", "", "container silo has no memory limit"),
        (nameof(ManifestChecks.Resources), "migrate-job.yaml", "              cpu: 10m\n", "              cpu: 200m\n", "requests more cpu"),
        (nameof(ManifestChecks.NonRoot), "silo-deployment.yaml", "        runAsUser: 1654", "        runAsUser: 0", "container silo runs as user 0 (root)"),
        (nameof(ManifestChecks.NonRoot), "migrate-job.yaml", "runAsUser: 999", "runAsUser: 0", "container wait-for-postgres runs as user 0 (root)"),
        (nameof(ManifestChecks.NonRoot), "postgres.yaml", "        runAsNonRoot: true\n        runAsUser: 999", "        runAsUser: 999", "does not set runAsNonRoot"),
        // The silo reads its shutdown budget from Shards:ShutdownTimeout.
        (nameof(ManifestChecks.Shutdown), "configmap.yaml", "Shards__ShutdownTimeout: \"00:00:25\"", "Shards__ShutdownTimeout: \"00:00:45\"", "does not outlast the host's shutdown timeout of 45 s"),
        (nameof(ManifestChecks.Shutdown), "silo-deployment.yaml", "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds: 20", "terminationGracePeriodSeconds 20 does not outlast"),
        (nameof(ManifestChecks.SiloPods), "silo-deployment.yaml", "        orleans/clusterId: orleans-shards\n", "", "lacks the label orleans/clusterId"),
        (nameof(ManifestChecks.SiloPods), "silo-deployment.yaml", "fieldPath: status.podIP", "fieldPath: status.hostIP", "env POD_IP must come from the downward API field status.podIP"),
        (nameof(ManifestChecks.SiloPods), "configmap.yaml", "Shards__GatewayPort: \"30000\"", "Shards__GatewayPort: \"30001\"", "container port gateway is 30000 but Shards__GatewayPort is '30001'"),
        (nameof(ManifestChecks.SiloPods), "silo-deployment.yaml", "path: /readyz", "path: /healthz", "the readiness probe must GET /readyz"),
        (nameof(ManifestChecks.SecretsNotInlined), "configmap.yaml", "Shards__ClusteringPassword: file:/etc/orleans-shards/secrets/postgres-password", "Shards__ClusteringPassword: hunter2hunter2", "Shards__ClusteringPassword must be a reference"),
        (nameof(ManifestChecks.SecretsNotInlined), "configmap.yaml", "Shards__Auth__TokensFile: /etc/orleans-shards/secrets/api-tokens", "Shards__Auth__TokensFile: /etc/orleans-shards/api-tokens", "Shards__Auth__TokensFile names /etc/orleans-shards/api-tokens, which is no mounted Secret key"),
        (nameof(ManifestChecks.Kustomization), "kustomization.yaml", "  - pdb.yaml\n", "  - pdb.yaml\n  - secret.example.yaml\n", "applies secret.example.yaml"),
        (nameof(ManifestChecks.Kustomization), "kustomization.yaml", "  - pdb.yaml\n", "", "does not apply pdb.yaml"),
        (nameof(ManifestChecks.SharedState), "configmap.yaml", "  Shards__LogStore__Provider: postgres\n", "", "Shards__LogStore__Provider is 'sqlite' under Shards__Clustering 'postgres'"),
        (nameof(ManifestChecks.SharedState), "configmap.yaml", "Shards__Storage__Provider: postgres", "Shards__Storage__Provider: file", "Shards__Storage__Provider is 'file' under Shards__Clustering 'postgres'"),
    ];

    [Theory]
    [MemberData(nameof(Breakages))]
    public void A_broken_manifest_is_caught(string check, string file, string old, string replacement, string expected)
    {
        var broken = Repository.With(file, old, replacement);

        var problems = ManifestChecks.All[check](broken);

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_secret_applied_with_its_values_is_caught()
    {
        var files = Repository.Files.ToDictionary(f => f.Key == Manifests.SecretTemplate ? "secret.yaml" : f.Key, f => f.Value);

        var problems = ManifestChecks.SecretsNotInlined(Manifests.Load(files));

        Assert.Contains(problems, p => p.Contains("Secret orleans-shards-secrets is applied with its values", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_object_of_every_yaml_file_deserialises_into_its_kubernetes_model_with_no_unknown_field()
    {
        var root = Path.Combine(Manifests.RepositoryRoot, Manifests.Directory);
        var files = Directory.GetFiles(root, "*.yaml", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != Manifests.Kustomization).ToList();
        Assert.Contains(files, f => f.Contains("overlays", StringComparison.Ordinal));
        foreach (var file in files)
        {
            // strict: an unknown field (a typo, a field of another API version) throws, naming it.
            var objects = k8s.KubernetesYaml.LoadAllFromString(File.ReadAllText(file), strict: true);
            Assert.True(objects.Count > 0, $"{file} holds no object");
            Assert.All(objects, o => Assert.True(o?.GetType().Namespace == "k8s.Models", $"{file}: {o?.GetType().FullName ?? "null"} is not a Kubernetes model"));
        }
    }

    public static TheoryData<string, string> OverlayChecks =>
    [
        .. from overlay in Overlays.Names
           from check in ManifestChecks.All.Keys
           where check != nameof(ManifestChecks.Kustomization)
           select (overlay, check),
    ];

    [Theory]
    [MemberData(nameof(OverlayChecks))]
    public void The_rendered_overlay_passes_the_check(string overlay, string check)
    {
        var problems = ManifestChecks.All[check](Overlays.Render(overlay));

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void The_azure_overlay_selects_blob_storage_and_table_clustering_with_the_connection_string_from_its_secret()
    {
        var azure = Overlays.Render("azure");
        var silo = Assert.Single(azure.Workloads(), w => w.Kind == "Deployment");
        var env = ManifestChecks.EffectiveEnv(azure, silo, silo.Template.Spec.Containers.Single());

        Assert.Equal("azuretable", env["Shards__Clustering"]);
        Assert.Equal("blob", env["Shards__Storage__Provider"]);
        Assert.Equal("postgres", env["Shards__LogStore__Provider"]);
        const string ConnectionString = "file:/etc/orleans-shards/azure/connection-string";
        Assert.Equal(ConnectionString, env["Shards__ClusteringConnectionString"]);
        Assert.Equal(ConnectionString, env["Shards__Storage__ConnectionString"]);
        // The PostgreSQL passwords of the base are gone where the Azure account replaces PostgreSQL.
        Assert.False(env.ContainsKey("Shards__ClusteringPassword"));
        Assert.False(env.ContainsKey("Shards__Storage__Password"));
        var secret = Assert.Single(azure.All<V1Secret>(), s => s.Metadata.Name == "orleans-shards-azure");
        Assert.Equal(["connection-string"], secret.StringData.Keys);
        Assert.Empty(azure.Applied<V1Secret>());
        Assert.Equal("azurefile-csi", Assert.Single(azure.Applied<V1PersistentVolumeClaim>()).Spec.StorageClassName);
    }

    [Fact]
    public void The_datasets_overlay_mounts_the_dataset_volume_read_only_as_a_data_root()
    {
        var datasets = Overlays.Render("datasets");
        var silo = Assert.Single(datasets.Workloads(), w => w.Kind == "Deployment");
        var container = silo.Template.Spec.Containers.Single();
        var mount = Assert.Single(container.VolumeMounts, m => m.Name == "datasets");
        Assert.True(mount.ReadOnlyProperty);
        var volume = Assert.Single(silo.Template.Spec.Volumes, v => v.Name == "datasets");
        Assert.True(volume.PersistentVolumeClaim.ReadOnlyProperty);
        var claim = Assert.Single(datasets.Applied<V1PersistentVolumeClaim>());
        Assert.Equal(volume.PersistentVolumeClaim.ClaimName, claim.Metadata.Name);
        var env = ManifestChecks.EffectiveEnv(datasets, silo, container);
        Assert.Equal(mount.MountPath, env["Shards__DataRoots__0"]);
        Assert.Equal("s3", env["Shards__Connections__s3data__Kind"]);
        // The base's own mounts are still there: the patch merged, it did not replace.
        Assert.Contains(container.VolumeMounts, m => m.Name == "secrets");
    }

    [Fact]
    public void A_misspelled_field_fails_to_load()
    {
        var error = Record.Exception(() => Repository.With("silo-deployment.yaml", "containerPort: 8080", "containerport: 8080"));

        Assert.NotNull(error);
    }
}
