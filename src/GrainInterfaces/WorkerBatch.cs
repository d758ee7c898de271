namespace OrleansShards.GrainInterfaces;

/// <summary>Records handed to a thin worker: JSON of one page of one task.</summary>
[GenerateSerializer, Immutable, Alias("shards.WorkerBatch")]
public sealed record WorkerBatch(
    [property: Id(0)] string? TaskId,
    [property: Id(1)] int Epoch,
    [property: Id(2)] long Offset,
    [property: Id(3)] int Count,
    [property: Id(4)] byte[] RecordsJson,
    [property: Id(5)] string JobState);
