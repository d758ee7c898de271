namespace OrleansShards.Core;

/// <summary>
/// The step and rank arithmetic of a training run over an epoch of N records with global batch size G: step s is
/// positions <c>[s·G, (s+1)·G)</c> of the epoch's order, rank r of W gets <c>[s·G + r·G/W, s·G + (r+1)·G/W)</c>.
/// </summary>
/// <param name="RecordCount">N, the records of an epoch.</param>
/// <param name="GlobalBatchSize">G, the records of a step over all ranks.</param>
/// <param name="DropRemainder">
/// <see langword="true"/>: <c>⌊N/G⌋</c> steps, the last <c>N mod G</c> positions of the order left out.
/// <see langword="false"/>: <c>⌈N/G⌉</c> steps, the last one filled up from the start of the order (as PyTorch's
/// DistributedSampler pads).
/// </param>
[GenerateSerializer, Immutable]
public readonly record struct RunSteps([property: Id(0)] long RecordCount, [property: Id(1)] int GlobalBatchSize, [property: Id(2)] bool DropRemainder)
{
    /// <summary>The steps of an epoch.</summary>
    public long StepsPerEpoch => GlobalBatchSize < 1 ? 0
        : DropRemainder ? RecordCount / GlobalBatchSize
        : (RecordCount + GlobalBatchSize - 1) / GlobalBatchSize;

    /// <summary>The first problem of a batch request as (field, reason), or <see langword="null"/>.</summary>
    public (string Field, string Reason)? Validate(int epochs, long epoch, long step, int rank, int worldSize)
    {
        if (worldSize < 1 || GlobalBatchSize % worldSize != 0)
        {
            return ("worldSize", $"worldSize {worldSize} must be at least 1 and divide the global batch size {GlobalBatchSize}");
        }

        if (rank < 0 || rank >= worldSize)
        {
            return ("rank", $"rank {rank} must be in [0, {worldSize})");
        }

        if (epoch < 0 || epoch >= epochs)
        {
            return ("epoch", $"epoch {epoch} must be in [0, {epochs})");
        }

        if (step < 0 || step >= StepsPerEpoch)
        {
            return ("step", $"step {step} must be in [0, {StepsPerEpoch}), the steps of an epoch");
        }

        return null;
    }

    /// <summary>The first position of the order that rank <paramref name="rank"/> of <paramref name="worldSize"/> gets at <paramref name="step"/>.</summary>
    public long FirstPosition(long step, int rank, int worldSize) => (step * GlobalBatchSize) + ((long)rank * (GlobalBatchSize / worldSize));

    /// <summary>
    /// The order position of the <paramref name="index"/>-th record of rank <paramref name="rank"/>'s batch at
    /// <paramref name="step"/>: past the end of the order (the last step without dropRemainder) it wraps to the start.
    /// </summary>
    public long PositionOf(long step, int rank, int worldSize, int index)
    {
        var position = FirstPosition(step, rank, worldSize) + index;
        return position < RecordCount ? position : position % RecordCount;
    }

    /// <summary>The step after (<paramref name="epoch"/>, <paramref name="step"/>): the next of the epoch, or step 0 of the next epoch.</summary>
    public RunPosition After(int epoch, long step) => step + 1 < StepsPerEpoch ? new RunPosition(epoch, step + 1) : new RunPosition(epoch + 1, 0);
}
