using System.Data.Common;
using Microsoft.Extensions.Logging;
using OrleansShards.Core;
using OrleansShards.Providers.GroupCommit;
using static OrleansShards.Providers.LogStore.LogStoreValidation;

namespace OrleansShards.Providers.LogStore;

/// <content>The writes: what runs inside the writer's transactions, and the writer that batches them.</content>
public abstract partial class RelationalLogStore
{
    /// <summary>
    /// The store's group-commit writer (<see cref="GroupCommitWriter{TOperation}"/>): each batch is ordered by partition
    /// and committed in one transaction; when the database fails that transaction, each write gets one of its own, so
    /// only the one at fault fails.
    /// </summary>
    private sealed class LogWriter : GroupCommitWriter<PendingWrite>
    {
        private readonly RelationalLogStore _store;

        public LogWriter(RelationalLogStore store, int maxBatchSize)
            : base($"Log store writer ({store.Description})", maxBatchSize)
        {
            _store = store;
            Start();
        }

        protected override void CommitBatch(List<PendingWrite> batch)
        {
            // Partition rows are locked in one order, so two processes committing batches cannot deadlock on them.
            if (batch.Count > 1)
            {
                var ordered = batch.OrderBy(w => w.Appended?.Topic ?? string.Empty, StringComparer.Ordinal).ThenBy(w => w.Appended?.Partition ?? -1).ToList();
                batch.Clear();
                batch.AddRange(ordered);
            }

            if (!_store.TryCommit(batch))
            {
                foreach (var write in batch)
                {
                    _store.TryCommit([write]);
                }
            }
        }

        protected override void AfterBatch(List<PendingWrite> batch)
        {
            foreach (var write in batch)
            {
                if (write.Error is null && write.Appended is { } key && _store._signals.TryGetValue(key, out var signal))
                {
                    signal.Wake();
                }
            }
        }

        protected override void OnUnexpectedFailure(Exception exception) => _store.LogBatchFailed(exception, _store.Description);

        protected override void OnStopped()
        {
            _store._session?.Dispose();
            _store._session = null;
        }
    }

    /// <summary>Runs the writes in one transaction; false when the database failed it (nothing of it committed).</summary>
    private bool TryCommit(List<PendingWrite> batch, bool retryDuplicate = true)
    {
        foreach (var write in batch)
        {
            write.Error = null;
        }

        try
        {
            _session ??= new WriterSession(OpenWriterConnection());
        }
        catch (Exception exception)
        {
            var failure = Failure("be opened", exception);
            foreach (var write in batch)
            {
                write.Error = failure;
            }

            return true;
        }

        var session = _session;
        try
        {
            session.Command(BeginStatement).Execute();
            var appended = 0L;
            for (var i = 0; i < batch.Count;)
            {
                if (batch[i] is AppendWrite first)
                {
                    // Appends to one partition (adjacent: the batch is ordered by partition) become one append of all
                    // their records: one high-water mark update and one insert, whatever the number of producers.
                    var end = i + 1;
                    while (end < batch.Count && batch[end] is AppendWrite next && next.Topic == first.Topic && next.Partition == first.Partition)
                    {
                        end++;
                    }

                    appended += AppendGroup(session, batch, i, end);
                    i = end;
                    continue;
                }

                try
                {
                    batch[i].Run(session);
                }
                catch (LogStoreException refused)
                {
                    // Refused before it wrote anything: the rest of the batch goes on.
                    batch[i].Error = refused;
                }

                i++;
            }

            session.Command("COMMIT").Execute();
            Interlocked.Increment(ref _transactions);
            Interlocked.Add(ref _appendedRecords, appended);
            return true;
        }
        catch (Exception exception)
        {
            var failure = exception is DbException db && IsUniqueViolation(db)
                ? exception
                : Failure(batch.Count == 1 ? "commit a write" : "commit a batch of writes", exception);
            LogBatchFailed(exception, Description);
            try
            {
                session.Command("ROLLBACK").Execute();
            }
            catch (Exception rollback)
            {
                // The connection is broken: the next batch opens a new one.
                LogRollbackFailed(rollback, Description);
                _session = null;
                session.Dispose();
            }

            foreach (var write in batch)
            {
                write.Error = failure;
            }

            if (retryDuplicate && batch.Count == 1 && exception is DbException unique && IsUniqueViolation(unique))
            {
                // Another process created the same topic at the same moment: run it again to see the topic it made.
                batch[0].Error = null;
                return TryCommit(batch, retryDuplicate: false);
            }

            return batch.Count == 1;
        }
    }

    private TopicDescription CreateTopic(WriterSession session, string topic, int partitions)
    {
        var existing = FindTopic(session, topic);
        if (existing is { } found)
        {
            if (found.Description.Partitions != partitions)
            {
                throw new LogStoreException(ShardsErrorKind.Conflict,
                    $"topic '{topic}' exists with {found.Description.Partitions} partition(s); it cannot be created again with {partitions}");
            }

            return found.Description;
        }

        var createdAt = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var id = Convert.ToInt64(session.Command(
                $"INSERT INTO {LogStoreSchema.Topics} (name, partitions, created_at) VALUES (@name, @partitions, @created) RETURNING id",
                "@name", "@partitions", "@created")
            .Scalar(topic, partitions, createdAt), System.Globalization.CultureInfo.InvariantCulture);
        InsertPartitions(session, id, 0, partitions);
        return new TopicDescription(topic, partitions, DateTimeOffset.FromUnixTimeMilliseconds(createdAt));
    }

