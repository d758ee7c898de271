using Orleans.Storage;

namespace OrleansShards.Grains.Tests.Faults;

/// <summary>What an armed fault does at its write.</summary>
public enum FaultKind
{
    /// <summary>The write fails and nothing is stored; the silo lives on.</summary>
    FailBefore,

    /// <summary>The write is stored, then the call fails; the silo lives on.</summary>
    FailAfter,

    /// <summary>The process dies right before the write: nothing is stored, and no storage call succeeds afterwards.</summary>
    CrashBefore,

    /// <summary>The process dies right after the write: it is stored, its caller never hears so, and no storage call succeeds afterwards.</summary>
    CrashAfter,
}

/// <summary>Thrown by the storage wrapper where a fault was injected.</summary>
public sealed class InjectedFaultException(string message) : Exception(message);

/// <summary>
/// Decides, write by write, where a fault happens: armed with a state name (the grain's
/// <c>[PersistentState]</c> name, so one grain type), the ordinal of the write to hit among the
/// writes of that state counted from arming, and what to do there. After a crash every storage
/// call fails, as it would for a process that is gone; the test then kills the silos and starts
/// new ones on the same file.
/// </summary>
public sealed class FaultInjector
{
    private readonly Lock _gate = new();
    private string? _stateName;
    private int _remaining;
    private FaultKind _kind;
    private TaskCompletionSource _tripped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Whether a crash happened: from then on every storage call fails.</summary>
    public bool Crashed { get; private set; }

    /// <summary>Completes when the armed fault fires.</summary>
    public Task Tripped => _tripped.Task;

    private readonly Dictionary<string, int> _writes = [];

    /// <summary>Writes begun so far of <paramref name="stateName"/>, armed or not.</summary>
    public int WritesOf(string stateName)
    {
        lock (_gate)
        {
            return _writes.GetValueOrDefault(stateName);
        }
    }

    /// <summary>Waits until a write of <paramref name="stateName"/> begins after this call: it holds every change made before.</summary>
    public async Task WaitForNextWriteAsync(string stateName)
    {
        var seen = WritesOf(stateName);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (WritesOf(stateName) == seen)
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    /// <summary>Arms a fault at the <paramref name="nth"/> write (from 1) of <paramref name="stateName"/> from now on.</summary>
    public void Arm(string stateName, int nth, FaultKind kind)
    {
        lock (_gate)
        {
            _stateName = stateName;
            _remaining = nth;
            _kind = kind;
            _tripped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    internal void ThrowIfCrashed(string operation, string stateName, GrainId grainId)
    {
        if (Crashed)
        {
            throw new InjectedFaultException($"injected crash: the process is gone ({operation} of {stateName} for {grainId})");
        }
    }

    internal (bool Hit, FaultKind Kind) Count(string stateName, GrainId grainId)
    {
        lock (_gate)
        {
            ThrowIfCrashed("write", stateName, grainId);
            _writes[stateName] = _writes.GetValueOrDefault(stateName) + 1;
            if (_stateName != stateName || _remaining <= 0 || --_remaining > 0)
            {
                return (false, default);
            }

            _stateName = null;
            if (_kind is FaultKind.CrashBefore)
            {
                Crashed = true;
            }

            return (true, _kind);
        }
    }

    internal void Fire(FaultKind kind, string stateName, GrainId grainId)
    {
        if (kind is FaultKind.CrashAfter)
        {
            Crashed = true;
        }

        _tripped.TrySetResult();
        throw new InjectedFaultException($"injected {kind} at a write of {stateName} for {grainId}");
    }
}

/// <summary>
/// An <see cref="IGrainStorage"/> around any other that fails or crashes on command, before or
/// after the write (Orleans.TestingHost's FaultInjectionGrainStorage only fails before one).
/// </summary>
public sealed class FaultInjectingGrainStorage(IGrainStorage inner, FaultInjector injector) : IGrainStorage
{
    /// <inheritdoc />
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        injector.ThrowIfCrashed("read", stateName, grainId);
        return inner.ReadStateAsync(stateName, grainId, grainState);
    }

    /// <inheritdoc />
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var (hit, kind) = injector.Count(stateName, grainId);
        if (hit && kind is FaultKind.FailBefore or FaultKind.CrashBefore)
        {
            injector.Fire(kind, stateName, grainId);
        }

        await inner.WriteStateAsync(stateName, grainId, grainState);
        if (hit)
        {
            injector.Fire(kind, stateName, grainId);
        }
    }

    /// <inheritdoc />
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        injector.ThrowIfCrashed("clear", stateName, grainId);
        return inner.ClearStateAsync(stateName, grainId, grainState);
    }
}
