namespace OrleansShards.Providers.Tests;

/// <summary>Public get/set properties: Orleans 10's default grain storage serializer is Newtonsoft JSON.</summary>
[GenerateSerializer]
public class CounterState
{
    [Id(0)] public int Value { get; set; }
    [Id(1)] public string Label { get; set; } = string.Empty;
    [Id(2)] public List<string> History { get; set; } = [];
}

[GenerateSerializer]
public sealed record CounterSnapshot([property: Id(0)] int Value, [property: Id(1)] string? ETag, [property: Id(2)] bool RecordExists, [property: Id(3)] string Label);

public interface ICounterBase : IGrainWithStringKey
{
    Task<int> Add(int amount);
    Task<CounterSnapshot> Get();
    Task<CounterSnapshot> Reread();
    Task Clear();
    Task Deactivate();
}

public interface ICounterGrain : ICounterBase;

public interface IOtherCounterGrain : ICounterBase;

public abstract class CounterGrainBase(IPersistentState<CounterState> state, string label) : Grain, ICounterBase
{
    public async Task<int> Add(int amount)
    {
        state.State.Value += amount;
        state.State.Label = label;
        state.State.History.Add($"+{amount}");
        await state.WriteStateAsync();
        return state.State.Value;
    }

    public Task<CounterSnapshot> Get() => Task.FromResult(Snapshot());

    public async Task<CounterSnapshot> Reread()
    {
        await state.ReadStateAsync();
        return Snapshot();
    }

    public Task Clear() => state.ClearStateAsync();

    public Task Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    private CounterSnapshot Snapshot() => new(state.State.Value, state.Etag, state.RecordExists, state.State.Label);
}

public sealed class CounterGrain([PersistentState("s", "sqlite")] IPersistentState<CounterState> state)
    : CounterGrainBase(state, "counter"), ICounterGrain;

public sealed class OtherCounterGrain([PersistentState("s", "sqlite")] IPersistentState<CounterState> state)
    : CounterGrainBase(state, "other"), IOtherCounterGrain;
