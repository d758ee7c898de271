using System.Net;
using Polly;
using Polly.Retry;

namespace OrleansShards.Client;

/// <summary>
/// The retry pipeline of <see cref="ShardsClient"/>: exponential back-off with jitter on 5xx answers and
/// connection failures, honouring <c>Retry-After</c>; never on 4xx, never after the caller cancelled.
/// </summary>
internal static class HttpRetry
{
    public static ResiliencePipeline<HttpResponseMessage> Create(ShardsClientOptions options)
    {
        if (options.MaxRetryAttempts <= 0)
        {
            return ResiliencePipeline<HttpResponseMessage>.Empty;
        }

        return new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = options.TimeProvider }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryDelay,
                MaxDelay = options.MaxRetryDelay,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome, args.Context.CancellationToken)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result, options)),
                OnRetry = args =>
                {
                    // The answer that is retried is not handed to the caller: free its connection.
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>
    /// A 5xx answer, or a request that never got one (refused, reset, timed out), unless the caller cancelled; not an
    /// answer that is not HTTP at all.
    /// </summary>
    public static bool IsTransient(Outcome<HttpResponseMessage> outcome, CancellationToken cancellationToken) =>
        outcome.Exception switch
        {
            null => outcome.Result is { } response && (int)response.StatusCode >= 500,
            // A peer that answers something other than HTTP (an Orleans gateway port, say) will not start to.
            HttpRequestException { HttpRequestError: HttpRequestError.InvalidResponse } => false,
            HttpRequestException => true,
            OperationCanceledException => !cancellationToken.IsCancellationRequested,
            _ => false,
        };

    private static TimeSpan? RetryAfter(HttpResponseMessage? response, ShardsClientOptions options)
    {
        if (response?.StatusCode is not HttpStatusCode.ServiceUnavailable || response.Headers.RetryAfter is not { } header)
        {
            return null;
        }

        var wait = header.Delta ?? (header.Date is { } date ? date - options.TimeProvider.GetUtcNow() : null);
        return wait is { } w && w > TimeSpan.Zero ? (w < options.MaxRetryDelay ? w : options.MaxRetryDelay) : null;
    }
}
