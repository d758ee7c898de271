using System.Text.Json;

namespace OrleansShards.Client;

/// <summary>One page of records of a task, as the server sent it.</summary>
public sealed class RecordsPage : IDisposable
{
    internal RecordsPage(JsonDocument document)
    {
        Document = document;
        Records = document.RootElement.GetProperty("records");
        NextOffset = document.RootElement.TryGetProperty("nextOffset", out var next) ? next.GetInt64() : null;
    }

    /// <summary>The parsed answer.</summary>
    public JsonDocument Document { get; }

    /// <summary>The records: a JSON array of objects.</summary>
    public JsonElement Records { get; }

    /// <summary>The offset of the next page, when records of the shard remain.</summary>
    public long? NextOffset { get; }

    /// <inheritdoc />
    public void Dispose() => Document.Dispose();
}
