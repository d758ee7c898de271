using OrleansShards.Core;

namespace OrleansShards.Grains;

/// <summary>Opens the book a job's stored state holds.</summary>
internal static class JobBooks
{
    /// <summary>
    /// The book of <paramref name="state"/>: live for a live source, static once every partition is
    /// acknowledged, none while a static job still describes its files. Leases that expired while the
    /// grain was not active are re-queued at once; storing that can wait for the next change, since
    /// the same expiry is derived again on any later activation.
    /// </summary>
    public static IJobBook? Open(JobState state, TimeProvider time)
    {
        var spec = state.Spec!;
        // A book opened without a key (new, imported, or stored before keys existed) gets one: its lease ids cannot be guessed.
        if (state.Live is { LeaseKey: null } live)
        {
            live.LeaseKey = NewLeaseKey();
        }
        else if (state.Live is null && state.Book.LeaseKey is null)
        {
            state.Book.LeaseKey = NewLeaseKey();
        }

        IJobBook? book = state.Live is not null
            ? new LiveJobBook(state, new LiveTaskBook(state.Live, new LiveBookSettings(spec.ShardSize, spec.Ordered, TimeSpan.FromSeconds(spec.LeaseTimeoutSeconds), spec.MaxAttempts), time))
            : state.Files.Any(f => f is null)
                ? null
                : StaticJobBook.Open(state, time);
        book?.Tasks.ExpireDue();
        return book;
    }

    private static string NewLeaseKey() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
}
