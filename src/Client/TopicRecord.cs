using System.Text.Json;

namespace OrleansShards.Client;

/// <summary>One record of a topic partition.</summary>
/// <param name="Offset">Its offset in the partition.</param>
/// <param name="Value">The record, a JSON value.</param>
public sealed record TopicRecord(long Offset, JsonElement Value);
