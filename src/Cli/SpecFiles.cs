using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OrleansShards.Cli;

/// <summary>Reads a job spec or a checkpoint from a file (JSON, or YAML turned into the same JSON body), or from stdin for <c>-</c>.</summary>
internal static class SpecFiles
{
    /// <summary>The file's content as JSON text; YAML (<c>.yaml</c>, <c>.yml</c>) is converted. Errors name the file and the line.</summary>
    public static string ReadAsJson(string path)
    {
        var text = ReadText(path);
        var name = path == "-" ? "stdin" : path;
        var isYaml = path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);
        if (isYaml)
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
    public static string YamlToJson(string yaml, string name)
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

        var root = ToJson(stream.Documents[0].RootNode, name);
        if (root is not JsonObject)
        {
            throw new CliException($"{name}: the YAML document must be a mapping (the job's fields)");
        }

        return root.ToJsonString();
    }

    private static JsonNode? ToJson(YamlNode node, string name)
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

                    obj[keyText] = ToJson(value, name);
                }

                return obj;
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                foreach (var item in sequence.Children)
                {
                    array.Add(ToJson(item, name));
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
