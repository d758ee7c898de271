using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>The status of a run (<c>GET /v1/jobs/{id}/runs/{run}</c>).</summary>
[GenerateSerializer, Immutable, Alias("OrleansShards.RunStatus")]
public sealed record RunStatus
{
    /// <summary>The run's name.</summary>
    [Id(0)] public required string Run { get; init; }

    /// <summary>The job it reads.</summary>
    [Id(1)] public required string Job { get; init; }

    /// <summary>G.</summary>
    [Id(2)] public int GlobalBatchSize { get; init; }

    /// <summary>Whether the last partial step of an epoch is left out.</summary>
    [Id(3)] public bool DropRemainder { get; init; }

    /// <summary>Steps of an epoch; null for a live job.</summary>
    [Id(4)] public long? StepsPerEpoch { get; init; }

    /// <summary>The job's number of epochs.</summary>
    [Id(5)] public int Epochs { get; init; }

    /// <summary>The last commit, or null.</summary>
    [Id(6)] public RunCommitStatus? Committed { get; init; }

    /// <summary>The step to resume at.</summary>
    [Id(7)] public RunPosition ResumeAt { get; init; }

    /// <summary>Whether the job's last step is committed.</summary>
    [Id(8)] public bool Finished { get; init; }

    /// <summary>N, the records of an epoch (null for a live job).</summary>
    [Id(9)] public long? Records { get; init; }

    /// <summary>How many commits the run keeps by name (at least the last 100).</summary>
    [Id(10)] public int CommitsKept { get; init; }

    /// <summary>Committed steps per second over the kept commits, when two or more are kept.</summary>
    [Id(11)] public double? StepsPerSecond { get; init; }

    /// <summary>When the run was created.</summary>
    [Id(12)] public DateTimeOffset CreatedAt { get; init; }

    // Live runs (issue 14). Ids from 40 leave room for other additions to the status.

    /// <summary>Live runs: whether the run reads a live job.</summary>
    [Id(40)] public bool Live { get; init; }

    /// <summary>Live runs: the steps sealed so far (steps below it have fixed content).</summary>
    [Id(41)] public long? SealedSteps { get; init; }

    /// <summary>Live runs: the first step whose seal and records are kept (the step after the oldest kept commit).</summary>
    [Id(42)] public long? FirstKeptStep { get; init; }

    /// <summary>Live runs: per partition, the committed offset and the lag behind the high-water mark.</summary>
    [Id(43)] public IReadOnlyList<RunPartitionStatus>? Partitions { get; init; }
}
