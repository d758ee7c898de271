using System.Globalization;

namespace OrleansShards.Core;

/// <summary>
/// The bound on an error text a task book keeps (a report's error, in retries and dead letters): whatever a
/// worker sends, the book's state, its checkpoint and every status snapshot hold at most <see cref="MaxLength"/>
/// characters of it, so memory stays bounded by construction and not only at the HTTP edge.
/// </summary>
public static class TaskErrors
{
    /// <summary>The most characters of an error text a task book keeps, marker included.</summary>
    public const int MaxLength = 8192;

    /// <summary>
    /// <paramref name="text"/> cut to at most <paramref name="maxLength"/> characters, ending with a visible
    /// <c>…[truncated N chars]</c> marker (N: the characters cut) when it was longer.
    /// </summary>
    public static string Truncate(string text, int maxLength = MaxLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 64);
        if (text.Length <= maxLength)
        {
            return text;
        }

        // The marker's own length depends on N; a 20-digit N is the longest it can be.
        var keep = maxLength - MarkerOf(text.Length).Length;
        if (keep > 0 && char.IsHighSurrogate(text[keep - 1]))
        {
            keep--; // never split a surrogate pair
        }

        return string.Concat(text.AsSpan(0, keep), MarkerOf(text.Length - keep));
    }

    private static string MarkerOf(long cut) => string.Create(CultureInfo.InvariantCulture, $"…[truncated {cut} chars]");
}
