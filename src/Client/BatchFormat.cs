namespace OrleansShards.Client;

/// <summary>The wire format of a batch: JSON records or an Arrow IPC stream.</summary>
public enum BatchFormat
{
    /// <summary><c>{"epoch", "step", "rank", "worldSize", "records": [...]}</c>.</summary>
    Json,

    /// <summary>An Arrow IPC stream (<c>application/vnd.apache.arrow.stream</c>), for pyarrow and columnar consumers.</summary>
    Arrow,
}
