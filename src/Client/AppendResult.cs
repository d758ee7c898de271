namespace OrleansShards.Client;

/// <summary>Where an append landed (<c>POST /v1/topics/{t}/partitions/{p}/records</c>).</summary>
/// <param name="FirstOffset">The offset of the first record appended.</param>
/// <param name="NextOffset">The offset the next record will get.</param>
public sealed record AppendResult(long FirstOffset, long NextOffset);
