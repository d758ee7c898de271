using OrleansShards.Grains;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Settings of what the silo exposes for operators, bound from <c>Shards:Metrics</c> and <c>Shards:Dashboard</c>.
/// </summary>
public sealed class ObservabilitySettings
{
    /// <summary>The Prometheus scrape endpoint.</summary>
    public EndpointSettings Metrics { get; set; } = new() { Enabled = true, Path = "/metrics" };

    /// <summary>The Orleans Dashboard: grain calls, silos, activations. Off by default: it profiles every grain call.</summary>
    public EndpointSettings Dashboard { get; set; } = new() { Enabled = false, Path = "/dashboard" };

    /// <summary>Reads the settings from the <c>Shards</c> section of <paramref name="configuration"/>.</summary>
    public static ObservabilitySettings From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var settings = new ObservabilitySettings();
        configuration.GetSection(ShardsOptions.Section).Bind(settings);
        settings.Metrics.Validate("Shards:Metrics:Path");
        settings.Dashboard.Validate("Shards:Dashboard:Path");
        return settings;
    }
}
