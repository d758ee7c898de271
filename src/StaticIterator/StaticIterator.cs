using System.Runtime.CompilerServices;
using OrleansShards.Core;
using OrleansShards.Readers;
using OrleansShards.Readers.Csv;

namespace OrleansShards.StaticIteration;

/// <summary>
/// The coordinator-free static iterator (<c>ODPSReader.to_iterator</c>): every worker of a data-parallel job opens the
/// same source with the same arguments and its own worker index, and reads its own deterministic, disjoint part of
/// every epoch in batches, with no service and no communication. Use the service's jobs instead when workers come and
/// go, fail, or must resume: this iterator has no leases and no checkpoints.
/// </summary>
/// <remarks>
/// <para><b>Records.</b> The source is its files in the order given (<see cref="FromSource"/>: ordinal path order, as
/// a job's partitions), concatenated: record <c>r</c> of the source is record <c>r − (records of the earlier files)</c>
/// of its file; <see cref="StaticBatch.RecordIndexes"/> gives these indexes. <c>Limit</c> keeps the first
/// <c>Limit</c> of them, the same ones every epoch. Every worker must see the same files with the same contents (the
/// fingerprints are pinned when iteration starts; a file changed during it fails the read with
/// <see cref="SourceChangedException"/>).</para>
/// <para><b>Order of an epoch.</b> Without shuffling it is source order. With shuffling it is two seeded permutations
/// (<see cref="SeededPermutation"/>, bijections computed position by position in O(1) memory, the same on every
/// machine): each file is cut into blocks of <c>ShuffleBlockSize</c> records (as a job cuts shards, so a block is one
/// contiguous read); the blocks of the whole source come in the order of a permutation seeded by
/// <c>Mix(seed, epoch)</c>; consecutive runs of <c>ShuffleBufferBlocks</c> blocks of that order form groups, and the
/// records of group <c>g</c> are permuted together, seeded by <c>Mix(seed, epoch, g)</c>. It is not a uniform
/// permutation of all records (that would make every record a random read: a seek and a scan of up to an index
/// stride per record); it is a shuffle buffer whose reads are whole blocks: a batch draws from
/// <c>ShuffleBufferBlocks</c> random places of the source, and the groups, blocks and their order change every
/// epoch.</para>
/// <para><b>Who gets what.</b> An epoch's order is cut into batches of <c>BatchSize</c>, and each worker gets a
/// contiguous slice of those batches (not every <c>NumWorkers</c>-th batch): a worker then reads only the blocks of its
/// slice, plus at most two groups it shares with its neighbours, where a strided split would make every worker read
/// nearly every block when shuffling. Without <c>DropRemainder</c> the <c>⌈records / BatchSize⌉</c> batches are split
/// as evenly as possible (worker <c>w</c> gets batches <c>[⌊w·T/n⌋, ⌊(w+1)·T/n⌋)</c>; counts differ by at most one, the
/// one short batch is the last worker's, and workers get nothing when there are fewer batches than workers): the
/// workers together get every record once per epoch. With <c>DropRemainder</c> every worker gets
/// <c>K = ⌊records / (NumWorkers · BatchSize)⌋</c> full batches, worker <c>w</c> the records
/// <c>[w·K·BatchSize, (w+1)·K·BatchSize)</c> of the order, and the rest of the order (fewer than
/// <c>NumWorkers · BatchSize</c> records, a different random set every epoch when shuffling) is left out.</para>
/// <para><b>Determinism.</b> The same files, arguments and seed give the same batches in the same order, on every
/// machine and run; the records of an epoch depend on the epoch number, so epochs differ from each other.</para>
/// </remarks>
public sealed class StaticIterator
{
    private readonly IPartitionReader _reader;
    private readonly string[] _files;

