using System.Text.Json;
using System.Text.Json.Serialization;
using Apache.Arrow;
using Apache.Arrow.Ipc;

namespace OrleansShards.Client;

// The request and answer types of the run routes (docs/http-api.md, "Runs"; issue 14). They are in a file of their own
// so that they can move to a shared contracts project as they are.

/// <summary>The body of <c>POST /v1/jobs/{id}/runs</c>: a synchronous data-parallel training run over the job.</summary>
/// <param name="Run">The run's name, unique within the job.</param>
/// <param name="GlobalBatchSize">G: the records of one step over all ranks. A world size must divide it.</param>
/// <param name="DropRemainder">
/// True (the server's default when absent): an epoch has ⌊N/G⌋ steps and the rest of its records are left out.
/// False: ⌈N/G⌉ steps, the last one filled up from the start of the epoch's order.
/// </param>
public sealed record RunCreateRequest(string Run, int GlobalBatchSize, bool? DropRemainder = null);

/// <summary>A step of a run: the epoch, from 0, and the step within it, from 0.</summary>
/// <param name="Epoch">The epoch, from 0 (always 0 for a run over a live job).</param>
/// <param name="Step">The step within the epoch, from 0.</param>
public sealed record RunStep(int Epoch, long Step);

/// <summary>The last commit of a run: the step the trainer's durable checkpoint holds.</summary>
/// <param name="Epoch">The committed step's epoch.</param>
/// <param name="Step">The committed step.</param>
/// <param name="Checkpoint">The name the trainer gave the checkpoint, if any; a rewind may name it.</param>
public sealed record CommittedStep(int Epoch, long Step, string? Checkpoint);

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

/// <summary>The wire format of a batch: JSON records or an Arrow IPC stream.</summary>
public enum BatchFormat
{
    /// <summary><c>{"epoch", "step", "rank", "worldSize", "records": [...]}</c>.</summary>
    Json,

    /// <summary>An Arrow IPC stream (<c>application/vnd.apache.arrow.stream</c>), for pyarrow and columnar consumers.</summary>
    Arrow,
}

/// <summary>
/// One rank's batch of one step (<c>GET /v1/jobs/{id}/runs/{run}/batches</c>): positions
/// <c>[s·G + r·G/W, s·G + (r+1)·G/W)</c> of the epoch's global order. A step of a live run that is not full yet comes
/// back empty with <see cref="RetryAfter"/> set. Dispose it when done: that returns the pooled buffers of its JSON.
/// </summary>
public sealed class RankBatch : IDisposable
{
    private readonly JsonDocument? _document;
    private readonly byte[]? _arrow;

    internal RankBatch(RunStep position, int rank, int worldSize, JsonDocument? document, byte[]? arrow, bool pending, TimeSpan? retryAfter)
    {
        IsPending = pending;
        Position = position;
        Rank = rank;
        WorldSize = worldSize;
        _document = document;
        _arrow = arrow;
        RetryAfter = retryAfter;
        if (document is not null && document.RootElement.TryGetProperty("records", out var records))
        {
            Records = records;
            Count = records.GetArrayLength();
        }
        else if (arrow is not null)
        {
            Count = CountArrowRows(arrow);
        }
    }

    /// <summary>The step.</summary>
    public RunStep Position { get; }

    /// <summary>The rank it was fetched for.</summary>
    public int Rank { get; }

    /// <summary>The world size it was fetched for.</summary>
    public int WorldSize { get; }

    /// <summary>The number of records: G/W, or 0 when the step of a live run is not full yet.</summary>
    public int Count { get; }

    /// <summary>Whether the batch holds no records yet (a live step that is not full): ask again after <see cref="RetryAfter"/>.</summary>
    public bool IsPending { get; }

    /// <summary>How long the server asked to wait before asking again for a live step that is not full; null when it did not say.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>The records, a JSON array of objects (JSON format only; <c>default</c> for Arrow).</summary>
    public JsonElement Records { get; }

    /// <summary>The answer's JSON document (JSON format only), for fields this client does not name.</summary>
    public JsonDocument? Document => _document;

    /// <summary>The Arrow IPC stream as the server sent it (Arrow format only).</summary>
    public ReadOnlyMemory<byte> ArrowBytes => _arrow;

    /// <summary>Reads the Arrow IPC stream into record batches (Arrow format only). The caller disposes them.</summary>
    public IReadOnlyList<RecordBatch> ReadArrow()
    {
        if (_arrow is null)
        {
            throw new InvalidOperationException("this batch was fetched as JSON: read Records");
        }

        var batches = new List<RecordBatch>();
        using var reader = new ArrowStreamReader(new MemoryStream(_arrow, writable: false));
        while (reader.ReadNextRecordBatch() is { } batch)
        {
            batches.Add(batch);
        }

        return batches;
    }

    /// <inheritdoc />
    public void Dispose() => _document?.Dispose();

    private static int CountArrowRows(byte[] arrow)
    {
        if (arrow.Length == 0)
        {
            return 0;
        }

        var rows = 0;
        using var reader = new ArrowStreamReader(new MemoryStream(arrow, writable: false));
        while (reader.ReadNextRecordBatch() is { } batch)
        {
            rows += batch.Length;
            batch.Dispose();
        }

        return rows;
    }
}

/// <summary>How <see cref="ShardsClient.ReadRunAsync"/> walks a rank's steps.</summary>
public sealed class RunReadOptions
{
    /// <summary>The first step; the run's <see cref="TrainingRun.ResumeAt"/> when null (the step after the last commit).</summary>
    public RunStep? From { get; set; }

    /// <summary>Stop at the end of the epoch the enumeration started in, instead of at the end of the job.</summary>
    public bool SingleEpoch { get; set; }

    /// <summary>The columns to fetch (all when null or empty).</summary>
    public IReadOnlyList<string>? Columns { get; set; }

    /// <summary>JSON (default) or Arrow.</summary>
    public BatchFormat Format { get; set; } = BatchFormat.Json;

    /// <summary>
    /// How long the server may hold a request for a live step that is not full before answering it empty
    /// (<c>waitMs</c>); the server's default when null.
    /// </summary>
    public TimeSpan? Wait { get; set; }

    /// <summary>
    /// The wait before asking again for a live step that came back empty without a <c>retryAfterMs</c>. Default 200 ms.
    /// </summary>
    public TimeSpan DefaultRetryAfter { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Requests kept in flight ahead of the batch the caller holds, so the next batch is on its way while the
    /// trainer computes on this one. 0 fetches a step only when it is asked for. Default 1.
    /// </summary>
    public int Prefetch { get; set; } = 1;
}

/// <summary>The answer of <c>GET /v1/jobs/{id}/runs</c>.</summary>
internal sealed record TrainingRunList(IReadOnlyList<TrainingRun> Runs);
