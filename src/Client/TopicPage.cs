namespace OrleansShards.Client;

/// <summary>A page of a topic partition (<c>GET /v1/topics/{t}/partitions/{p}/records</c>).</summary>
/// <param name="Records">The records, in offset order.</param>
/// <param name="NextOffset">Where the next read starts.</param>
/// <param name="HighWatermark">The offset the next appended record will get.</param>
public sealed record TopicPage(IReadOnlyList<TopicRecord> Records, long NextOffset, long HighWatermark);
