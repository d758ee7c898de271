using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using OrleansShards.Core;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Http;

/// <summary>
/// Reads request bodies and says what is wrong with one in the caller's terms: the field path as written
/// (<c>source.path</c>), what the field must be ("a whole number"), and for an unknown field the closest known one
/// ("did you mean 'shardSize'?"); never a .NET type name.
/// </summary>
internal static partial class JsonBodies
{
    /// <summary>Deserializes the body as <typeparamref name="T"/>; a body that is not one throws a 400 <see cref="ShardsException"/> naming the field.</summary>
    public static async Task<T> ReadAsync<T>(HttpContext context)
        where T : class
    {
        var json = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(context.Request.Body, json, context.RequestAborted)
                ?? throw new ShardsException(ShardsErrorKind.Invalid, "body", "the body is empty or null: a JSON object is required");
        }
        catch (JsonException e)
        {
            var (field, detail) = Explain(e, typeof(T), json);
            throw new ShardsException(ShardsErrorKind.Invalid, field, detail);
        }
    }

    /// <summary>The field and a message in the caller's terms for a body of <paramref name="target"/> that failed to deserialize.</summary>
    public static (string Field, string Detail) Explain(JsonException e, Type target, JsonSerializerOptions json)
    {
        var path = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : e.Path.TrimStart('$', '.');
        var field = path.Length == 0 ? "body" : path;
        var where = $"line {e.LineNumber + 1}, position {e.BytePositionInLine + 1}";
        if (UnmappedMember().Match(e.Message) is { Success: true } unknown)
        {
            var name = unknown.Groups["name"].Value;
            var owner = TypeAt(target, Parent(path), json);
            var known = owner is null ? [] : JsonNames(owner, json);
            var suggestion = Closest(name, known);
            var inside = Parent(path) is { Length: > 0 } parent ? $" in '{parent}'" : "";
            return (field, $"'{name}' is not a known field{inside} ({where})"
                + (suggestion is not null ? $": did you mean '{suggestion}'?" : known.Count > 0 ? $"; known fields: {string.Join(", ", known)}" : ""));
        }

        if (ConvertFailure().IsMatch(e.Message) && path.Length > 0 && TypeAt(target, path, json) is { } expected)
        {
            return (field, $"'{path}' must be {Describe(expected)} ({where})");
        }

        return (field, $"the body is not valid JSON{(path.Length > 0 ? $" at '{path}'" : "")} ({where}): {FirstSentence(e.Message)}");
    }

    private static string Parent(string path)
    {
        var cut = path.LastIndexOf('.');
        return cut > 0 ? path[..cut] : "";
    }

    /// <summary>The type a (dotted, indexed) JSON path of <paramref name="root"/> holds, or null when it cannot be told.</summary>
    private static Type? TypeAt(Type root, string path, JsonSerializerOptions json)
    {
        var type = root;
        foreach (var segment in path.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = segment;
            var indexed = name.IndexOf('[', StringComparison.Ordinal);
            if (indexed >= 0)
            {
                name = name[..indexed];
            }

            var property = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).FirstOrDefault(p => JsonName(p, json) == name);
            if (property is null)
            {
                // A dictionary's key: the value type.
                if (DictionaryValue(type) is { } value)
                {
                    type = value;
                    continue;
                }

                return null;
            }

            type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (indexed >= 0)
            {
                type = ElementOf(type) ?? type;
            }
        }

        return type;
    }

    private static IReadOnlyList<string> JsonNames(Type type, JsonSerializerOptions json) =>
        [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).Select(p => JsonName(p, json)).Order(StringComparer.Ordinal)];

    private static string JsonName(PropertyInfo property, JsonSerializerOptions json) =>
        property.GetCustomAttribute<System.Text.Json.Serialization.JsonPropertyNameAttribute>()?.Name
        ?? json.PropertyNamingPolicy?.ConvertName(property.Name) ?? property.Name;

    /// <summary>The known name closest to <paramref name="name"/>: the same but for case, or at most a third of it different.</summary>
    internal static string? Closest(string name, IReadOnlyList<string> known)
    {
        if (known.FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase)) is { } sameButCase)
        {
            return sameButCase;
        }

        var best = known.Select(k => (Name: k, Distance: Distance(name.ToLowerInvariant(), k.ToLowerInvariant()))).OrderBy(c => c.Distance).FirstOrDefault();
        return best.Name is not null && best.Distance <= Math.Max(1, name.Length / 3) ? best.Name : null;
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            _ when type == typeof(string) => "a string",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(int) || type == typeof(long) || type == typeof(short) => "a whole number",
            _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) => "a number",
            _ when type.IsEnum => $"one of {string.Join(", ", Enum.GetNames(type))}",
            _ when DictionaryValue(type) is not null => "an object",
            _ when ElementOf(type) is not null => "a list",
            _ => "an object",
        };
    }

    private static Type? DictionaryValue(Type type) =>
        type.IsGenericType && type.GetGenericArguments() is [_, var value] && typeof(IEnumerable).IsAssignableFrom(type) ? value : null;

    private static Type? ElementOf(Type type) =>
        type == typeof(string) ? null
        : type.IsArray ? type.GetElementType()
        : type.IsGenericType && type.GetGenericArguments() is [var element] && typeof(IEnumerable).IsAssignableFrom(type) ? element
        : null;

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(" Path:", StringComparison.Ordinal);
        var text = end > 0 ? message[..end] : message;
        return NetTypeName().Replace(text, "a value of another type");
    }

    [GeneratedRegex(@"The JSON property '(?<name>[^']*)' could not be mapped to any \.NET member")]
    private static partial Regex UnmappedMember();

    [GeneratedRegex(@"The JSON value could not be converted to ")]
    private static partial Regex ConvertFailure();

    [GeneratedRegex(@"'?System\.[A-Za-z0-9_.`\[\], ]+'?|'?OrleansShards\.[A-Za-z0-9_.`\[\], ]+'?")]
    private static partial Regex NetTypeName();
}
