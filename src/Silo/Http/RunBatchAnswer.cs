using System.Text.Json;

namespace OrleansShards.Silo.Http;

/// <summary>The JSON answer of <c>GET /v1/jobs/{id}/runs/{run}/batches</c> (for the OpenAPI document).</summary>
/// <param name="Epoch">The epoch.</param>
/// <param name="Step">The step.</param>
/// <param name="Rank">The rank.</param>
/// <param name="WorldSize">The world size.</param>
/// <param name="Records">Exactly G/W records.</param>
public sealed record RunBatchAnswer(int Epoch, long Step, int Rank, int WorldSize, IReadOnlyList<JsonElement> Records);
