using System.Globalization;
using OrleansShards.GrainInterfaces;

namespace OrleansShards.Cli;

/// <summary>
/// What a job's status says about its progress, computed one way for <c>job watch</c> and <c>job status</c>:
/// a static job's fraction over all its epochs (records delivered of the records of every epoch), a live job's
/// committed offsets and lag, attempts failed over every epoch, elapsed time.
/// </summary>
internal sealed record JobProgress(
    bool Live,
    double? Fraction,
    long AttemptsFailed,
    long? HighWatermark,
    long? Committed,
    long? Lag,
    TimeSpan Elapsed)
{
    public static JobProgress Of(JobStatus job, DateTimeOffset now)
    {
        var live = job.Partitions.Any(p => p.HighWatermark is not null);
        double? fraction = null;
        if (!live)
        {
            if (job.State == JobStates.Completed)
            {
                fraction = 1;
            }
            else if (job.Records.Total is > 0 and var total)
            {
                // Total already covers every epoch, as Delivered does.
                fraction = Math.Clamp((double)job.Records.Delivered / total, 0, 1);
            }
            else if (job.Shards.Total > 0 && job.Epochs > 0)
            {
                var done = (long)Math.Min(job.Epoch, job.Epochs) * job.Shards.Total + (job.Epoch < job.Epochs ? job.Shards.Done : 0);
                fraction = Math.Clamp((double)done / ((long)job.Shards.Total * job.Epochs), 0, 1);
            }
        }

        return new JobProgress(
            live,
            fraction,
            job.EpochHistory.Sum(e => e.AttemptsFailed),
            live ? job.Partitions.Sum(p => p.HighWatermark ?? 0) : null,
            live ? job.Partitions.Sum(p => p.Committed ?? 0) : null,
            live ? job.Partitions.Sum(p => p.Lag ?? 0) : null,
            now > job.CreatedAt ? now - job.CreatedAt : TimeSpan.Zero);
    }

    /// <summary>Time left at the given rate of records per second; null when nothing can be said (live, no rate yet).</summary>
    public TimeSpan? Eta(JobStatus job, double recordsPerSecond)
    {
        if (Live || job.Records.Total is not { } total)
        {
            return null;
        }

        var left = total - job.Records.Delivered;
        return left <= 0 ? TimeSpan.Zero
            : recordsPerSecond > 0 ? TimeSpan.FromSeconds(Math.Min(left / recordsPerSecond, TimeSpan.FromDays(30).TotalSeconds))
            : null;
    }

    /// <summary>Time left at the job's average rate since it was created (for a one-off status, where no rate was watched).</summary>
    public TimeSpan? EtaAtAverageRate(JobStatus job) =>
        Elapsed.TotalSeconds > 0 ? Eta(job, job.Records.Delivered / Elapsed.TotalSeconds) : null;

    public static string Duration(TimeSpan? span) => span switch
    {
        null => "?",
        { TotalDays: >= 1 } d => string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalDays}d {d:hh\\:mm\\:ss}"),
        { } d => d.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture),
    };

    public static string Percent(double? fraction) =>
        fraction is { } f ? string.Create(CultureInfo.InvariantCulture, $"{100 * f:F0}%") : "?";
}
