namespace OrleansShards.Providers.Relational;

/// <summary>
/// Counters of a <see cref="RelationalGrainStorage"/>, read without locks; for monitoring and for proving group commit.
/// </summary>
/// <param name="Transactions">Write transactions committed since the storage opened.</param>
/// <param name="Writes">Writes and clears committed in those transactions (ETag conflicts and failed writes excluded).</param>
/// <param name="LargestBatch">Most writes committed in one transaction.</param>
/// <param name="Pending">Writes accepted and not yet completed: waiting for the writer, or in the transaction being committed.</param>
public readonly record struct RelationalGrainStorageStatistics(long Transactions, long Writes, int LargestBatch, int Pending);
