using System.Text.Json;

namespace OrleansShards.Client;

/// <summary>Where an append landed (<c>POST /v1/topics/{t}/partitions/{p}/records</c>).</summary>
/// <param name="FirstOffset">The offset of the first record appended.</param>
/// <param name="NextOffset">The offset the next record will get.</param>
public sealed record AppendResult(long FirstOffset, long NextOffset);

/// <summary>One record of a topic partition.</summary>
/// <param name="Offset">Its offset in the partition.</param>
/// <param name="Value">The record, a JSON value.</param>
public sealed record TopicRecord(long Offset, JsonElement Value);

/// <summary>A page of a topic partition (<c>GET /v1/topics/{t}/partitions/{p}/records</c>).</summary>
/// <param name="Records">The records, in offset order.</param>
/// <param name="NextOffset">Where the next read starts.</param>
/// <param name="HighWatermark">The offset the next appended record will get.</param>
public sealed record TopicPage(IReadOnlyList<TopicRecord> Records, long NextOffset, long HighWatermark);
