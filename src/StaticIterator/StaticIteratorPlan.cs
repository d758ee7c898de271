namespace OrleansShards.StaticIteration;

/// <summary>What one worker gets from <see cref="StaticIterator"/> in every epoch.</summary>
/// <param name="SourceRecords">The records of the source.</param>
/// <param name="EpochRecords">The records an epoch covers: the source, or its first <c>Limit</c> records.</param>
/// <param name="WorkerBatches">The batches this worker gets per epoch.</param>
/// <param name="WorkerRecords">The records this worker gets per epoch.</param>
/// <param name="LeftOut">The records of an epoch that no worker gets (only with <c>DropRemainder</c>; fewer than <c>NumWorkers × BatchSize</c>).</param>
public sealed record StaticIteratorPlan(long SourceRecords, long EpochRecords, long WorkerBatches, long WorkerRecords, long LeftOut);
