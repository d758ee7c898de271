using Microsoft.Extensions.Options;

namespace OrleansShards.Silo.Hosting;

/// <summary>Runs <see cref="TopicRetention"/> every <see cref="TopicRetentionSettings.CheckEvery"/> while the silo runs.</summary>
public sealed class TopicRetentionService(TopicRetention retention, IOptions<TopicRetentionSettings> settings, TimeProvider time, ILogger<TopicRetentionService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var policy = settings.Value.Policy;
        if (policy.MaxRecords is null && policy.MaxAge is null)
        {
            return;
        }

        using var timer = new PeriodicTimer(settings.Value.CheckEvery, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await retention.RunOnceAsync(policy, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The cluster may be starting or recovering: the next round tries again.
                logger.LogWarning(e, "Retention of the built-in log failed; the next round tries again");
            }
        }
    }
}
