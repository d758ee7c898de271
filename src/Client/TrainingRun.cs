using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansShards.Client;

/// <summary>A run's status (<c>GET /v1/jobs/{id}/runs/{run}</c>, and the answer of every run route that changes it).</summary>
public sealed record TrainingRun
{
    /// <summary>The run's name.</summary>
    public required string Run { get; init; }

    /// <summary>G: the records of one step over all ranks.</summary>
    public int GlobalBatchSize { get; init; }

    /// <summary>Whether an epoch leaves out the records after its last full step.</summary>
    public bool DropRemainder { get; init; }

    /// <summary>The steps of an epoch; null for a run over a live job, whose one epoch never ends.</summary>
    public long? StepsPerEpoch { get; init; }

    /// <summary>The job's number of epochs.</summary>
    public int Epochs { get; init; }

    /// <summary>The last commit, or null before the first.</summary>
    public CommittedStep? Committed { get; init; }

    /// <summary>The step after the last commit: where the ranks of a restarted trainer start. (0, 0) before any commit; (epochs, 0) once the job's last step is committed.</summary>
    public RunStep ResumeAt { get; init; } = new(0, 0);

    /// <summary>True once the job's last step is committed.</summary>
    public bool Finished { get; init; }

    /// <summary>Fields of the status this client does not name (metrics, the lag of a live run's partitions, ...), as the server sent them.</summary>
    [JsonExtensionData]
    public IDictionary<string, JsonElement>? More { get; init; }
}
