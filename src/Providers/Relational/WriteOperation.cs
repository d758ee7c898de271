using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;
using OrleansShards.Providers.GroupCommit;

namespace OrleansShards.Providers.Relational;

internal enum WriteKind : byte
{
    /// <summary>Insert or replace the state.</summary>
    Write,

    /// <summary>Delete the row (DeleteStateOnClear).</summary>
    Delete,

    /// <summary>Keep the row with no data and a new ETag (DeleteStateOnClear = false).</summary>
    Tombstone,
}

/// <summary>
/// One queued write and the awaitable its caller waits on. Pooled: at group-commit rates a
/// TaskCompletionSource plus its Task per write is measurable garbage, and the operation object is needed anyway.
/// </summary>
internal sealed class WriteOperation : IValueTaskSource<long>, IGroupCommitOperation
{
    private const int MaxPooled = 4096;
    private static readonly ConcurrentQueue<WriteOperation> Pool = new();
    private static int _pooledCount;

    // Continuations run asynchronously so that no grain code ever runs on the writer thread and holds up the next commit.
    private ManualResetValueTaskSourceCore<long> _core = new() { RunContinuationsAsynchronously = true };

    public WriteKind Kind;
    public string GrainType = string.Empty;
    public string GrainId = string.Empty;
    public long? ExpectedEtag;
    public byte[]? Data;

    /// <summary>Set by the writer inside the transaction, published to the caller only after the commit.</summary>
    public long NewEtag;
    public Exception? Error { get; set; }

    public static WriteOperation Rent()
    {
        if (Pool.TryDequeue(out var op))
        {
            Interlocked.Decrement(ref _pooledCount);
            return op;
        }

        return new WriteOperation();
    }

    public ValueTask<long> AsValueTask() => new(this, _core.Version);

    /// <summary>Called once by the writer, after the transaction that holds this operation committed or failed.</summary>
    public void Complete()
    {
        if (Error is { } error)
        {
            _core.SetException(error);
        }
        else
        {
            _core.SetResult(NewEtag);
        }
    }

    public long GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            Return();
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private void Return()
    {
        GrainType = string.Empty;
        GrainId = string.Empty;
        ExpectedEtag = null;
        Data = null;
        Error = null;
        NewEtag = 0;
        _core.Reset();
        if (Interlocked.Increment(ref _pooledCount) <= MaxPooled)
        {
            Pool.Enqueue(this);
        }
        else
        {
            Interlocked.Decrement(ref _pooledCount);
        }
    }
}
