using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace OrleansShards.Readers.Csv;

/// <summary>Parsing of typed CSV values, the one definition used to check, write and convert them. An empty value is null.</summary>
internal static class CsvValues
{
    /// <summary>The names a job spec uses for the types, as <c>source.columns</c> takes them.</summary>
    public static readonly IReadOnlyDictionary<string, CsvValueType> Names = new Dictionary<string, CsvValueType>(StringComparer.Ordinal)
    {
        ["string"] = CsvValueType.String,
        ["int64"] = CsvValueType.Int64,
        ["float64"] = CsvValueType.Float64,
        ["bool"] = CsvValueType.Bool,
    };

    public static bool TryInt64(ReadOnlySpan<byte> value, out long result) =>
        Utf8Parser.TryParse(Trim(value), out result, out var used) && used == Trim(value).Length;

    public static bool TryFloat64(ReadOnlySpan<byte> value, out double result)
    {
        var text = Trim(value);
        return Utf8Parser.TryParse(text, out result, out var used) && used == text.Length && double.IsFinite(result);
    }

    public static bool TryBool(ReadOnlySpan<byte> value, out bool result)
    {
        var text = Trim(value);
        if (Ascii.EqualsIgnoreCase(text, "true"u8))
        {
            result = true;
            return true;
        }

        result = false;
        return Ascii.EqualsIgnoreCase(text, "false"u8);
    }

    /// <summary>Whether <paramref name="value"/> reads as <paramref name="type"/> (an empty value always does: it is null).</summary>
    public static bool IsValid(CsvValueType type, ReadOnlySpan<byte> value) =>
        Trim(value).IsEmpty || type switch
        {
            CsvValueType.Int64 => TryInt64(value, out _),
            CsvValueType.Float64 => TryFloat64(value, out _),
            CsvValueType.Bool => TryBool(value, out _),
            _ => true,
        };

    public static string Name(CsvValueType type) => type switch
    {
        CsvValueType.Int64 => "int64",
        CsvValueType.Float64 => "float64",
        CsvValueType.Bool => "bool",
        _ => "string",
    };

    /// <summary>The value for a message: at most 40 characters of it.</summary>
    public static string Show(ReadOnlySpan<byte> value)
    {
        var text = Encoding.UTF8.GetString(value.Length > 160 ? value[..160] : value);
        return text.Length > 40 ? text[..40] + "…" : text;
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> value) => value.Trim(" \t"u8);

    /// <summary>Canonical text of declared types, for cache keys: <c>a:int64,b:float64</c> in column order.</summary>
    public static string Key(IReadOnlyDictionary<string, CsvValueType>? types) =>
        types is null or { Count: 0 } ? "" : string.Join(',', types.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Key}:{Name(t.Value)}")));
}
