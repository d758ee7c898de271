using System.Text.Json;

namespace OrleansShards.GrainInterfaces.Http;

/// <summary>The JSON answer of <c>GET /v1/jobs/{id}/tasks/{taskId}/records</c>.</summary>
/// <param name="Records">The records of the page, one JSON object of columns each.</param>
/// <param name="NextOffset">The offset of the next page, present only when records of the shard remain.</param>
public sealed record RecordsAnswer(IReadOnlyList<JsonElement> Records, long? NextOffset);
