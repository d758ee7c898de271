using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
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
        Assert.Equal("Shards:Clustering 'zookeeper' is none of 'localhost', 'redis', 'postgres', 'azuretable'", error.Message);
    }

    [Fact]
    public async Task Azure_table_clustering_takes_the_connection_string_through_a_reference()
    {
        Environment.SetEnvironmentVariable("SHARDS_TEST_AZURE_TABLE_CONNECTION", "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5;TableEndpoint=http://tables.example:10002/acct;");
        await using var app = ShardsServer.Build(Arguments("--Shards:Clustering=azuretable", "--Shards:ClusteringConnectionString=env:SHARDS_TEST_AZURE_TABLE_CONNECTION"));
        var table = app.Services.GetRequiredService<IOptions<Orleans.Clustering.AzureStorage.AzureStorageClusteringOptions>>().Value;
        Assert.Equal(new Uri("http://tables.example:10002/acct"), table.TableServiceClient!.Uri);
        Assert.Equal("acct", table.TableServiceClient.AccountName);
    }

    [Theory]
    [InlineData("Shards:Clustering is 'azuretable' but neither Shards:ClusteringConnectionString nor Shards:ClusteringServiceUri is set")]
    [InlineData("Shards:ClusteringConnectionString is not an Azure storage connection string", "--Shards:ClusteringConnectionString=nonsense")]
    [InlineData("Shards:ClusteringServiceUri carries no SAS token: set Shards:ClusteringCredential", "--Shards:ClusteringServiceUri=https://acct.table.core.windows.net")]
    [InlineData("Shards:ClusteringCredential must be 'identity' or a reference", "--Shards:ClusteringServiceUri=https://acct.table.core.windows.net", "--Shards:ClusteringCredential=sv=2024&sig=abc")]
    public void A_bad_azure_table_setting_stops_the_silo_naming_it(string expected, params string[] settings)
    {
        var error = Assert.Throws<InvalidOperationException>(() => ShardsServer.Build(Arguments(["--Shards:Clustering=azuretable", .. settings])));
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=abc", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Shards:LogStore:Provider is 'sqlite' with Shards:LogStore:File unset under Shards:Clustering 'redis'", "--Shards:SqliteFile=/tmp/shared.db")]
    [InlineData("Shards:Storage:Provider is 'sqlite' with Shards:SqliteFile unset under Shards:Clustering 'redis'", "--Shards:LogStore:File=/tmp/shared-log.db")]
    [InlineData("Shards:Storage:Provider is 'file' with Shards:Storage:Directory unset under Shards:Clustering 'redis'", "--Shards:LogStore:File=/tmp/shared-log.db", "--Shards:Storage:Provider=file")]
    public void Per_silo_state_under_a_multi_silo_clustering_is_refused_naming_the_keys(string expected, params string[] settings)
    {
        var error = Assert.Throws<InvalidOperationException>(() => ShardsServer.Build(
        [
            "--urls", "http://127.0.0.1:0",
            $"--Shards:DataDir={Path.Combine(Path.GetTempPath(), "shards-clustering-config")}",
            "--Shards:Clustering=redis",
            "--Shards:RedisConnection=127.0.0.1:1",
            .. settings,
        ]));
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Per_silo_defaults_are_fine_with_one_silo_and_a_shared_log_store_is_fine_with_many()
    {
        await using (var single = ShardsServer.Build(["--urls", "http://127.0.0.1:0", $"--Shards:DataDir={Path.Combine(Path.GetTempPath(), "shards-clustering-config")}"]))
        {
            Assert.NotNull(single.Services.GetRequiredService<OrleansShards.Core.ILogStore>());
        }

        await using var many = ShardsServer.Build(Arguments("--Shards:Clustering=redis", "--Shards:RedisConnection=127.0.0.1:1"));
        Assert.NotNull(many.Services.GetRequiredService<OrleansShards.Core.ILogStore>());
    }

    // Multi-silo modes refuse the per-silo defaults under the data directory: these name files the silos of a host share.
    private static string[] Arguments(params string[] settings) =>
    [
        "--urls", "http://127.0.0.1:0",
        $"--Shards:DataDir={Path.Combine(Path.GetTempPath(), "shards-clustering-config")}",
        $"--Shards:SqliteFile={Path.Combine(Path.GetTempPath(), "shards-clustering-config", "shared.db")}",
        $"--Shards:LogStore:File={Path.Combine(Path.GetTempPath(), "shards-clustering-config", "shared-log.db")}",
        .. settings,
    ];
}
