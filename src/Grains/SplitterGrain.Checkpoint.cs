using OrleansShards.GrainInterfaces;

namespace OrleansShards.Grains;

/// <summary>A splitter taking on the state of an imported job's partition.</summary>
public sealed partial class SplitterGrain
{
    /// <inheritdoc />
    public async Task<SplitterStatus> Adopt(SplitterAssignment assignment, PinnedFile file)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        ArgumentNullException.ThrowIfNull(file);
        // The job wrote its state (the file acknowledged) before it asks: this offset follows a durable acknowledgement.
        state.State.Partition = assignment.Partition;
        state.State.File = file;
        state.State.Acknowledged = true;
        await state.WriteStateAsync();
        return Status();
    }
}
