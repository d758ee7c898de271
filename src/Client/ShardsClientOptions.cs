namespace OrleansShards.Client;

/// <summary>How a <see cref="ShardsClient"/> retries requests that failed for a passing reason.</summary>
public sealed class ShardsClientOptions
{
    /// <summary>
    /// Retries after the first attempt of a request that may be repeated safely (every request but a
    /// topic append and a job create without an id) when the server answered 5xx or could not be
    /// reached. 4xx answers are never retried. 0 turns retries off. Default 6.
    /// </summary>
    public int MaxRetryAttempts { get; set; } = 6;

    /// <summary>The first back-off; it doubles with each retry, with jitter. Default 200 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest back-off, and the longest <c>Retry-After</c> honoured. Default 10 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The clock of back-offs, heartbeats and idle waits.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
