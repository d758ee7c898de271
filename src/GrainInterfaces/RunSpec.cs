namespace OrleansShards.GrainInterfaces;

/// <summary>What a client asks for when it creates a training run (issue 14).</summary>
/// <param name="GlobalBatchSize">G, the records of a step over all ranks.</param>
/// <param name="DropRemainder">Whether the last partial step of an epoch is left out (default) or filled from the start of the epoch's order.</param>
[GenerateSerializer, Immutable, Alias("OrleansShards.RunSpec")]
public sealed record RunSpec([property: Id(0)] int GlobalBatchSize, [property: Id(1)] bool DropRemainder = true)
{
    /// <summary>The largest global batch size a run may ask for (bounded memory per step).</summary>
    public const int MaxGlobalBatchSize = 1 << 20;

    /// <summary>The first problem of the spec as (field, reason), or <see langword="null"/>.</summary>
    public (string Field, string Reason)? Validate() =>
        GlobalBatchSize is < 1 or > MaxGlobalBatchSize ? ("globalBatchSize", $"must be between 1 and {MaxGlobalBatchSize}") : null;
}
