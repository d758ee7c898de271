namespace OrleansShards.Silo.Http;

/// <summary>A status snapshot with the bytes every reader of it is sent.</summary>
/// <param name="Snapshot">The snapshot.</param>
/// <param name="Json">Its JSON (the body of <c>GET /v1/status</c>).</param>
/// <param name="EventFrame">Its Server-Sent Events frame (<c>event: status</c>, <c>data: {json}</c>), one event of <c>GET /v1/status/stream</c>.</param>
public sealed record SerializedSnapshot(StatusSnapshot Snapshot, byte[] Json, byte[] EventFrame);
