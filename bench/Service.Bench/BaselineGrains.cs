using Orleans.Concurrency;
using OrleansShards.Grains;

namespace OrleansShards.Service.Bench;

/// <summary>The machine's baseline: a grain whose every call writes ~2 KiB of state to the same SQLite provider as the jobs.</summary>
[GenerateSerializer]
public sealed class BlobState
{
    /// <summary>Calls so far.</summary>
    [Id(0)] public long Calls { get; set; }

    /// <summary>The payload written with every call.</summary>
    [Id(1)] public byte[] Payload { get; set; } = [];
}

/// <summary>A non-reentrant grain: one call at a time, each awaiting its own durable write.</summary>
public interface IBlobGrain : IGrainWithIntegerKey
{
    /// <summary>Changes the state and writes it.</summary>
    Task Write();
}

/// <summary>The same, reentrant: calls overlap at the write and Orleans coalesces their writes (group commit).</summary>
public interface IReentrantBlobGrain : IGrainWithIntegerKey
{
    /// <summary>Changes the state and writes it.</summary>
    Task Write();
}

/// <summary>Shared body of the baseline grains.</summary>
public abstract class BlobGrainBase(IPersistentState<BlobState> state) : Grain
{
    /// <summary>Size of the payload.</summary>
    public const int PayloadBytes = 2048;

    /// <summary>Changes the state and writes it.</summary>
    public async Task Write()
    {
        var s = state.State;
        if (s.Payload.Length != PayloadBytes)
        {
            s.Payload = new byte[PayloadBytes];
            new Random(42).NextBytes(s.Payload);
        }

        s.Calls++;
        BitConverter.TryWriteBytes(s.Payload, s.Calls);
        await state.WriteStateAsync();
    }
}

/// <summary>Non-reentrant baseline grain.</summary>
public sealed class BlobGrain([PersistentState("blob", ShardsOptions.StorageName)] IPersistentState<BlobState> state)
    : BlobGrainBase(state), IBlobGrain;

/// <summary>Reentrant baseline grain.</summary>
[Reentrant]
public sealed class ReentrantBlobGrain([PersistentState("blob", ShardsOptions.StorageName)] IPersistentState<BlobState> state)
    : BlobGrainBase(state), IReentrantBlobGrain;
