using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;

namespace OrleansShards.Client;

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
