namespace OrleansShards.Core;

/// <summary>A commit of a run: the trainer's checkpoint that holds step <see cref="Step"/> of <see cref="Epoch"/> is durable.</summary>
[GenerateSerializer, Immutable]
public sealed record RunCommit
{
    /// <summary>The epoch.</summary>
    [Id(0)] public int Epoch { get; init; }

    /// <summary>The step within the epoch.</summary>
    [Id(1)] public long Step { get; init; }

    /// <summary>The trainer's name of its checkpoint, when it gave one.</summary>
    [Id(2)] public string? Checkpoint { get; init; }

    /// <summary>When the commit was recorded (from the grain's TimeProvider), for the run's steps per second.</summary>
    [Id(3)] public DateTimeOffset? At { get; init; }

    /// <summary>The commit's step as a position.</summary>
    public RunPosition Position => new(Epoch, Step);
}
