namespace OrleansShards.Providers.LogStore;

/// <summary>Wakes the waiters of one partition: completed and replaced at every append.</summary>
internal sealed class AppendSignal
{
    private TaskCompletionSource _current = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Task => Volatile.Read(ref _current).Task;

    public void Wake() =>
        Interlocked.Exchange(ref _current, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
