namespace OrleansShards.Readers.Objects;

/// <summary>One object of a bucket or container as a listing shows it.</summary>
/// <param name="Key">The object's key (blob name).</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="ETag">Its entity tag without quotes (stores quote it in some answers and not in others); a re-uploaded object gets another.</param>
public sealed record ObjectInfo(string Key, long Size, string ETag)
{
    /// <summary>An ETag as stores send it (<c>"abc"</c>, <c>W/"abc"</c> or <c>abc</c>) without its quotes.</summary>
    public static string NormalizeETag(string? etag)
    {
        var value = etag ?? "";
        if (value.StartsWith("W/", StringComparison.Ordinal))
        {
            value = value[2..];
        }

        return value.Length >= 2 && value[0] == '"' && value[^1] == '"' ? value[1..^1] : value;
    }

    /// <summary>The ETag quoted, as an <c>If-Match</c> header wants it.</summary>
    public string QuotedETag => $"\"{ETag}\"";
}
