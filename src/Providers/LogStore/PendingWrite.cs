using OrleansShards.Core;
using OrleansShards.Providers.GroupCommit;

namespace OrleansShards.Providers.LogStore;

/// <summary>A write queued to the log store's writer: an append, or a change of topics run inside the transaction.</summary>
internal abstract class PendingWrite : IGroupCommitOperation
{
    protected PendingWrite((string Topic, int Partition)? appended) => Appended = appended;

    public (string Topic, int Partition)? Appended { get; }

    public Exception? Error { get; set; }

    /// <summary>Runs inside the transaction; returns the number of records appended.</summary>
    public abstract long Run(WriterSession session);

    /// <summary>Called after the commit (or the failure): only now is an append acknowledged.</summary>
    public abstract void Complete();
}

/// <summary>An append: run by the commit loop together with the other appends to its partition.</summary>
internal sealed class AppendWrite : PendingWrite
{
    private readonly TaskCompletionSource<AppendResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public AppendWrite(string topic, int partition, IReadOnlyList<ReadOnlyMemory<byte>> records)
        : base((topic, partition))
    {
        Topic = topic;
        Partition = partition;
        Records = records;
    }

    public string Topic { get; }

    public int Partition { get; }

    public IReadOnlyList<ReadOnlyMemory<byte>> Records { get; }

    public AppendResult Result { get; set; }

    public Task<AppendResult> Task => _completion.Task;

    public override long Run(WriterSession session) => throw new InvalidOperationException("Appends are run by the commit loop.");

    public override void Complete()
    {
        if (Error is { } error)
        {
            _completion.TrySetException(error);
        }
        else
        {
            _completion.TrySetResult(Result);
        }
    }
}

/// <summary>A write other than an append (a topic created, grown or deleted, a truncation) and the value it returns.</summary>
internal sealed class PendingWrite<T> : PendingWrite
{
    private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<WriterSession, T> _run;
    private T? _result;

    public PendingWrite(Func<WriterSession, T> run, (string Topic, int Partition)? appended)
        : base(appended) => _run = run;

    public Task<T> Task => _completion.Task;

    public override long Run(WriterSession session)
    {
        _result = _run(session);
        return 0;
    }

    public override void Complete()
    {
        if (Error is { } error)
        {
            _completion.TrySetException(error);
        }
        else
        {
            _completion.TrySetResult(_result!);
        }
    }
}
