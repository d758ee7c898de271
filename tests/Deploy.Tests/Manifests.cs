using System.Text.RegularExpressions;
using k8s;
using k8s.Models;

namespace OrleansShards.Deploy.Tests;

/// <summary>The manifests of deploy/k8s, loaded with KubernetesClient's typed models.</summary>
public sealed class Manifests
{
    /// <summary>The directory of the manifests, relative to the repository root.</summary>
    public const string Directory = "deploy/k8s";

    /// <summary>The Secret template: it documents the keys, kustomization.yaml does not apply it.</summary>
    public const string SecretTemplate = "secret.example.yaml";

    /// <summary>kustomize's file: not a Kubernetes object, read as plain YAML.</summary>
    public const string Kustomization = "kustomization.yaml";

    private Manifests(IReadOnlyDictionary<string, string> files, IReadOnlyList<(string File, object Resource)> resources)
    {
        Files = files;
        Resources = resources;
    }

    /// <summary>The text of every YAML file by name.</summary>
    public IReadOnlyDictionary<string, string> Files { get; }

    /// <summary>Every object of every manifest but kustomization.yaml, with the file it came from.</summary>
    public IReadOnlyList<(string File, object Resource)> Resources { get; }

    /// <summary>The root of the repository: the first directory above the test binaries holding OrleansShards.sln.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>Loads deploy/k8s of this repository.</summary>
    public static Manifests LoadRepository() =>
        Load(System.IO.Directory.GetFiles(Path.Combine(RepositoryRoot, Directory), "*.yaml")
            .ToDictionary(f => Path.GetFileName(f), File.ReadAllText, StringComparer.Ordinal));

    /// <summary>Loads manifests from texts by file name (the tests break copies of the real ones).</summary>
    public static Manifests Load(IReadOnlyDictionary<string, string> files)
    {
        var resources = new List<(string, object)>();
        foreach (var (name, text) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            if (name == Kustomization)
            {
                continue;
            }

            // strict: a misspelled field is an error here, as kubectl apply --validate=strict makes it one.
            foreach (var resource in KubernetesYaml.LoadAllFromString(text, strict: true))
            {
                resources.Add((name, resource));
            }
        }

        return new Manifests(files, resources);
    }

    /// <summary>The manifests with <paramref name="file"/>'s text changed by <paramref name="change"/>, which must change something.</summary>
    public Manifests With(string file, Func<string, string> change)
    {
        var changed = change(Files[file]);
        if (changed == Files[file])
        {
            throw new InvalidOperationException($"the change of {file} changed nothing: the test would prove nothing");
        }

        return Load(new Dictionary<string, string>(Files, StringComparer.Ordinal) { [file] = changed });
    }

    /// <summary>The same, replacing exactly one occurrence of <paramref name="old"/>.</summary>
    public Manifests With(string file, string old, string replacement) => With(file, text =>
        Regex.Matches(text, Regex.Escape(old)).Count == 1
            ? text.Replace(old, replacement, StringComparison.Ordinal)
            : throw new InvalidOperationException($"'{old}' is not in {file} exactly once"));

    /// <summary>The objects of type <typeparamref name="T"/> applied to the cluster (not the Secret templates, <c>*.example.yaml</c>).</summary>
    public IEnumerable<T> Applied<T>() => Resources.Where(r => !IsTemplate(r.File)).Select(r => r.Resource).OfType<T>();

    /// <summary>Whether <paramref name="file"/> is a template a user copies (<c>secret.example.yaml</c> and the overlays' <c>*.example.yaml</c>).</summary>
    public static bool IsTemplate(string file) => file.EndsWith(".example.yaml", StringComparison.Ordinal);

    /// <summary>Every object of type <typeparamref name="T"/>, the Secret template included.</summary>
    public IEnumerable<T> All<T>() => Resources.Select(r => r.Resource).OfType<T>();

    /// <summary>Every pod template with the name of its workload: Deployments, StatefulSets, Jobs.</summary>
    public IEnumerable<Workload> Workloads()
    {
        foreach (var d in Applied<V1Deployment>())
        {
            yield return new Workload("Deployment", d.Metadata.Name, d.Metadata.NamespaceProperty, d.Spec.Selector, d.Spec.Template, d.Spec.Replicas, []);
        }

        foreach (var s in Applied<V1StatefulSet>())
        {
            yield return new Workload("StatefulSet", s.Metadata.Name, s.Metadata.NamespaceProperty, s.Spec.Selector, s.Spec.Template, s.Spec.Replicas, [.. (s.Spec.VolumeClaimTemplates ?? []).Select(t => t.Metadata.Name)]);
        }

        foreach (var j in Applied<V1Job>())
        {
            yield return new Workload("Job", j.Metadata.Name, j.Metadata.NamespaceProperty, j.Spec.Selector, j.Spec.Template, null, []);
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansShards.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no OrleansShards.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>
/// A workload's pod template. A Job's selector is generated by Kubernetes, so it may be null;
/// <paramref name="Claims"/> are a StatefulSet's volumeClaimTemplates, volumes its pods mount too.
/// </summary>
public sealed record Workload(string Kind, string Name, string Namespace, V1LabelSelector? Selector, V1PodTemplateSpec Template, int? Replicas, IReadOnlyList<string> Claims)
{
    /// <summary>How problems name it.</summary>
    public override string ToString() => $"{Kind} {Name}";

    /// <summary>The pod's containers, init containers included.</summary>
    public IEnumerable<V1Container> AllContainers => (Template.Spec.InitContainers ?? []).Concat(Template.Spec.Containers);

    /// <summary>The pod template's labels.</summary>
    public IDictionary<string, string> Labels => Template.Metadata?.Labels ?? new Dictionary<string, string>();
}
