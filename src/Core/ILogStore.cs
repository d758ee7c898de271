namespace OrleansShards.Core;

/// <summary>
/// The built-in partitioned log: topics of N partitions whose records get dense 64-bit offsets,
/// appended durably and read back from any retained offset. Grains, the stream provider and the
/// HTTP API reach the log only through this contract; the silo wires in an implementation
/// (SQLite by default, PostgreSQL) from the providers.
/// </summary>
/// <remarks>
/// Implementations are safe for concurrent use. The append for a topic partition is serialized
/// by its log grain in the normal flow, but an implementation must still assign offsets atomically
/// (two concurrent appends never share an offset, and offsets have no gaps).
/// </remarks>
public interface ILogStore
{
    /// <summary>
    /// Creates <paramref name="topic"/> with <paramref name="partitions"/> partitions. Creating a
    /// topic that exists with the same number of partitions returns it unchanged; with another
    /// number it throws <see cref="LogStoreException"/> of kind <see cref="ShardsErrorKind.Conflict"/>.
    /// </summary>
    ValueTask<TopicDescription> CreateTopicAsync(string topic, int partitions, CancellationToken cancellationToken = default);

    /// <summary>Grows <paramref name="topic"/> to <paramref name="partitions"/> partitions (never shrinks it).</summary>
    ValueTask<TopicDescription> AddPartitionsAsync(string topic, int partitions, CancellationToken cancellationToken = default);

    /// <summary>The topic, or <see langword="null"/> when it does not exist.</summary>
    ValueTask<TopicDescription?> GetTopicAsync(string topic, CancellationToken cancellationToken = default);

    /// <summary>Every topic, ordered by name.</summary>
    ValueTask<IReadOnlyList<TopicDescription>> ListTopicsAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes the topic and all its records; false when it did not exist.</summary>
    ValueTask<bool> DeleteTopicAsync(string topic, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends <paramref name="records"/> (each one UTF-8 JSON value) to a partition in one
    /// transaction and returns once they are durable. Offsets are consecutive, starting at the
    /// partition's high-water mark before the call.
    /// </summary>
    ValueTask<AppendResult> AppendAsync(string topic, int partition, IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads up to <paramref name="maxRecords"/> records from <paramref name="fromOffset"/> in
    /// offset order. Reading at or past the high-water mark gives no records. Reading below the
    /// first retained offset throws <see cref="LogTruncatedException"/>: records are never skipped silently.
    /// </summary>
    ValueTask<LogReadResult> ReadAsync(string topic, int partition, long fromOffset, int maxRecords, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads as <see cref="ReadAsync(string, int, long, int, CancellationToken)"/> does, stopping before the record that
    /// would take the values read past <paramref name="maxBytes"/>; the first record is read whatever its size, so a
    /// reader always makes progress. What a read holds is then bounded by bytes, not only by count.
    /// </summary>
    ValueTask<LogReadResult> ReadAsync(string topic, int partition, long fromOffset, int maxRecords, long maxBytes, CancellationToken cancellationToken = default);

    /// <summary>The first retained offset and the high-water mark (next offset to be written) of a partition.</summary>
    ValueTask<PartitionBounds> GetBoundsAsync(string topic, int partition, CancellationToken cancellationToken = default);

    /// <summary>
    /// The first offset whose record was appended at or after <paramref name="time"/>, or the
    /// high-water mark when none was. Retention by age uses it.
    /// </summary>
    ValueTask<long> FindOffsetAsync(string topic, int partition, DateTimeOffset time, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes the records below <paramref name="beforeOffset"/> (clamped to the high-water mark)
    /// and returns the new first retained offset. Offsets are never reused.
    /// </summary>
    ValueTask<long> TruncateAsync(string topic, int partition, long beforeOffset, CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes when the partition's high-water mark is above <paramref name="afterOffset"/>
    /// (true) or after <paramref name="timeout"/> (false). Appends made through this store instance
    /// wake waiters at once; appends by other processes are seen by polling within the timeout.
    /// </summary>
    ValueTask<bool> WaitForAppendAsync(string topic, int partition, long afterOffset, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes when the high-water mark of any of <paramref name="positions"/> is above its offset (true) or after
    /// <paramref name="timeout"/> (false): <see cref="WaitForAppendAsync"/> over many partitions at once. The default
    /// waits on each partition; an implementation may look at all of them with one query per poll.
    /// </summary>
    async ValueTask<bool> WaitForAnyAppendAsync(IReadOnlyList<(string Topic, int Partition, long AfterOffset)> positions, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(positions);
        if (positions.Count == 0)
        {
            await Task.Delay(timeout, cancellationToken).ConfigureAwait(false);
            return false;
        }

        using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var waits = positions.Select(p => WaitForAppendAsync(p.Topic, p.Partition, p.AfterOffset, timeout, done.Token).AsTask()).ToList();
        try
        {
            var first = await Task.WhenAny(waits).ConfigureAwait(false);
            return await first.ConfigureAwait(false);
        }
        finally
        {
            await done.CancelAsync().ConfigureAwait(false);
            foreach (var wait in waits)
            {
                _ = wait.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }
}
