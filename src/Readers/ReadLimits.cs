namespace OrleansShards.Readers;

/// <summary>
/// Bounds on what one request may make the server read, walk or build, whatever the caller sends; bound from
/// <c>Shards:Reads</c>. Every bound refuses with a 4xx naming the bound instead of growing memory or CPU.
/// </summary>
public sealed class ReadLimits
{
    /// <summary>Directories below a glob's literal prefix a pattern may descend (<c>**</c> included).</summary>
    public int GlobMaxDepth { get; set; } = 32;

    /// <summary>Directory entries one pattern may look at before it is refused.</summary>
    public int GlobMaxEntries { get; set; } = 100_000;

    /// <summary>How long one pattern's walk may take before it is cancelled and refused.</summary>
    public TimeSpan GlobTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Distinct columns an Arrow answer over records without a fixed schema (JSON Lines, topics) may have; past it
    /// the request is refused and asked to name its columns (<c>columns=</c>).
    /// </summary>
    public int ArrowMaxColumns { get; set; } = 1_024;

    /// <summary>Bytes of values one Arrow answer may hold (before the Arrow framing).</summary>
    public long ArrowMaxBytes { get; set; } = 256L << 20;

    /// <summary>
    /// Bytes of record values a topic page (HTTP, SSE or WebSocket) stops at; a page always holds at least one
    /// record so a reader makes progress whatever a record's size.
    /// </summary>
    public long TopicPageMaxBytes { get; set; } = 8L << 20;
}
