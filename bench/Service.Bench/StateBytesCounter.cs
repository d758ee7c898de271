using System.Collections.Concurrent;
using Orleans.Storage;
using OrleansShards.Grains;

namespace OrleansShards.Service.Bench;

/// <summary>
/// Counts the serialized state bytes the storage provider writes. <see cref="OrleansShards.Providers.Relational.RelationalGrainStorageStatistics"/> counts
/// writes and transactions but not bytes, so the bench wraps the provider's <see cref="IGrainStorageSerializer"/>
/// (the provider stores exactly the bytes the serializer returns as the row's <c>data</c>): every
/// <see cref="Serialize{T}"/> is one write request, and its length is the state bytes of that write.
/// Writes of a <see cref="JobState"/> are also counted per job id (the state carries its spec), so a run's job can be
/// told from other grains writing at the same time. Reads pass through untouched.
/// </summary>
public sealed class StateBytesCounter
{
    private readonly ConcurrentDictionary<string, Counter> _jobs = new();
    private long _writes;
    private long _bytes;

    /// <summary>Every state serialized for writing, of any grain: (writes, bytes).</summary>
    public (long Writes, long Bytes) Total => (Interlocked.Read(ref _writes), Interlocked.Read(ref _bytes));

    /// <summary>The writes and bytes of one job's state so far.</summary>
    public (long Writes, long Bytes) Job(string jobId) =>
        _jobs.TryGetValue(jobId, out var c) ? (Interlocked.Read(ref c.Writes), Interlocked.Read(ref c.Bytes)) : (0, 0);

    /// <summary>Wraps the provider's serializer (once).</summary>
    public IGrainStorageSerializer Wrap(IGrainStorageSerializer inner) => inner is Counting ? inner : new Counting(inner, this);

    private void Count<T>(T? state, long length)
    {
        Interlocked.Increment(ref _writes);
        Interlocked.Add(ref _bytes, length);
        if (state is JobState { Spec.Id: { } id })
        {
            var c = _jobs.GetOrAdd(id, _ => new Counter());
            Interlocked.Increment(ref c.Writes);
            Interlocked.Add(ref c.Bytes, length);
        }
    }

    private sealed class Counter
    {
        public long Writes;
        public long Bytes;
    }

    private sealed class Counting(IGrainStorageSerializer inner, StateBytesCounter counter) : IGrainStorageSerializer
    {
        public BinaryData Serialize<T>(T? input)
        {
            var data = inner.Serialize(input);
            counter.Count(input, data.ToMemory().Length);
            return data;
        }

        public T? Deserialize<T>(BinaryData input) => inner.Deserialize<T>(input);
    }
}