    private TopicDescription AddPartitions(WriterSession session, string topic, int partitions)
    {
        var (id, description) = FindTopic(session, topic) ?? throw TopicNotFound(topic);
        if (partitions < description.Partitions)
        {
            throw new LogStoreException(ShardsErrorKind.Invalid,
                $"topic '{topic}' has {description.Partitions} partition(s); partitions are never removed, so it cannot shrink to {partitions}");
        }

        if (partitions == description.Partitions)
        {
            return description;
        }

        session.Command($"UPDATE {LogStoreSchema.Topics} SET partitions = @partitions WHERE id = @id", "@partitions", "@id").Execute(partitions, id);
        InsertPartitions(session, id, description.Partitions, partitions);
        return description with { Partitions = partitions };
    }

    private static void InsertPartitions(WriterSession session, long topicId, int from, int to)
    {
        var insert = session.Command(
            $"INSERT INTO {LogStoreSchema.Partitions} (topic_id, part, first_retained, next_offset, last_appended_at) VALUES (@topic, @part, 0, 0, 0)",
            "@topic", "@part");
        for (var part = from; part < to; part++)
        {
            insert.Execute(topicId, part);
        }
    }

    private static (long Id, TopicDescription Description)? FindTopic(WriterSession session, string topic)
    {
        using var reader = session.Command($"SELECT id, name, partitions, created_at FROM {LogStoreSchema.Topics} WHERE name = @name", "@name").Reader(topic);
        if (!reader.Read())
        {
            return null;
        }

        return (reader.GetInt64(0), new TopicDescription(reader.GetString(1), reader.GetInt32(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
    }

    private static bool DeleteTopic(WriterSession session, string topic)
    {
        if (FindTopic(session, topic) is not { } found)
        {
            return false;
        }

        session.Command($"DELETE FROM {LogStoreSchema.Records} WHERE topic_id = @id", "@id").Execute(found.Id);
        session.Command($"DELETE FROM {LogStoreSchema.Partitions} WHERE topic_id = @id", "@id").Execute(found.Id);
        session.Command($"DELETE FROM {LogStoreSchema.Topics} WHERE id = @id", "@id").Execute(found.Id);
        return true;
    }

    /// <summary>Appends the records of <c>batch[from..to)</c>, all to one partition, in order; returns the number appended.</summary>
    private long AppendGroup(WriterSession session, List<PendingWrite> batch, int from, int to)
    {
        var first = (AppendWrite)batch[from];
        var (topic, partition) = (first.Topic, first.Partition);
        IReadOnlyList<ReadOnlyMemory<byte>> records;
        if (to - from == 1)
        {
            records = first.Records;
        }
        else
        {
            var all = new List<ReadOnlyMemory<byte>>();
            for (var i = from; i < to; i++)
            {
                all.AddRange(((AppendWrite)batch[i]).Records);
            }

            records = all;
        }

        var now = TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();

        // The row lock this update takes is held to the commit: a concurrent append from another process waits for it
        // and then bumps the new high-water mark.
        long topicId, next, appendedAt;
        using (var reader = session.Command(
                   $"UPDATE {LogStoreSchema.Partitions} SET next_offset = next_offset + @count, last_appended_at = {GreatestFunction}(last_appended_at, @now) " +
                   $"WHERE part = @part AND topic_id = (SELECT id FROM {LogStoreSchema.Topics} WHERE name = @name) " +
                   "RETURNING topic_id, next_offset, last_appended_at",
                   "@count", "@now", "@part", "@name")
               .Reader((long)records.Count, now, partition, topic))
        {
            if (!reader.Read())
            {
                reader.Close();
                var refused = FindTopic(session, topic) is { } found ? PartitionNotFound(topic, partition, found.Description.Partitions) : TopicNotFound(topic);
                for (var i = from; i < to; i++)
                {
                    batch[i].Error = refused;
                }

                return 0;
            }

            topicId = reader.GetInt64(0);
            next = reader.GetInt64(1);
            appendedAt = reader.GetInt64(2);
        }

        var offset = next - records.Count;
        InsertRecords(session, topicId, partition, offset, appendedAt, records);
        AnnounceAppend(session, topic, partition);
        for (var i = from; i < to; i++)
        {
            var write = (AppendWrite)batch[i];
            write.Result = new AppendResult(offset, offset + write.Records.Count);
            offset += write.Records.Count;
        }

        return records.Count;
    }

    private static long Truncate(WriterSession session, string topic, int partition, long beforeOffset)
    {
        long topicId, firstRetained;
        using (var reader = session.Command(
                   $"UPDATE {LogStoreSchema.Partitions} SET first_retained = CASE WHEN first_retained >= @before THEN first_retained " +
                   "WHEN next_offset <= @before THEN next_offset ELSE @before END " +
                   $"WHERE part = @part AND topic_id = (SELECT id FROM {LogStoreSchema.Topics} WHERE name = @name) RETURNING topic_id, first_retained",
                   "@before", "@part", "@name")
               .Reader(beforeOffset, partition, topic))
        {
            if (!reader.Read())
            {
                reader.Close();
                throw FindTopic(session, topic) is { } found ? PartitionNotFound(topic, partition, found.Description.Partitions) : TopicNotFound(topic);
            }

            topicId = reader.GetInt64(0);
            firstRetained = reader.GetInt64(1);
        }

        session.Command($"DELETE FROM {LogStoreSchema.Records} WHERE topic_id = @topic AND part = @part AND record_offset < @before", "@topic", "@part", "@before")
            .Execute(topicId, partition, firstRetained);
        return firstRetained;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Log store {Store}: a transaction failed")]
    private partial void LogBatchFailed(Exception exception, string store);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Log store {Store}: rollback failed; the connection is reopened")]
    private partial void LogRollbackFailed(Exception exception, string store);
}
