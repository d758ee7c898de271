using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OrleansShards.Cli;

/// <summary>Reads a job spec or a checkpoint from a file (JSON, or YAML turned into the same JSON body), or from stdin for <c>-</c>.</summary>
internal static class SpecFiles
{
    /// <summary>
    /// A spec as JSON text, with where each field came from in a YAML file (by the server's field path: <c>source.paths[0]</c>),
    /// so that an error the server names by field is shown at the YAML line and column the user wrote.
    /// </summary>
    public sealed record Spec(string Json, string Name, IReadOnlyDictionary<string, Mark> YamlPlaces)
    {
        /// <summary>The error's place in the user's file when the server named a field that came from YAML, else null.</summary>
        public string? PlaceOf(string? field)
        {
            if (string.IsNullOrEmpty(field))
            {
                return null;
            }

            // The nearest enclosing field the file names: an unknown field inside source is still placed at its line.
            for (var path = field.TrimStart('$', '.'); path.Length > 0; path = Parent(path))
            {
                if (YamlPlaces.TryGetValue(path, out var mark))
                {
                    return $"{Name} line {mark.Line}, column {mark.Column}";
                }
            }

            return null;
        }

        private static string Parent(string path)
        {
            var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
            return cut > 0 ? path[..cut] : "";
        }
    }

    /// <summary>Reads a spec file like <see cref="ReadAsJson"/>, keeping YAML places.</summary>
    public static Spec Read(string path)
    {
        var name = path == "-" ? "stdin" : path;
        if (!IsYaml(path))
        {
            return new Spec(ReadAsJson(path), name, new Dictionary<string, Mark>());
        }

        var places = new Dictionary<string, Mark>(StringComparer.Ordinal);
        return new Spec(YamlToJson(ReadText(path), name, places), name, places);
    }

    private static bool IsYaml(string path) =>
        path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);

    /// <summary>The file's content as JSON text; YAML (<c>.yaml</c>, <c>.yml</c>) is converted. Errors name the file and the line.</summary>
    public static string ReadAsJson(string path)
    {
        var text = ReadText(path);
        var name = path == "-" ? "stdin" : path;
        if (IsYaml(path))
        {
            return YamlToJson(text, name);
        }

        try
        {
            using var parsed = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (parsed.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new CliException($"{name}: a JSON object is required, not a JSON {parsed.RootElement.ValueKind.ToString().ToLowerInvariant()}");
            }

            return parsed.RootElement.GetRawText();
        }
        catch (JsonException e)
        {
            throw new CliException($"{name}: not valid JSON at line {e.LineNumber + 1}, position {e.BytePositionInLine + 1}: {CliErrors.OneLine(FirstSentence(e.Message))}");
        }
    }

    /// <summary>The text of <paramref name="path"/>, or of stdin for <c>-</c>.</summary>
    public static string ReadText(string path)
    {
        if (path == "-")
        {
            return Console.In.ReadToEnd();
        }

        try
        {
            return File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            throw new CliException($"{path}: no such file");
        }
        catch (DirectoryNotFoundException)
        {
            throw new CliException($"{path}: no such directory");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{path}: cannot read: {e.Message}");
        }
    }

    /// <summary>YAML (one document, core schema) as the equivalent JSON text.</summary>
    public static string YamlToJson(string yaml, string name, Dictionary<string, Mark>? places = null)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new CliException($"{name}: not valid YAML at line {e.Start.Line}, column {e.Start.Column}: {CliErrors.OneLine(e.InnerException?.Message ?? e.Message)}");
        }

        if (stream.Documents.Count != 1)
        {
            throw new CliException($"{name}: one YAML document is required, found {stream.Documents.Count}");
        }

        var root = ToJson(stream.Documents[0].RootNode, name, "", places);
        if (root is not JsonObject)
        {
            throw new CliException($"{name}: the YAML document must be a mapping (the job's fields)");
        }

        return root.ToJsonString();
    }

    private static JsonNode? ToJson(YamlNode node, string name, string path, Dictionary<string, Mark>? places)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                var obj = new JsonObject();
                foreach (var (key, value) in mapping.Children)
                {
                    if (key is not YamlScalarNode { Value: { } keyText })
                    {
                        throw new CliException($"{name}: line {key.Start.Line}: keys must be plain text");
                    }

                    if (obj.ContainsKey(keyText))
                    {
                        throw new CliException($"{name}: line {key.Start.Line}: '{keyText}' appears twice");
                    }

                    var field = path.Length == 0 ? keyText : $"{path}.{keyText}";
                    places?.TryAdd(field, key.Start);
                    obj[keyText] = ToJson(value, name, field, places);
                }

                return obj;
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                foreach (var item in sequence.Children)
                {
                    var element = $"{path}[{array.Count}]";
                    places?.TryAdd(element, item.Start);
                    array.Add(ToJson(item, name, element, places));
                }

                return array;
            case YamlScalarNode scalar:
                return Scalar(scalar);
            default:
                throw new CliException($"{name}: line {node.Start.Line}: aliases and other YAML nodes are not supported in a job file");
        }
    }

    /// <summary>YAML 1.2 core schema: plain scalars may be null, booleans or numbers; quoted ones are strings.</summary>
    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
        {
            return JsonValue.Create(text);
        }

        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }

        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
        {
            return JsonValue.Create(whole);
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
        {
            return JsonValue.Create(real);
        }

        return JsonValue.Create(text);
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return end > 0 ? message[..end].TrimEnd() : message;
    }
}
