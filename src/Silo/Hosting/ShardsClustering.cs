using System.Net;
using Npgsql;
using Orleans.Configuration;
using OrleansShards.Providers.Postgres;
using OrleansShards.Readers;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Clustering chosen by configuration (<c>Shards:Clustering</c>): <c>localhost</c> for one silo, <c>redis</c> for
/// Orleans' Redis clustering, <c>postgres</c> for Orleans' ADO.NET clustering on PostgreSQL with our schema
/// (<see cref="PostgresClusteringSchema"/>), <c>azuretable</c> for Orleans' Azure Table clustering (the table is
/// created by Orleans when missing). Also the shutdown grace period, which decides whether a stopping silo
/// can leave its cluster in good order.
/// </summary>
public static class ShardsClustering
{
    /// <summary>Configures membership, endpoints and the shutdown grace period of <paramref name="silo"/> from <paramref name="host"/>.</summary>
    /// <exception cref="InvalidOperationException">A setting is missing or invalid; the message names it.</exception>
    public static ISiloBuilder UseShardsClustering(this ISiloBuilder silo, SiloHostOptions host)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(host);
        if (host.ShutdownTimeout <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"Shards:ShutdownTimeout must be positive, not '{host.ShutdownTimeout}'");
        }

        // SIGTERM stops the host: the silo marks itself ShuttingDown, deactivates its grains (which write their
        // state), marks itself Dead and exits. Past this timeout Orleans gives up on order and stops at once.
        silo.Services.Configure<HostOptions>(o => o.ShutdownTimeout = host.ShutdownTimeout);

        switch (Mode(host))
        {
            case SiloHostOptions.LocalhostClustering:
                silo.UseLocalhostClustering(host.SiloPort, host.GatewayPort, serviceId: host.ServiceId, clusterId: host.ClusterId);
                return silo;
            case SiloHostOptions.RedisClustering:
                silo.UseRedisClustering(string.IsNullOrWhiteSpace(host.RedisConnection)
                    ? throw new InvalidOperationException("Shards:Clustering is 'redis' but Shards:RedisConnection is not set")
                    : host.RedisConnection);
                break;
            case SiloHostOptions.PostgresClustering:
                var connectionString = PostgresConnectionString(host);
                silo.UseAdoNetClustering(o =>
                {
                    o.Invariant = PostgresClusteringSchema.Invariant;
                    o.ConnectionString = connectionString;
                });
                if (host.ApplySchema)
                {
                    silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(services =>
                        new ClusteringSchemaAtStart(connectionString, services.GetRequiredService<ILogger<ClusteringSchemaAtStart>>()));
                }

                break;
            case SiloHostOptions.AzureTableClustering:
                var endpoint = AzureTableEndpoint(host);
                silo.UseAzureStorageClustering(o => o.TableServiceClient = endpoint.TableService());
                break;
        }

        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = host.ClusterId;
            o.ServiceId = host.ServiceId;
        });
        silo.ConfigureEndpoints(ParseAddress(host.AdvertisedIp), host.SiloPort, host.GatewayPort);
        silo.Configure<ClusterMembershipOptions>(host.Membership.Apply);
        return silo;
    }

    /// <summary>The clustering mode, normalized and checked.</summary>
    /// <exception cref="InvalidOperationException">An unknown mode.</exception>
    public static string Mode(SiloHostOptions host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var mode = (host.Clustering ?? "").Trim().ToLowerInvariant();
        return mode is SiloHostOptions.LocalhostClustering or SiloHostOptions.RedisClustering or SiloHostOptions.PostgresClustering or SiloHostOptions.AzureTableClustering
            ? mode
            : throw new InvalidOperationException(
                $"Shards:Clustering '{host.Clustering}' is none of '{SiloHostOptions.LocalhostClustering}', '{SiloHostOptions.RedisClustering}', '{SiloHostOptions.PostgresClustering}', '{SiloHostOptions.AzureTableClustering}'");
    }

    /// <summary>
    /// The table service of Azure Table clustering: <c>Shards:ClusteringConnectionString</c> (an Azure storage
    /// connection string, or a reference to one), or <c>Shards:ClusteringServiceUri</c> with
    /// <c>Shards:ClusteringCredential</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Neither is set, or a value is malformed; the message names the key.</exception>
    internal static AzureStorageEndpoint AzureTableEndpoint(SiloHostOptions host) =>
        AzureStorageEndpoint.Resolve(
            table: true, host.ClusteringConnectionString, host.ClusteringServiceUri, host.ClusteringCredential,
            "Shards:ClusteringConnectionString", "Shards:ClusteringServiceUri", "Shards:ClusteringCredential", "Shards:Clustering is 'azuretable'");

    /// <summary>
    /// The Npgsql connection string of PostgreSQL clustering: <c>Shards:ClusteringConnectionString</c> (which must not
    /// hold the password) with the password that the reference <c>Shards:ClusteringPassword</c> (<c>env:NAME</c> or
    /// <c>file:PATH</c>) points at, if one is set.
    /// </summary>
    /// <exception cref="InvalidOperationException">The connection string is missing, malformed or holds a password, or the reference cannot be resolved.</exception>
    public static string PostgresConnectionString(SiloHostOptions host)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (string.IsNullOrWhiteSpace(host.ClusteringConnectionString))
        {
            throw new InvalidOperationException("Shards:Clustering is 'postgres' but Shards:ClusteringConnectionString is not set (e.g. Host=db;Username=orleans;Database=orleans)");
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(host.ClusteringConnectionString);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"Shards:ClusteringConnectionString is not a valid Npgsql connection string: {e.Message}", e);
        }

        if (!string.IsNullOrEmpty(builder.Password))
        {
            throw new InvalidOperationException("Shards:ClusteringConnectionString must not hold the password: put a reference to it in Shards:ClusteringPassword ('env:NAME' or 'file:PATH')");
        }

        if (!string.IsNullOrWhiteSpace(host.ClusteringPassword))
        {
            builder.Password = SecretReference.Resolve(host.ClusteringPassword, "Shards:ClusteringPassword");
        }

        return builder.ConnectionString;
    }

    /// <summary>Where PostgreSQL clustering points, without any secret: host, port and database, for messages.</summary>
    public static string DescribePostgres(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}";
    }

    private static IPAddress ParseAddress(string value) =>
        IPAddress.TryParse(value, out var address)
            ? address
            : throw new InvalidOperationException($"Shards:AdvertisedIp '{value}' is not an IP address");
}
