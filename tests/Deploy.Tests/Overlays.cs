using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace OrleansShards.Deploy.Tests;

/// <summary>
/// Renders a kustomize overlay of deploy/k8s with what the overlays use of kustomize, so that the manifests a user
/// applies with <c>kubectl apply -k deploy/k8s/overlays/NAME</c> go through the same checks as the base:
/// <c>resources</c> (files, and directories with a kustomization.yaml, recursively) and <c>patches</c> given as
/// strategic merge patches (maps merge key by key, a <c>null</c> value deletes the key, lists of containers,
/// volumes, env and ports merge by <c>name</c> and volume mounts by <c>mountPath</c>; other lists are replaced).
/// Anything else in a kustomization.yaml fails the rendering, rather than being silently ignored.
/// </summary>
/// <remarks>
/// Written by hand: no kustomize library restores for .NET and no kustomize binary is installed here; the subset is
/// small and the tests below pin it (a patch that matches no object is an error).
/// </remarks>
public static class Overlays
{
    private static readonly IReadOnlyDictionary<string, string> MergeKeys = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["containers"] = "name",
        ["initContainers"] = "name",
        ["volumes"] = "name",
        ["env"] = "name",
        ["ports"] = "name",
        ["volumeMounts"] = "mountPath",
    };

    private static readonly string[] Known = ["apiVersion", "kind", "resources", "patches", "namespace"];

    /// <summary>The overlay directories under deploy/k8s/overlays.</summary>
    public static IReadOnlyList<string> Names =>
        [.. System.IO.Directory.GetDirectories(Path.Combine(Manifests.RepositoryRoot, Manifests.Directory, "overlays")).Select(d => Path.GetFileName(d)).Order(StringComparer.Ordinal)];

    /// <summary>
    /// The rendered objects of the overlay <paramref name="name"/> as manifests, one "file" per object source, plus
    /// the Secret templates (<c>*.example.yaml</c>) of the overlay and its bases, where the checks learn the keys of
    /// the Secrets a user creates by hand.
    /// </summary>
    public static Manifests Render(string name)
    {
        var directory = Path.Combine(Manifests.RepositoryRoot, Manifests.Directory, "overlays", name);
        var objects = new List<(string File, Dictionary<object, object> Object)>();
        var templates = new Dictionary<string, string>(StringComparer.Ordinal);
        RenderDirectory(directory, objects, templates);
        var serializer = new SerializerBuilder().Build();
        var files = objects
            .GroupBy(o => o.File, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => string.Join("---\n", g.Select(o => serializer.Serialize(o.Object))), StringComparer.Ordinal);
        foreach (var (file, text) in templates)
        {
            files[file] = text;
        }

        return Manifests.Load(files);
    }

    private static void RenderDirectory(string directory, List<(string File, Dictionary<object, object> Object)> objects, Dictionary<string, string> templates)
    {
        var kustomization = Parse(File.ReadAllText(Path.Combine(directory, Manifests.Kustomization))).Single();
        var unknown = kustomization.Keys.Select(k => (string)k).Except(Known).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidOperationException($"{directory}/{Manifests.Kustomization} uses {string.Join(", ", unknown)}, which this renderer does not know");
        }

        foreach (var template in System.IO.Directory.GetFiles(directory, "*.example.yaml"))
        {
            templates[Relative(template)] = File.ReadAllText(template);
        }

        foreach (var resource in List(kustomization, "resources").Select(r => Path.GetFullPath(Path.Combine(directory, (string)r))))
        {
            if (System.IO.Directory.Exists(resource))
            {
                RenderDirectory(resource, objects, templates);
            }
            else
            {
                objects.AddRange(Parse(File.ReadAllText(resource)).Select(o => (Relative(resource), o)));
            }
        }

        foreach (var patch in List(kustomization, "patches"))
        {
            var path = Path.Combine(directory, (string)((Dictionary<object, object>)patch)["path"]);
            foreach (var change in Parse(File.ReadAllText(path)))
            {
                var target = objects.Where(o => Same(o.Object, change)).ToList();
                if (target.Count != 1)
                {
                    throw new InvalidOperationException($"the patch {Relative(path)} matches {target.Count} objects, not one");
                }

                Merge(target[0].Object, change);
            }
        }
    }

    private static bool Same(Dictionary<object, object> a, Dictionary<object, object> b) =>
        Equals(a["kind"], b["kind"]) && Equals(Meta(a, "name"), Meta(b, "name")) && Equals(Meta(a, "namespace"), Meta(b, "namespace"));

    private static object? Meta(Dictionary<object, object> o, string key) =>
        ((Dictionary<object, object>)o["metadata"]).GetValueOrDefault(key);

    private static void Merge(Dictionary<object, object> target, Dictionary<object, object> patch)
    {
        foreach (var (key, value) in patch)
        {
            if (value is null)
            {
                target.Remove(key);
            }
            else if (value is Dictionary<object, object> map && target.GetValueOrDefault(key) is Dictionary<object, object> existing)
            {
                Merge(existing, map);
            }
            else if (value is List<object> list && target.GetValueOrDefault(key) is List<object> old && MergeKeys.TryGetValue((string)key, out var mergeKey))
            {
                foreach (Dictionary<object, object> item in list)
                {
                    if (old.OfType<Dictionary<object, object>>().FirstOrDefault(o => Equals(o.GetValueOrDefault(mergeKey), item[mergeKey])) is { } match)
                    {
                        Merge(match, item);
                    }
                    else
                    {
                        old.Add(item);
                    }
                }
            }
            else
            {
                target[key] = value;
            }
        }
    }

    private static List<Dictionary<object, object>> Parse(string text)
    {
        var parser = new Parser(new StringReader(text));
        var deserializer = new DeserializerBuilder().Build();
        parser.Consume<StreamStart>();
        var documents = new List<Dictionary<object, object>>();
        while (parser.Accept<DocumentStart>(out _))
        {
            if (deserializer.Deserialize<Dictionary<object, object>?>(parser) is { } document)
            {
                documents.Add(document);
            }
        }

        return documents;
    }

    private static IEnumerable<object> List(Dictionary<object, object> map, string key) =>
        map.GetValueOrDefault(key) as List<object> ?? [];

    private static string Relative(string path) =>
        Path.GetRelativePath(Path.Combine(Manifests.RepositoryRoot, Manifests.Directory), path).Replace('\\', '/');
}
