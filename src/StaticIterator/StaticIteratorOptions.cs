namespace OrleansShards.StaticIteration;

/// <summary>
/// The arguments of <see cref="StaticIterator.ReadAsync(StaticIteratorOptions, CancellationToken)"/>, as in
/// <c>ODPSReader.to_iterator</c>: every worker of a data-parallel job passes the same values but its own
/// <see cref="WorkerIndex"/>, and gets its own deterministic part of every epoch without any coordinator.
/// </summary>
public sealed record StaticIteratorOptions
{
    /// <summary>The number of workers that read the source together (at least 1).</summary>
    public int NumWorkers { get; init; } = 1;

    /// <summary>This worker's index, in <c>[0, NumWorkers)</c>.</summary>
    public int WorkerIndex { get; init; }

    /// <summary>Records per batch (at least 1). Only the last batch of a worker in an epoch may be shorter, and only without <see cref="DropRemainder"/>.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Passes over the source (at least 1).</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Whether each epoch comes in a seeded random order (see <see cref="StaticIterator"/>); otherwise source order.</summary>
    public bool Shuffle { get; init; }

    /// <summary>The shuffle seed: the same seed gives the same order on every machine and run.</summary>
    public long Seed { get; init; }

    /// <summary>The columns to read, in this order; <see langword="null"/> for all.</summary>
    public IReadOnlyList<string>? Columns { get; init; }

    /// <summary>Read only the first <c>Limit</c> records of the source (in file order); negative (the default) for all of them.</summary>
    public long Limit { get; init; } = -1;

    /// <summary>
    /// Whether to leave out the records that do not fill a batch on every worker, so that every worker gets the same
    /// number of full batches in every epoch (synchronous data-parallel training waits for all workers at every step
    /// and hangs when one has a batch fewer). At most <c>NumWorkers × BatchSize − 1</c> records of an epoch are left
    /// out: the tail of the epoch's order, which is a different random set each epoch when shuffling.
    /// </summary>
    public bool DropRemainder { get; init; }

    /// <summary>
    /// Shuffling: records per block, the contiguous run of a file that is read with one request (at least 1). Blocks
    /// are cut per file as the job's shards are. Larger blocks read faster; the order is as random for any size
    /// because <see cref="ShuffleBufferBlocks"/> blocks are mixed together.
    /// </summary>
    public int ShuffleBlockSize { get; init; } = 1024;

    /// <summary>
    /// Shuffling: how many blocks (in the epoch's random block order) are mixed together record by record (at least
    /// 1). A batch then draws from that many random places of the source; a worker holds that many blocks in memory.
    /// </summary>
    public int ShuffleBufferBlocks { get; init; } = 16;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid argument.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(NumWorkers, 1, nameof(NumWorkers));
        if (WorkerIndex < 0 || WorkerIndex >= NumWorkers)
        {
            throw new ArgumentOutOfRangeException(nameof(WorkerIndex), WorkerIndex, $"must be in [0, {NumWorkers}), the number of workers");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(Epochs, 1, nameof(Epochs));
        ArgumentOutOfRangeException.ThrowIfLessThan(ShuffleBlockSize, 1, nameof(ShuffleBlockSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(ShuffleBufferBlocks, 1, nameof(ShuffleBufferBlocks));
    }
}
