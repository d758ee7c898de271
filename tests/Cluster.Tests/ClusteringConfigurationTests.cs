using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansShards.Silo;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Cluster.Tests;

/// <summary>The clustering settings as the host builder reads them: what each mode configures, and the errors that name the setting.</summary>
public sealed class ClusteringConfigurationTests
{
    [Fact]
    public async Task The_shutdown_grace_period_comes_from_configuration_and_defaults_below_the_pod_grace_period()
    {
        await using (var defaults = ShardsServer.Build(Arguments()))
        {
            Assert.Equal(TimeSpan.FromSeconds(25), defaults.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
        }

        await using var configured = ShardsServer.Build(Arguments("--Shards:ShutdownTimeout=00:00:07"));
        Assert.Equal(TimeSpan.FromSeconds(7), configured.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
    }

    [Fact]
    public async Task Postgres_clustering_gets_the_password_from_the_reference_and_the_shipped_membership_options()
    {
        Environment.SetEnvironmentVariable("SHARDS_TEST_CLUSTERING_PASSWORD", "s3cret");
        await using var app = ShardsServer.Build(Arguments(
            "--Shards:Clustering=postgres",
            "--Shards:ClusteringConnectionString=Host=db.example;Username=orleans;Database=orleans",
            "--Shards:ClusteringPassword=env:SHARDS_TEST_CLUSTERING_PASSWORD"));
        var ado = app.Services.GetRequiredService<IOptions<AdoNetClusteringSiloOptions>>().Value;
        Assert.Equal("Npgsql", ado.Invariant);
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(ado.ConnectionString);
        Assert.Equal(("db.example", "orleans", "s3cret"), (connection.Host, connection.Username, connection.Password));
        var membership = app.Services.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(1), membership.ProbeTimeout);
        Assert.Equal(2, membership.NumMissedProbesLimit);
    }

    [Theory]
    [InlineData("--Shards:ClusteringConnectionString=Host=db;Username=u;Password=inline", "Shards:ClusteringConnectionString must not hold the password")]
    [InlineData("--Shards:ClusteringPassword=plain-password", "Shards:ClusteringPassword: a secret must be a reference")]
    [InlineData("--Shards:ShutdownTimeout=00:00:00", "Shards:ShutdownTimeout must be positive")]
    public void A_bad_setting_stops_the_silo_with_a_message_that_names_it(string setting, string expected)
    {
        var arguments = Arguments("--Shards:Clustering=postgres", "--Shards:ClusteringConnectionString=Host=db;Username=u", setting);
        var error = Assert.Throws<InvalidOperationException>(() => ShardsServer.Build(arguments));
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("inline", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("plain-password", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_clustering_mode_is_refused_with_the_modes_there_are()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ShardsServer.Build(Arguments("--Shards:Clustering=zookeeper")));
        Assert.Equal("Shards:Clustering 'zookeeper' is none of 'localhost', 'redis', 'postgres'", error.Message);
    }

    private static string[] Arguments(params string[] settings) =>
    [
        "--urls", "http://127.0.0.1:0",
        $"--Shards:DataDir={Path.Combine(Path.GetTempPath(), "shards-clustering-config")}",
        .. settings,
    ];
}
