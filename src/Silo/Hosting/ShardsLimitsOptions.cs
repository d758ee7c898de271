using System.Globalization;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// The limits on what a caller of the HTTP API may send and on what it is sent back, bound from <c>Shards:Limits</c>
/// (docs/limits.md lists each with its default and what happens past it). They hold memory bounded whatever a
/// request holds: an id past its limit is refused with 400 naming the field, an error text is truncated with a
/// visible marker, a body past its limit is answered 413.
/// </summary>
public sealed class ShardsLimitsOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Shards:Limits";

    /// <summary>The most characters of a worker id, lease id, task id or request id (job ids and run names have their own rule of 128).</summary>
    public int MaxIdLength { get; set; } = 256;

    /// <summary>The most characters of a report's error text that are kept; a longer one is cut and ends with <c>…[truncated N chars]</c>.</summary>
    public int MaxErrorLength { get; set; } = 2048;

    /// <summary>The most entries of a list in a body: <c>leaseIds</c>, <c>reports</c>, a source's <c>paths</c>.</summary>
    public int MaxListLength { get; set; } = 1000;

    /// <summary>The largest body of a job, lease, report, heartbeat, release or run request.</summary>
    public long MaxBodyBytes { get; set; } = 1L << 20;

    /// <summary>The largest body of a checkpoint import (<c>POST /v1/jobs/import</c>).</summary>
    public long MaxImportBodyBytes { get; set; } = 64L << 20;

    /// <summary>The largest body of a topic append (<c>POST /v1/topics/{topic}/partitions/{p}/records</c>), at most 64 MiB.</summary>
    public long MaxAppendBodyBytes { get; set; } = 64L << 20;

    /// <summary>The most followers of <c>/v1/status/stream</c> at once on this silo; one more is answered 503 with Retry-After.</summary>
    public int MaxStatusFollowers { get; set; } = 32;

    /// <summary>The most leases in flight a status snapshot lists per job (the rest are counted in <c>leasesNotListed</c>).</summary>
    public int StatusLeasesPerJob { get; set; } = 100;

    /// <summary>The most dead letters a status snapshot lists per job (the rest are counted in <c>deadLettersNotListed</c>).</summary>
    public int StatusDeadLettersPerJob { get; set; } = 100;

    /// <summary>Throws naming the key of the first setting out of range; called once at start.</summary>
    public ShardsLimitsOptions Validate()
    {
        Check(nameof(MaxIdLength), MaxIdLength, 16, InputCeilings.MaxIdLength);
        Check(nameof(MaxErrorLength), MaxErrorLength, 64, OrleansShards.Core.TaskErrors.MaxLength);
        Check(nameof(MaxListLength), MaxListLength, 1, InputCeilings.MaxListLength);
        Check(nameof(MaxBodyBytes), MaxBodyBytes, 1024, 1L << 30);
        Check(nameof(MaxImportBodyBytes), MaxImportBodyBytes, 1024, 1L << 30);
        Check(nameof(MaxAppendBodyBytes), MaxAppendBodyBytes, 1024, OrleansShards.Silo.Http.TopicEndpoints.MaxAppendBytes);
        Check(nameof(MaxStatusFollowers), MaxStatusFollowers, 0, 100_000);
        Check(nameof(StatusLeasesPerJob), StatusLeasesPerJob, 0, 100_000);
        Check(nameof(StatusDeadLettersPerJob), StatusDeadLettersPerJob, 0, 100_000);
        return this;
    }

    private static void Check(string name, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"{Section}:{name} is {value}; it must be between {min} and {max}"));
        }
    }
}
