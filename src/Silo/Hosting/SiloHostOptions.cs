using OrleansShards.Providers.Sqlite;

namespace OrleansShards.Silo.Hosting;

/// <summary>Settings of the embedded silo, bound from the <c>Shards</c> configuration section.</summary>
public sealed class SiloHostOptions
{
    /// <summary>The Orleans cluster id.</summary>
    public string ClusterId { get; set; } = "orleans-shards";

    /// <summary>The Orleans service id: grain state is keyed by it.</summary>
    public string ServiceId { get; set; } = "orleans-shards";

    /// <summary>The silo-to-silo port of localhost clustering.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>The client gateway port of localhost clustering.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The SQLite file of grain state; <c>{DataDir}/state/shards.db</c> when empty.</summary>
    public string? SqliteFile { get; set; }

    /// <summary>SQLite's synchronous mode for grain state: <c>Full</c> (default) or <c>Normal</c>.</summary>
    public SqliteSynchronousMode SqliteSynchronous { get; set; } = SqliteSynchronousMode.Full;

    /// <summary>
    /// How silos find each other: <c>localhost</c> (the default: one silo, nothing to run beside it),
    /// <c>redis</c> (Orleans' Redis clustering at <see cref="RedisConnection"/>: several silo processes),
    /// <c>postgres</c> (Orleans' ADO.NET clustering at <see cref="ClusteringConnectionString"/>) or <c>azuretable</c>
    /// (Orleans' Azure Table clustering at <see cref="ClusteringConnectionString"/> or <see cref="ClusteringServiceUri"/>).
    /// </summary>
    public string Clustering { get; set; } = LocalhostClustering;

    /// <summary>The StackExchange.Redis configuration string of Redis clustering, e.g. <c>127.0.0.1:6379</c>.</summary>
    public string? RedisConnection { get; set; }

    /// <summary>PostgreSQL clustering: the Npgsql connection string WITHOUT the password, e.g. <c>Host=db;Username=orleans;Database=orleans</c>.</summary>
    public string? ClusteringConnectionString { get; set; }

    /// <summary>PostgreSQL clustering: the password as a reference, <c>env:NAME</c> or <c>file:PATH</c> (never the password itself).</summary>
    public string? ClusteringPassword { get; set; }

    /// <summary>Azure Table clustering without a connection string: the table service URI (with a SAS token, or with <see cref="ClusteringCredential"/>).</summary>
    public string? ClusteringServiceUri { get; set; }

    /// <summary>Azure Table clustering with <see cref="ClusteringServiceUri"/>: <c>identity</c> (the pod's Azure identity) or a reference to a SAS token.</summary>
    public string? ClusteringCredential { get; set; }

    /// <summary>Whether the silo applies the schema its clustering database needs when it starts (PostgreSQL; idempotent).</summary>
    public bool ApplySchema { get; set; } = true;

    /// <summary>
    /// How long a stopping silo (SIGTERM) has to leave the cluster and deactivate its grains before it stops at once:
    /// shorter than the grace period of the pod (Kubernetes: 30 s by default).
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>The IP address this silo advertises to the others in the membership table (not with localhost clustering).</summary>
    public string AdvertisedIp { get; set; } = "127.0.0.1";

    /// <summary>How fast the cluster declares a silo dead (not with localhost clustering, which has one silo).</summary>
    public MembershipSettings Membership { get; set; } = new();

    /// <summary>The value of <see cref="Clustering"/> for one silo on this host.</summary>
    public const string LocalhostClustering = "localhost";

    /// <summary>The value of <see cref="Clustering"/> for Orleans' Redis clustering.</summary>
    public const string RedisClustering = "redis";

    /// <summary>The value of <see cref="Clustering"/> for Orleans' ADO.NET clustering on PostgreSQL.</summary>
    public const string PostgresClustering = "postgres";

    /// <summary>The value of <see cref="Clustering"/> for Orleans' Azure Table clustering.</summary>
    public const string AzureTableClustering = "azuretable";
}
