using System.Globalization;

namespace OrleansShards.Core;

/// <summary>
/// Maps a job's state to a <see cref="CheckpointDocument"/> and back, and checks that a document holds
/// together: a known format and version, a valid spec, task ids that are shards of the files' catalogue in
/// the epochs they name, a cursor in range, lease ids below the lease sequence. Pure: no I/O.
/// </summary>
public static class Checkpoints
{
    /// <summary>The value of <see cref="CheckpointDocument.Format"/>.</summary>
    public const string Format = "orleans-shards-checkpoint";

    /// <summary>The document version this code writes and reads.</summary>
    public const int Version = 1;

    private static readonly string[] Lifecycles = ["running", "paused", "cancelled"];

    /// <summary>
    /// The checkpoint of a job. Copies only the fields named here (never a blanket copy of state), so
    /// nothing but what is listed can reach a document.
    /// </summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="spec">The job's normalised spec.</param>
    /// <param name="createdAt">When the job was created.</param>
    /// <param name="lifecycle"><c>running</c>, <c>paused</c> or <c>cancelled</c>.</param>
    /// <param name="files">The source files, in partition order, with their paths as users name them.</param>
    /// <param name="splitters">The splitters' offsets, in partition order.</param>
    /// <param name="book">The task book state.</param>
    /// <param name="catalog">The catalogue of the files' shards.</param>
    /// <param name="exportedAt">The time of the checkpoint.</param>
    public static CheckpointDocument Export(
        string jobId,
        JobSpec spec,
        DateTimeOffset createdAt,
        string lifecycle,
        IReadOnlyList<CheckpointFile> files,
        IReadOnlyList<CheckpointSplitter> splitters,
        TaskBookState book,
        ShardCatalog catalog,
        DateTimeOffset exportedAt)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(catalog);
        var deadThisEpoch = book.DeadLetters.Count(d => d.Epoch == book.Epoch);
        var doneThisEpoch = book.Completed
            ? catalog.ShardCount - deadThisEpoch
            : book.Cursor - book.InFlight.Count - book.Requeued.Count - deadThisEpoch;
        return new CheckpointDocument
        {
            Format = Format,
            Version = Version,
            ExportedAt = exportedAt,
            JobId = jobId,
            CreatedAt = createdAt,
            Lifecycle = lifecycle,
            Spec = ToCheckpointSpec(spec),
            Files = [.. files],
            Shards = catalog.ShardCount,
            Epoch = book.Epoch,
            Completed = book.Completed,
            NextLeaseSequence = book.NextLeaseSequence,
            Todo = new CheckpointTodo
            {
                Cursor = book.Cursor,
                Requeued = [.. book.Requeued.Select(s => TaskIds.Format(book.Epoch, catalog[s]))],
            },
            Doing = [.. book.InFlight.Values
                .OrderBy(l => LeaseSequence(l.LeaseId) ?? long.MaxValue)
                .ThenBy(l => l.LeaseId, StringComparer.Ordinal)
                .Select(l => new CheckpointLease
                {
                    TaskId = TaskIds.Format(l.Epoch, catalog[l.Shard]),
                    LeaseId = l.LeaseId,
                    WorkerId = l.WorkerId,
                    Attempt = l.Attempt,
                    ExpiresAt = l.ExpiresAt,
                })],
            Done = new CheckpointDone
            {
                Shards = doneThisEpoch,
                TotalShards = book.TotalShardsDone,
                TotalRecords = book.TotalRecordsDelivered,
                Epochs = [.. book.Epochs.Select(e => new CheckpointEpoch
                {
                    Epoch = e.Epoch,
                    ShardsDone = e.ShardsDone,
                    RecordsDelivered = e.RecordsDelivered,
                    LeasesExpired = e.Expired,
                    AttemptsFailed = e.Failed,
                })],
            },
            Retries = [.. book.Retries.Values
                .OrderBy(r => r.Epoch)
                .ThenBy(r => r.Shard)
                .Select(r => new CheckpointRetry
                {
                    TaskId = TaskIds.Format(r.Epoch, catalog[r.Shard]),
                    FailedAttempts = r.FailedAttempts,
                    Leases = r.Leases,
                    LastError = r.LastError,
                    CompletedBy = r.CompletedBy,
                })],
            DeadLetters = [.. book.DeadLetters.Select(d => new CheckpointDeadLetter
            {
                TaskId = TaskIds.Format(d.Epoch, d.Range),
                Attempts = d.Attempts,
                LastError = d.LastError,
            })],
            Splitters = [.. splitters],
        };
    }

    /// <summary>The whitelisted fields of <paramref name="spec"/>, normalised, without the id.</summary>
    public static CheckpointSpec ToCheckpointSpec(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var normalized = spec.Normalize();
        return new CheckpointSpec
        {
            Source = normalized.Source is not { } source ? null : new CheckpointSource
            {
                Kind = source.Kind,
                Paths = source.Paths is null ? null : [.. source.Paths],
                Header = source.Header,
                Delimiter = source.Delimiter,
                Path = source.Path,
                Table = source.Table,
                KeyColumn = source.KeyColumn,
                Connection = source.Connection,
                Bucket = source.Bucket,
                Container = source.Container,
                Prefix = source.Prefix,
                Transformer = source.Transformer,
                Distribution = source.Distribution,
                Partitions = source.Partitions,
                PartitionPattern = source.PartitionPattern,
                Topic = source.Topic,
                Keys = source.Keys,
                Watch = source.Watch,
            },
            ShardSize = normalized.ShardSize,
            Epochs = normalized.Epochs,
            Shuffle = normalized.Shuffle,
            Seed = normalized.Seed,
            LeaseTimeoutSeconds = normalized.LeaseTimeoutSeconds,
            MaxAttempts = normalized.MaxAttempts,
            Durability = normalized.Durability,
            FlushIntervalMs = normalized.FlushIntervalMs,
            MaxWaitMs = normalized.MaxWaitMs,
            Ordered = normalized.Ordered,
        };
    }

    /// <summary>The job spec of a checkpoint's spec (not yet validated), without an id.</summary>
    public static JobSpec ToJobSpec(CheckpointSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new JobSpec
        {
            Source = spec.Source is not { } source ? null : new SourceSpec
            {
                Kind = source.Kind ?? "",
                Paths = source.Paths is null ? null : [.. source.Paths],
                Header = source.Header,
                Delimiter = source.Delimiter,
                Path = source.Path,
                Table = source.Table,
                KeyColumn = source.KeyColumn,
                Connection = source.Connection,
                Bucket = source.Bucket,
                Container = source.Container,
                Prefix = source.Prefix,
                Transformer = source.Transformer,
                Distribution = source.Distribution,
                Partitions = source.Partitions,
                PartitionPattern = source.PartitionPattern,
                Topic = source.Topic,
                Keys = source.Keys,
                Watch = source.Watch,
            },
            ShardSize = spec.ShardSize,
            Epochs = spec.Epochs,
            Shuffle = spec.Shuffle,
            Seed = spec.Seed,
            LeaseTimeoutSeconds = spec.LeaseTimeoutSeconds,
            MaxAttempts = spec.MaxAttempts,
            Durability = spec.Durability ?? "",
            FlushIntervalMs = spec.FlushIntervalMs,
            MaxWaitMs = spec.MaxWaitMs,
            Ordered = spec.Ordered,
        };
    }

    /// <summary>Formats a content hash as a document holds it: 16 lower-case hexadecimal digits.</summary>
    public static string FormatHash(ulong hash) => hash.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>Parses a content hash of a document; <see langword="false"/> when it is not 1 to 16 hexadecimal digits.</summary>
    public static bool TryParseHash(string? text, out ulong hash)
    {
        hash = 0;
        return text is { Length: >= 1 and <= 16 } && ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out hash);
    }

    /// <summary>Checks the format and version of a document before anything else of it is read.</summary>
    /// <exception cref="CheckpointException">Not a checkpoint of this format, or of a version this code does not read.</exception>
    public static void CheckHeader(string? format, int? version)
    {
        if (string.IsNullOrEmpty(format))
        {
            throw new CheckpointException("format", $"format is required: a checkpoint document says \"format\": \"{Format}\"");
        }

        if (!string.Equals(format, Format, StringComparison.Ordinal))
        {
            throw new CheckpointException("format", $"format '{format}' is not '{Format}': the document is not an OrleansShards checkpoint");
        }

        if (version is null)
        {
            throw new CheckpointException("version", $"version is required; this server reads version {Version}");
        }

        if (version != Version)
        {
            throw new CheckpointException("version", string.Create(CultureInfo.InvariantCulture, $"version {version} is not supported; this server reads version {Version}"));
        }
    }

    /// <summary>
    /// Reads a document back into the state a job continues from: the leases that were in flight are
    /// re-queued (after the shards already re-queued, in lease order) with their attempt counts kept,
    /// and the re-queue counts no attempt. The document's files are taken as given: the caller
    /// checks them against the files it can read.
    /// </summary>
    /// <exception cref="CheckpointException">The document is of another format or version, or does not hold together.</exception>
    public static CheckpointRestore Restore(CheckpointDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        CheckHeader(document.Format, document.Version);
        if (document.Lifecycle is null || !Lifecycles.Contains(document.Lifecycle, StringComparer.Ordinal))
        {
            throw new CheckpointException("lifecycle", $"lifecycle '{document.Lifecycle}' is none of {string.Join(", ", Lifecycles)}");
        }

        var spec = RestoreSpec(document.Spec);
        var catalog = RestoreCatalog(document, spec);
        var book = new TaskBookState
        {
            Epoch = document.Epoch,
            Cursor = 0,
            NextLeaseSequence = document.NextLeaseSequence,
            Completed = document.Completed,
            Epochs = [],
        };
        if (document.Epoch < 0 || document.Epoch >= spec.Epochs)
        {
            throw Invalid("epoch", $"epoch {document.Epoch} is not an epoch of a job of {spec.Epochs} epochs");
        }

        if (document.NextLeaseSequence < 0)
        {
            throw Invalid("nextLeaseSequence", "nextLeaseSequence must not be negative");
        }

        var todo = document.Todo ?? throw Invalid("todo", "todo is required");
        if (todo.Cursor < 0 || todo.Cursor > catalog.ShardCount)
        {
            throw Invalid("todo.cursor", $"todo.cursor {todo.Cursor} is outside [0, {catalog.ShardCount}], the positions of an epoch of {catalog.ShardCount} shards");
        }

        book.Cursor = todo.Cursor;
        var order = new SeededPermutation(catalog.ShardCount, DeterministicHash.Mix(unchecked((ulong)spec.Seed), (ulong)document.Epoch), identity: !spec.Shuffle);
        var current = new Dictionary<long, string>(); // shards of this epoch that are re-queued, in flight or dead, and where
        void TakeCurrent(long shard, string field, string taskId)
        {
            if (current.TryGetValue(shard, out var earlier))
            {
                throw Invalid(field, $"{field} '{taskId}' is also named at {earlier}: a shard is re-queued, in flight or dead-lettered, never two of them");
            }

            if (order.IndexOf(shard) >= todo.Cursor)
            {
                throw Invalid(field, $"{field} '{taskId}' lies at or after todo.cursor {todo.Cursor} in the epoch's order: it was never handed out");
            }

            current.Add(shard, field);
        }

        var requeued = todo.Requeued ?? [];
        for (var i = 0; i < requeued.Count; i++)
        {
            var field = Field("todo.requeued", i);
            var shard = ShardOf(requeued[i], field, catalog, document.Epoch, document.Epoch);
            TakeCurrent(shard, field, requeued[i]!);
            book.Requeued.Add(shard);
        }

        var doing = document.Doing ?? [];
        var leases = new List<(long Sequence, long Shard, int Attempt)>(doing.Count);
        var leaseIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < doing.Count; i++)
        {
            var field = Field("doing", i);
            var lease = doing[i] ?? throw Invalid(field, $"{field} is null");
            var shard = ShardOf(lease.TaskId, field + ".taskId", catalog, document.Epoch, document.Epoch);
            TakeCurrent(shard, field + ".taskId", lease.TaskId!);
            var sequence = LeaseSequenceOf(lease.LeaseId, field + ".leaseId", document.NextLeaseSequence);
            if (!leaseIds.Add(lease.LeaseId!))
            {
                throw Invalid(field + ".leaseId", $"{field}.leaseId '{lease.LeaseId}' names two leases");
            }

            if (string.IsNullOrWhiteSpace(lease.WorkerId))
            {
                throw Invalid(field + ".workerId", $"{field}.workerId is required");
            }

            if (lease.Attempt < 1)
            {
                throw Invalid(field + ".attempt", $"{field}.attempt must be at least 1");
            }

            leases.Add((sequence, shard, lease.Attempt));
        }

        var dead = document.DeadLetters ?? [];
        var deadKeys = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < dead.Count; i++)
        {
            var field = Field("deadLetters", i);
            var letter = dead[i] ?? throw Invalid(field, $"{field} is null");
            var shard = ShardOf(letter.TaskId, field + ".taskId", catalog, 0, document.Epoch);
            TaskIds.TryParse(letter.TaskId, out var epoch, out var range);
            if (!deadKeys.Add(RetryRecord.KeyOf(epoch, shard)))
            {
                throw Invalid(field + ".taskId", $"{field}.taskId '{letter.TaskId}' is dead-lettered twice");
            }

            if (epoch == document.Epoch)
            {
                TakeCurrent(shard, field + ".taskId", letter.TaskId!);
            }

            if (letter.Attempts < 1)
            {
                throw Invalid(field + ".attempts", $"{field}.attempts must be at least 1");
            }

            book.DeadLetters.Add(new DeadLetter { Epoch = epoch, Shard = shard, Range = range, Attempts = letter.Attempts, LastError = TaskErrors.Truncate(letter.LastError ?? "") });
        }

        if (document.Completed && (todo.Cursor != catalog.ShardCount || requeued.Count > 0 || doing.Count > 0 || document.Epoch != spec.Epochs - 1))
        {
            throw Invalid("completed", "completed is true but the last epoch still has shards to do or in flight");
        }

        RestoreRetries(document, catalog, book);
        RestoreDone(document, catalog, book, current.Count);
        RestoreSplitters(document);

        // Leases in flight end with the checkpoint: their shards are to do again. As a release, the
        // re-queue counts no failed attempt, and the next lease of the shard is the next attempt.
        var fromDoing = new List<long>(leases.Count);
        foreach (var (_, shard, attempt) in leases.OrderBy(l => l.Sequence))
        {
            var key = RetryRecord.KeyOf(document.Epoch, shard);
            if (!book.Retries.TryGetValue(key, out var retry))
            {
                retry = new RetryRecord { Epoch = document.Epoch, Shard = shard };
                book.Retries.Add(key, retry);
            }

            retry.Leases = Math.Max(retry.Leases, attempt);
            book.Requeued.Add(shard);
            fromDoing.Add(shard);
        }

        return new CheckpointRestore(spec, catalog, book, fromDoing);
    }

    private static JobSpec RestoreSpec(CheckpointSpec? checkpointSpec)
    {
        var spec = ToJobSpec(checkpointSpec ?? throw Invalid("spec", "spec is required"));
        if (spec.Validate() is { } problem)
        {
            throw Invalid("spec." + problem.Field, $"spec.{problem.Field} {problem.Reason}");
        }

        return spec.Normalize();
    }

    private static ShardCatalog RestoreCatalog(CheckpointDocument document, JobSpec spec)
    {
        var files = document.Files;
        if (files is null || files.Count == 0)
        {
            throw Invalid("files", "files must name at least one file");
        }

        var counts = new long[files.Count];
        for (var i = 0; i < files.Count; i++)
        {
            var field = Field("files", i);
            var file = files[i] ?? throw Invalid(field, $"{field} is null");
            if (file.Partition != i)
            {
                throw Invalid(field + ".partition", $"{field}.partition is {file.Partition}: files come in partition order, so it must be {i}");
            }

            if (string.IsNullOrWhiteSpace(file.Path))
            {
                throw Invalid(field + ".path", $"{field}.path is required");
            }

            if (file.Records < 0 || file.Length < 0)
            {
                throw Invalid(field, $"{field} has a negative record count or length");
            }

            if (!TryParseHash(file.ContentHash, out _))
            {
                throw Invalid(field + ".contentHash", $"{field}.contentHash '{file.ContentHash}' is not a hash of 16 hexadecimal digits");
            }

            counts[i] = file.Records;
        }

        var catalog = new ShardCatalog(counts, spec.ShardSize);
        return document.Shards == catalog.ShardCount
            ? catalog
            : throw Invalid("shards", string.Create(CultureInfo.InvariantCulture, $"shards is {document.Shards}, but the files cut into shards of {spec.ShardSize} records give {catalog.ShardCount}"));
    }

    private static void RestoreRetries(CheckpointDocument document, ShardCatalog catalog, TaskBookState book)
    {
        var retries = document.Retries ?? [];
        for (var i = 0; i < retries.Count; i++)
        {
            var field = Field("retries", i);
            var retry = retries[i] ?? throw Invalid(field, $"{field} is null");
            var shard = ShardOf(retry.TaskId, field + ".taskId", catalog, Math.Max(0, document.Epoch - 1), document.Epoch);
            TaskIds.TryParse(retry.TaskId, out var epoch, out _);
            if (retry.FailedAttempts < 0 || retry.Leases < 0)
            {
                throw Invalid(field, $"{field} has a negative count");
            }

            if (retry.CompletedBy is not null)
            {
                LeaseSequenceOf(retry.CompletedBy, field + ".completedBy", document.NextLeaseSequence);
            }

            var record = new RetryRecord
            {
                Epoch = epoch,
                Shard = shard,
                FailedAttempts = retry.FailedAttempts,
                Leases = retry.Leases,
                LastError = retry.LastError is null ? null : TaskErrors.Truncate(retry.LastError),
                CompletedBy = retry.CompletedBy,
            };
            if (!book.Retries.TryAdd(record.Key, record))
            {
                throw Invalid(field + ".taskId", $"{field}.taskId '{retry.TaskId}' has two retry records");
            }
        }
    }

    private static void RestoreDone(CheckpointDocument document, ShardCatalog catalog, TaskBookState book, int notDoneBelowCursor)
    {
        var done = document.Done ?? throw Invalid("done", "done is required");
        if (done.TotalShards < 0 || done.TotalRecords < 0)
        {
            throw Invalid("done", "done.totalShards and done.totalRecords must not be negative");
        }

        var deadThisEpoch = book.DeadLetters.Count(d => d.Epoch == document.Epoch);
        var expected = document.Completed ? catalog.ShardCount - deadThisEpoch : document.Todo!.Cursor - notDoneBelowCursor;
        if (done.Shards != expected)
        {
            throw Invalid("done.shards", string.Create(CultureInfo.InvariantCulture, $"done.shards is {done.Shards}, but the cursor, the shards in flight, re-queued and dead-lettered make {expected}"));
        }

        var epochs = done.Epochs;
        if (epochs is null || epochs.Count == 0 || epochs.Count > TaskBook.EpochHistoryLimit)
        {
            throw Invalid("done.epochs", $"done.epochs must hold 1 to {TaskBook.EpochHistoryLimit} epochs, the current one last");
        }

        for (var i = 0; i < epochs.Count; i++)
        {
            var field = Field("done.epochs", i);
            var e = epochs[i] ?? throw Invalid(field, $"{field} is null");
            if (e.Epoch < 0 || (i > 0 && e.Epoch <= epochs[i - 1].Epoch) || (i == epochs.Count - 1 && e.Epoch != document.Epoch))
            {
                throw Invalid(field + ".epoch", string.Create(CultureInfo.InvariantCulture, $"{field}.epoch {e.Epoch} is out of order: epochs ascend and the last is the current epoch {document.Epoch}"));
            }

            if (e.ShardsDone < 0 || e.RecordsDelivered < 0 || e.LeasesExpired < 0 || e.AttemptsFailed < 0)
            {
                throw Invalid(field, $"{field} has a negative counter");
            }

            book.Epochs.Add(new EpochCounters { Epoch = e.Epoch, ShardsDone = e.ShardsDone, RecordsDelivered = e.RecordsDelivered, Expired = e.LeasesExpired, Failed = e.AttemptsFailed });
        }

        book.TotalShardsDone = done.TotalShards;
        book.TotalRecordsDelivered = done.TotalRecords;
    }

    private static void RestoreSplitters(CheckpointDocument document)
    {
        var files = document.Files!;
        var splitters = document.Splitters ?? throw Invalid("splitters", "splitters is required: one a file");
        if (splitters.Count != files.Count)
        {
            throw Invalid("splitters", $"splitters holds {splitters.Count} splitters for {files.Count} files: one a file");
        }

        for (var i = 0; i < splitters.Count; i++)
        {
            var field = Field("splitters", i);
            var splitter = splitters[i] ?? throw Invalid(field, $"{field} is null");
            if (splitter.Partition != i || !string.Equals(splitter.Path, files[i].Path, StringComparison.Ordinal))
            {
                throw Invalid(field, $"{field} is partition {splitter.Partition} of '{splitter.Path}', but files[{i}] is '{files[i].Path}'");
            }

            if (splitter.SplitUpTo < 0 || splitter.SplitUpTo > files[i].Records)
            {
                throw Invalid(field + ".splitUpTo", string.Create(CultureInfo.InvariantCulture, $"{field}.splitUpTo {splitter.SplitUpTo} is outside [0, {files[i].Records}], the records of '{files[i].Path}'"));
            }
        }
    }

    /// <summary>The global shard index of a task id, checked against the catalogue and the epochs allowed.</summary>
    private static long ShardOf(string? taskId, string field, ShardCatalog catalog, int firstEpoch, int lastEpoch)
    {
        if (!TaskIds.TryParse(taskId, out var epoch, out var range))
        {
            throw Invalid(field, $"{field} '{taskId}' is not a task id (e{{epoch}}.p{{partition}}.{{start}}-{{end}})");
        }

        var shard = catalog.IndexOf(range);
        if (shard < 0)
        {
            throw Invalid(field, $"{field} '{taskId}' is not a shard of the checkpoint's files (shards of {catalog.ShardSize} records over {catalog.PartitionCount} files)");
        }

        if (epoch < firstEpoch || epoch > lastEpoch)
        {
            throw Invalid(field, firstEpoch == lastEpoch
                ? string.Create(CultureInfo.InvariantCulture, $"{field} '{taskId}' is of epoch {epoch}, not of the current epoch {lastEpoch}")
                : string.Create(CultureInfo.InvariantCulture, $"{field} '{taskId}' is of epoch {epoch}, outside epochs {firstEpoch} to {lastEpoch}"));
        }

        return shard;
    }

    private static long LeaseSequenceOf(string? leaseId, string field, long nextLeaseSequence)
    {
        if (LeaseSequence(leaseId) is not { } sequence)
        {
            throw Invalid(field, $"{field} '{leaseId}' is not a lease id (L{{n}} or L{{n}}.{{tag}})");
        }

        return sequence < nextLeaseSequence
            ? sequence
            : throw Invalid(field, string.Create(CultureInfo.InvariantCulture, $"{field} '{leaseId}' is not below nextLeaseSequence {nextLeaseSequence}: a later lease would get the same id"));
    }

    private static long? LeaseSequence(string? leaseId) => LeaseIds.SequenceOf(leaseId);

    private static string Field(string list, int index) => string.Create(CultureInfo.InvariantCulture, $"{list}[{index}]");

    private static CheckpointException Invalid(string field, string message) => new(field, message);
}
