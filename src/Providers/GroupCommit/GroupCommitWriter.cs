using System.Threading.Channels;

namespace OrleansShards.Providers.GroupCommit;

/// <summary>
/// The one writer of a database, shared by the grain storage and the log store. Writes of any number of callers are
/// queued; a dedicated thread takes everything that queued up while the previous commit was being made durable and
/// hands it to <see cref="CommitBatch"/> as one batch (group commit), then completes each write with its own outcome.
/// A durable commit costs an fsync whether it holds one row or a thousand, so the cost per write falls as load rises.
/// </summary>
/// <remarks>
/// The thread is dedicated, not a pool task: it blocks in the database's fsync, which must not hold up the thread pool
/// the grains and requests run on. Completions run their continuations asynchronously (the operations' business), so
/// no caller's code runs on this thread and delays the next commit.
/// </remarks>
/// <typeparam name="TOperation">The queued write.</typeparam>
internal abstract class GroupCommitWriter<TOperation> : IDisposable
    where TOperation : class, IGroupCommitOperation
{
    private readonly Channel<TOperation> _queue = Channel.CreateUnbounded<TOperation>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = false });

    private readonly int _maxBatchSize;
    private readonly Thread _thread;
    private int _pending;
    private int _disposed;
    private bool _started;

    /// <summary>Prepares the writer; <see cref="Start"/> starts its thread once the derived type is ready.</summary>
    /// <param name="threadName">Names the thread in dumps and profilers.</param>
    /// <param name="maxBatchSize">Most writes committed in one transaction.</param>
    protected GroupCommitWriter(string threadName, int maxBatchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        _maxBatchSize = maxBatchSize;
        _thread = new Thread(Run) { IsBackground = true, Name = threadName };
    }

    /// <summary>Writes accepted and not yet completed: queued, or in the batch being committed.</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Queues <paramref name="operation"/>; false when the writer has stopped taking writes.</summary>
    public bool TryEnqueue(TOperation operation)
    {
        Interlocked.Increment(ref _pending);
        if (_queue.Writer.TryWrite(operation))
        {
            return true;
        }

        Interlocked.Decrement(ref _pending);
        return false;
    }

    /// <summary>Stops taking writes, commits everything already queued, then calls <see cref="OnStopped"/>.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        if (!_started)
        {
            OnStopped();
        }
        else if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    /// <summary>Starts the writer thread; called once at the end of the derived type's constructor.</summary>
    protected void Start()
    {
        _started = true;
        _thread.Start();
    }

    /// <summary>
    /// Applies the batch in as few transactions as the database allows and sets each operation's
    /// <see cref="IGroupCommitOperation.Error"/>; an operation without an error counts as committed.
    /// </summary>
    protected abstract void CommitBatch(List<TOperation> batch);

    /// <summary>Called after the operations of a batch were completed (wakes readers waiting for what it wrote).</summary>
    protected virtual void AfterBatch(List<TOperation> batch)
    {
    }

    /// <summary>Called when <see cref="CommitBatch"/> threw, which it should not: every operation of the batch then fails with it.</summary>
    protected abstract void OnUnexpectedFailure(Exception exception);

    /// <summary>Called on the writer thread after the last batch: closes the connection.</summary>
    protected virtual void OnStopped()
    {
    }

    private void Run()
    {
        var reader = _queue.Reader;
        var batch = new List<TOperation>(Math.Min(_maxBatchSize, 256));
        while (true)
        {
            if (!reader.TryRead(out var first))
            {
                var wait = reader.WaitToReadAsync();
                var more = wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
                if (!more)
                {
                    OnStopped();
                    return;
                }

                continue;
            }

            batch.Add(first);
            while (batch.Count < _maxBatchSize && reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            try
            {
                CommitBatch(batch);
            }
            catch (Exception exception)
            {
                // CommitBatch completes every operation's outcome itself; this only keeps the thread alive on a bug.
                OnUnexpectedFailure(exception);
                foreach (var operation in batch)
                {
                    operation.Error ??= exception;
                }
            }

            Interlocked.Add(ref _pending, -batch.Count);
            foreach (var operation in batch)
            {
                operation.Complete();
            }

            AfterBatch(batch);
            batch.Clear();
        }
    }
}