    /// <summary>An iterator over <paramref name="files"/>, read with <paramref name="reader"/>.</summary>
    /// <param name="reader">The reader of the files' format (see <see cref="PartitionReaders.ForKind"/>).</param>
    /// <param name="files">The files, in source order (absolute paths, or relative to the working directory).</param>
    public StaticIterator(IPartitionReader reader, IReadOnlyList<string> files)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(files);
        _reader = reader;
        _files = [.. files.Select(f => Path.GetFullPath(f))];
    }

    /// <summary>The files, in source order.</summary>
    public IReadOnlyList<string> Files => _files;

    /// <summary>
    /// An iterator over a source as a job names it (<c>kind</c>, <c>paths</c> with globs, CSV <c>header</c> and
    /// <c>delimiter</c>), with paths resolved as the server resolves them: relative to <paramref name="dataDir"/>,
    /// refused outside it and <paramref name="extraRoots"/>, matches in ordinal path order.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown kind, or no paths.</exception>
    /// <exception cref="PathOutsideRootsException">A path outside the roots.</exception>
    /// <exception cref="FileNotFoundException">A pattern that matches no file.</exception>
    public static StaticIterator FromSource(SourceSpec source, string dataDir, IEnumerable<string>? extraRoots = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Paths is not { Count: > 0 } paths)
        {
            throw new ArgumentException("the source names no paths", nameof(source));
        }

        var csv = new CsvReaderOptions
        {
            Header = source.Header ?? true,
            Delimiter = string.IsNullOrEmpty(source.Delimiter) ? ',' : source.Delimiter[0],
        };
        var reader = PartitionReaders.ForKind(source.Kind, csv);
        return new StaticIterator(reader, new DataRoots(dataDir, extraRoots).ResolveFiles(paths));
    }

    /// <summary>How many batches and records this worker gets per epoch with <paramref name="options"/>.</summary>
    public async ValueTask<StaticIteratorPlan> PlanAsync(StaticIteratorOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var parts = await DescribeAsync(cancellationToken).ConfigureAwait(false);
        var source = parts.Sum(p => p.RecordCount);
        return Plan(source, options);
    }

    /// <summary>The plan for a source of <paramref name="sourceRecords"/> records (see <see cref="StaticIterator"/>).</summary>
    public static StaticIteratorPlan Plan(long sourceRecords, StaticIteratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var records = options.Limit >= 0 ? Math.Min(options.Limit, sourceRecords) : sourceRecords;
        var (from, to) = Slice(records, options);
        long batchSize = options.BatchSize;
        var left = options.DropRemainder ? records - (records / (options.NumWorkers * batchSize) * options.NumWorkers * batchSize) : 0;
        return new StaticIteratorPlan(sourceRecords, records, (to - from + batchSize - 1) / batchSize, to - from, left);
    }

    /// <summary>The positions <c>[From, To)</c> of an epoch's order that the worker gets; <c>From</c> is a multiple of the batch size.</summary>
    internal static (long From, long To) Slice(long records, StaticIteratorOptions options)
    {
        long n = options.NumWorkers, w = options.WorkerIndex, b = options.BatchSize;
        if (options.DropRemainder)
        {
            var perWorker = records / (n * b) * b;
            return (w * perWorker, (w + 1) * perWorker);
        }

        var batches = (records + b - 1) / b;
        var first = (long)((Int128)w * batches / n);
        var end = (long)((Int128)(w + 1) * batches / n);
        return (first * b, Math.Min(end * b, records));
    }

    /// <summary>
    /// The batches of this worker, epoch after epoch, in the order described on <see cref="StaticIterator"/>. Dispose
    /// each batch when done with it: that returns its pooled buffers (a batch not disposed is only collected later).
    /// </summary>
    public async IAsyncEnumerable<StaticBatch> ReadAsync(StaticIteratorOptions options, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var parts = await DescribeAsync(cancellationToken).ConfigureAwait(false);
        var counts = new long[parts.Length];
        var fileStart = new long[parts.Length];
        var remaining = options.Limit >= 0 ? options.Limit : long.MaxValue;
        long start = 0;
        for (var p = 0; p < parts.Length; p++)
        {
            fileStart[p] = start;
            start += parts[p].RecordCount;
            counts[p] = Math.Min(parts[p].RecordCount, remaining);
            remaining -= counts[p];
        }

        var records = counts.Sum();
        var (from, to) = Slice(records, options);
        if (from >= to)
        {
            yield break;
        }

        var blocks = new ShardCatalog(counts, options.ShuffleBlockSize);
        var batchSize = options.BatchSize;
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            var order = new EpochOrder(blocks, options, epoch);
            var pending = new PendingBatch(batchSize);
            long index = 0;
            var pos = from;
            long groupStart = 0;
            try
            {
                for (long g = 0; g < order.GroupCount && pos < to; g++)
                {
                    var members = order.BlocksOf(g);
                    var length = members.Sum(m => m.Length);
                    if (groupStart + length <= pos)
                    {
                        groupStart += length;
                        continue;
                    }

                    var group = new LoadedGroup(this, parts, fileStart, members, options.Columns);
                    try
                    {
                        var recordOrder = order.RecordOrder(g, length);
                        var groupEnd = groupStart + length;
                        while (pos < to && pos < groupEnd)
                        {
                            var (member, row) = group.Locate(recordOrder.At(pos - groupStart));
                            var block = await group.GetAsync(member, cancellationToken).ConfigureAwait(false);
                            pending.Add(block, row);
                            pos++;
                            if (pending.Count == batchSize || pos == to)
                            {
                                yield return pending.Take(epoch, index++);
                            }
                        }
                    }
                    finally
                    {
                        group.Release();
                    }

                    groupStart += length;
                }
            }
            finally
            {
                pending.Release();
            }
        }
    }

    /// <summary>
    /// <c>ODPSReader.to_iterator</c>'s signature: <see cref="ReadAsync(StaticIteratorOptions, CancellationToken)"/> with
    /// the default shuffle block settings.
    /// </summary>
    public IAsyncEnumerable<StaticBatch> ToIterator(
        int numWorkers, int workerIndex, int batchSize, int epochs = 1, bool shuffle = false, long seed = 0,
        IReadOnlyList<string>? columns = null, long limit = -1, bool dropRemainder = false, CancellationToken cancellationToken = default) =>
        ReadAsync(
            new StaticIteratorOptions
            {
                NumWorkers = numWorkers,
                WorkerIndex = workerIndex,
                BatchSize = batchSize,
                Epochs = epochs,
                Shuffle = shuffle,
                Seed = seed,
                Columns = columns,
                Limit = limit,
                DropRemainder = dropRemainder,
            },
            cancellationToken);

    private async ValueTask<PartitionDescription[]> DescribeAsync(CancellationToken cancellationToken)
    {
        var parts = new PartitionDescription[_files.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = await _reader.DescribeAsync(_files[i], cancellationToken).ConfigureAwait(false);
        }

        return parts;
    }

    /// <summary>The order of one epoch: blocks in a seeded order, grouped, records permuted within a group.</summary>
    private sealed class EpochOrder(ShardCatalog blocks, StaticIteratorOptions options, int epoch)
    {
        private readonly ulong _epochSeed = DeterministicHash.Mix(unchecked((ulong)options.Seed), (ulong)epoch);
        private readonly SeededPermutation _blockOrder = new(
            blocks.ShardCount, DeterministicHash.Mix(unchecked((ulong)options.Seed), (ulong)epoch), identity: !options.Shuffle);

        public long GroupCount { get; } = (blocks.ShardCount + options.ShuffleBufferBlocks - 1) / options.ShuffleBufferBlocks;

        public ShardRange[] BlocksOf(long group)
        {
            var first = group * options.ShuffleBufferBlocks;
            var end = Math.Min(first + options.ShuffleBufferBlocks, blocks.ShardCount);
            var members = new ShardRange[end - first];
            for (var i = 0; i < members.Length; i++)
            {
                members[i] = blocks[_blockOrder.At(first + i)];
            }

            return members;
        }

        public SeededPermutation RecordOrder(long group, long length) =>
            new(length, DeterministicHash.Mix(_epochSeed, (ulong)group + 1), identity: !options.Shuffle);
    }

    /// <summary>The blocks of a group, read when a record of theirs is first needed.</summary>
    private sealed class LoadedGroup
    {
        private readonly StaticIterator _owner;
        private readonly PartitionDescription[] _parts;
        private readonly long[] _fileStart;
        private readonly ShardRange[] _members;
        private readonly long[] _starts;
        private readonly SharedBlock?[] _loaded;
        private readonly IReadOnlyList<string>? _columns;

        public LoadedGroup(StaticIterator owner, PartitionDescription[] parts, long[] fileStart, ShardRange[] members, IReadOnlyList<string>? columns)
        {
            _owner = owner;
            _parts = parts;
            _fileStart = fileStart;
            _members = members;
            _columns = columns;
            _loaded = new SharedBlock?[members.Length];
            _starts = new long[members.Length + 1];
            for (var i = 0; i < members.Length; i++)
            {
                _starts[i + 1] = _starts[i] + members[i].Length;
            }
        }

        public (int Member, int Row) Locate(long position)
        {
            var found = Array.BinarySearch(_starts, position);
            var member = found >= 0 ? found : ~found - 1;
            while (_members[member].Length == 0 || position >= _starts[member + 1])
            {
                member++;
            }

            return (member, (int)(position - _starts[member]));
        }

        public async ValueTask<SharedBlock> GetAsync(int member, CancellationToken cancellationToken)
        {
            if (_loaded[member] is { } block)
            {
                return block;
            }

            var range = _members[member];
            var part = _parts[range.Partition];
            var batch = await _owner._reader.ReadAsync(
                new ShardReadRequest(part.Path, part.Fingerprint, range.Start, range.End, _columns), cancellationToken).ConfigureAwait(false);
            return _loaded[member] = new SharedBlock(batch, _fileStart[range.Partition] + range.Start);
        }

        public void Release()
        {
            for (var i = 0; i < _loaded.Length; i++)
            {
                _loaded[i]?.Release();
                _loaded[i] = null;
            }
        }
    }

    /// <summary>The rows of the batch being filled, and the blocks they hold a reference to.</summary>
    private sealed class PendingBatch(int capacity)
    {
        private readonly List<SharedBlock> _blocks = [];
        private SharedBlock[] _rowBlocks = new SharedBlock[capacity];
        private int[] _rows = new int[capacity];

        public int Count { get; private set; }

        public void Add(SharedBlock block, int row)
        {
            if (!_blocks.Contains(block))
            {
                block.AddRef();
                _blocks.Add(block);
            }

            _rowBlocks[Count] = block;
            _rows[Count++] = row;
        }

        public StaticBatch Take(int epoch, long index)
        {
            var batch = new StaticBatch(epoch, index, [.. _blocks], _rowBlocks.AsSpan(0, Count).ToArray(), _rows.AsSpan(0, Count).ToArray());
            _blocks.Clear();
            _rowBlocks = new SharedBlock[_rowBlocks.Length];
            _rows = new int[_rows.Length];
            Count = 0;
            return batch;
        }

        public void Release()
        {
            foreach (var block in _blocks)
            {
                block.Release();
            }

            _blocks.Clear();
            Count = 0;
        }
    }
}
