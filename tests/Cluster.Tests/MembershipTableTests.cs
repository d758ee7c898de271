using System.Net;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Runtime.Membership;
using Orleans.Runtime.MembershipService;
using OrleansShards.Providers.Postgres;
using OrleansShards.Tests.Sql;

namespace OrleansShards.Cluster.Tests;

/// <summary>
/// Conformance of our PostgreSQL schema with Orleans' ADO.NET membership table (<see cref="AdoNetClusteringTable"/>) and
/// gateway list (<see cref="AdoNetGatewayListProvider"/>), driven directly against a real PostgreSQL: each test on a
/// fresh database migrated by <see cref="PostgresClusteringSchema"/>.
/// </summary>
public sealed class MembershipTableTests(PostgresServer postgres)
{
    private static readonly DateTime Start = new(2026, 11, 24, 8, 0, 0, DateTimeKind.Utc);
    private const int MaxVotes = 100;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Schema_applies_to_an_empty_database_then_again_and_concurrently_and_holds_every_query_key_the_provider_reads()
    {
        postgres.Require();
        var connection = await NewDatabaseAsync(migrate: false);

        var first = await PostgresClusteringSchema.ApplyAsync(connection, TestContext.Current.CancellationToken);
        Assert.Equal(["orleansquery", "shards_membership_version", "shards_membership"], first.CreatedTables);

        var again = await PostgresClusteringSchema.ApplyAsync(connection, TestContext.Current.CancellationToken);
        Assert.Empty(again.CreatedTables);

        // Silos that start together all apply it: they take turns instead of failing on the catalog.
        var racing = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostgresClusteringSchema.ApplyAsync(connection, TestContext.Current.CancellationToken)));
        Assert.All(racing, r => Assert.Empty(r.CreatedTables));

        // The provider refuses to start unless every key it declares is present; read them from the provider itself.
        var declared = typeof(AdoNetClusteringTable).Assembly.GetTypes()
            .Single(t => t.Name == "DbStoredQueries")
            .GetProperties(BindingFlags.Instance | BindingFlags.NonPublic)
            .Select(p => p.Name)
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.NotEmpty(declared);
        Assert.Equal(declared, PostgresClusteringSchema.QueryKeys.Order(StringComparer.Ordinal));
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync(TestContext.Current.CancellationToken);
        await using var read = new NpgsqlCommand("SELECT QueryKey FROM OrleansQuery ORDER BY QueryKey COLLATE \"C\"", db);
        var stored = new List<string>();
        await using (var reader = await read.ExecuteReaderAsync(TestContext.Current.CancellationToken))
        {
            while (await reader.ReadAsync(TestContext.Current.CancellationToken))
            {
                stored.Add(reader.GetString(0));
            }
        }

        Assert.Equal(declared, stored);
    }

    [Fact]
    public async Task Init_insert_read_all_and_read_row_round_trip_every_field()
    {
        postgres.Require();
        var table = await NewTableAsync(await NewDatabaseAsync(), "round-trip");

        var empty = await table.ReadAllAsync(Ct);
        Assert.Empty(empty.Members);
        Assert.Equal(0, empty.Version.Version);

        var silo = Entry(1, SiloStatus.Joining);
        Assert.True(await table.InsertRowAsync(silo, empty.Version.Next(), Ct));

        var all = await table.ReadAllAsync(Ct);
        Assert.Equal(1, all.Version.Version);
        var (stored, _) = Assert.Single(all.Members);
        AssertSameEntry(silo, stored);

        var row = await table.ReadRowAsync(silo.SiloAddress, Ct);
        Assert.Equal(1, row.Version.Version);
        AssertSameEntry(silo, Assert.Single(row.Members).Item1);

        // Another silo's row is absent, but the table version still comes back.
        var none = await table.ReadRowAsync(Entry(2, SiloStatus.Joining).SiloAddress, Ct);
        Assert.Empty(none.Members);
        Assert.Equal(1, none.Version.Version);

        // The same silo cannot join twice, even with the current version; the version stays.
        Assert.False(await table.InsertRowAsync(silo, all.Version.Next(), Ct));
        Assert.Equal(1, (await table.ReadAllAsync(Ct)).Version.Version);
    }

    [Fact]
    public async Task Update_with_the_current_version_succeeds_and_one_with_a_stale_version_is_refused()
    {
        postgres.Require();
        var table = await NewTableAsync(await NewDatabaseAsync(), "stale");
        var silo = Entry(1, SiloStatus.Joining);
        var other = Entry(2, SiloStatus.Active);
        Assert.True(await table.InsertRowAsync(silo, (await table.ReadAllAsync(Ct)).Version.Next(), Ct));
        Assert.True(await table.InsertRowAsync(other, (await table.ReadAllAsync(Ct)).Version.Next(), Ct));

        var read = await table.ReadAllAsync(Ct);
        var (entry, etag) = read.Members.Single(m => m.Item1.SiloAddress.Equals(silo.SiloAddress));
        entry.Status = SiloStatus.Active;
        entry.AddOrUpdateSuspector(other.SiloAddress, Start.AddSeconds(30), MaxVotes);
        Assert.True(await table.UpdateRowAsync(entry, etag, read.Version.Next(), Ct));

        var after = await table.ReadAllAsync(Ct);
        Assert.Equal(read.Version.Version + 1, after.Version.Version);
        var updated = after.Members.Single(m => m.Item1.SiloAddress.Equals(silo.SiloAddress)).Item1;
        Assert.Equal(SiloStatus.Active, updated.Status);
        var (suspector, suspectedAt) = Assert.Single(updated.SuspectTimes ?? []);
        Assert.Equal(other.SiloAddress, suspector);
        Assert.Equal(Start.AddSeconds(30), suspectedAt);

        // The same write again, based on what was read before the first one: stale, refused, nothing changes.
        // (The ADO.NET provider gives every row an empty ETag and sends none to the database: the table version
        // is the one optimistic-concurrency token, and a write based on an old read carries an old one.)
        var staleEntry = Copy(read.Members.Single(m => m.Item1.SiloAddress.Equals(silo.SiloAddress)).Item1);
        staleEntry.Status = SiloStatus.Dead;
        Assert.False(await table.UpdateRowAsync(staleEntry, etag, read.Version.Next(), Ct));
        // A silo joining on the stale version is refused as well.
        Assert.False(await table.InsertRowAsync(Entry(3, SiloStatus.Joining), read.Version.Next(), Ct));

        var unchanged = await table.ReadAllAsync(Ct);
        Assert.Equal(after.Version.Version, unchanged.Version.Version);
        Assert.Equal(2, unchanged.Members.Count);
        Assert.Equal(SiloStatus.Active, unchanged.Members.Single(m => m.Item1.SiloAddress.Equals(silo.SiloAddress)).Item1.Status);

        // A silo that has no row cannot be updated, and the version does not move for it.
        Assert.False(await table.UpdateRowAsync(Entry(4, SiloStatus.Active), "", unchanged.Version.Next(), Ct));
        Assert.Equal(unchanged.Version.Version, (await table.ReadAllAsync(Ct)).Version.Version);
    }

    [Fact]
    public async Task Racing_updates_from_separate_silos_serialize_and_exactly_one_wins()
    {
        postgres.Require();
        var database = await NewDatabaseAsync();
        var tables = new List<IMembershipTable>();
        for (var i = 0; i < 8; i++)
        {
            tables.Add(await NewTableAsync(database, "race", init: i == 0));
        }

        var silo = Entry(1, SiloStatus.Joining);
        Assert.True(await tables[0].InsertRowAsync(silo, (await tables[0].ReadAllAsync(Ct)).Version.Next(), Ct));

        var winners = new HashSet<int>();
        for (var round = 0; round < 5; round++)
        {
            var reads = await Task.WhenAll(tables.Select(t => t.ReadAllAsync(Ct)));
            var version = reads[0].Version;
            Assert.All(reads, r => Assert.Equal(version.Version, r.Version.Version));

            // Every silo read the same version and writes a different status vote: one write can be based on it.
            var suspectors = Enumerable.Range(0, tables.Count).Select(i => Entry(100 + i, SiloStatus.Active).SiloAddress).ToList();
            var outcomes = await Task.WhenAll(tables.Select((t, i) =>
            {
                var mine = Copy(reads[i].Members.Single().Item1);
                mine.AddOrUpdateSuspector(suspectors[i], Start.AddMinutes(round), MaxVotes);
                return t.UpdateRowAsync(mine, reads[i].Members.Single().Item2, reads[i].Version.Next(), Ct);
            }));

            Assert.Equal(1, outcomes.Count(o => o));
            var winner = Array.IndexOf(outcomes, true);
            winners.Add(winner);
            var after = await tables[0].ReadAllAsync(Ct);
            Assert.Equal(version.Version + 1, after.Version.Version);
            Assert.Contains(after.Members.Single().Item1.SuspectTimes ?? [], s => s.Item1.Equals(suspectors[winner]));
            // A vote of a silo that had voted before replaces its earlier one.
            Assert.Equal(winners.Count, after.Members.Single().Item1.SuspectTimes?.Count);
        }

        // Racing joins of different silos on one version: one joins, the others must read again.
        var joinVersion = (await tables[0].ReadAllAsync(Ct)).Version;
        var joins = await Task.WhenAll(tables.Select((t, i) => t.InsertRowAsync(Entry(200 + i, SiloStatus.Joining), joinVersion.Next(), Ct)));
        Assert.Equal(1, joins.Count(j => j));
        var joined = await tables[0].ReadAllAsync(Ct);
        Assert.Equal(2, joined.Members.Count);
        Assert.Equal(joinVersion.Version + 1, joined.Version.Version);
    }

    [Fact]
    public async Task IAmAlive_moves_the_heartbeat_and_not_the_version()
    {
        postgres.Require();
        var table = await NewTableAsync(await NewDatabaseAsync(), "alive");
        var silo = Entry(1, SiloStatus.Active);
        Assert.True(await table.InsertRowAsync(silo, (await table.ReadAllAsync(Ct)).Version.Next(), Ct));
        var before = await table.ReadAllAsync(Ct);

        var beat = Copy(silo);
        beat.IAmAliveTime = Start.AddMinutes(5);
        await table.UpdateIAmAliveAsync(beat, Ct);

        var after = await table.ReadAllAsync(Ct);
        Assert.Equal(before.Version.Version, after.Version.Version);
        Assert.Equal(Start.AddMinutes(5), after.Members.Single().Item1.IAmAliveTime);
        Assert.Equal(SiloStatus.Active, after.Members.Single().Item1.Status);
    }

    [Fact]
    public async Task Gateway_list_holds_the_active_silos_that_accept_clients()
    {
        postgres.Require();
        var database = await NewDatabaseAsync();
        var table = await NewTableAsync(database, "gateways");
        var gateway = Entry(1, SiloStatus.Active);
        var noProxy = Entry(2, SiloStatus.Active, proxyPort: 0);
        var joining = Entry(3, SiloStatus.Joining);
        var dead = Entry(4, SiloStatus.Dead);
        foreach (var silo in new[] { gateway, noProxy, joining, dead })
        {
            Assert.True(await table.InsertRowAsync(silo, (await table.ReadAllAsync(Ct)).Version.Next(), Ct));
        }

        // Another cluster in the same database is not listed.
        var otherTable = await NewTableAsync(database, "gateways-other");
        Assert.True(await otherTable.InsertRowAsync(Entry(5, SiloStatus.Active), (await otherTable.ReadAllAsync(Ct)).Version.Next(), Ct));

        var provider = new AdoNetGatewayListProvider(
            NullLogger<AdoNetGatewayListProvider>.Instance,
            Services(),
            Options.Create(new AdoNetClusteringClientOptions { Invariant = PostgresClusteringSchema.Invariant, ConnectionString = database }),
            Options.Create(new GatewayOptions()),
            Options.Create(new ClusterOptions { ClusterId = "gateways", ServiceId = "tests" }));
        await provider.InitializeGatewayListProviderAsync(Ct);
        var gateways = await provider.GetGatewaysAsync(Ct);
        Assert.Equal([SiloAddress.New(gateway.SiloAddress.Endpoint.Address, gateway.ProxyPort, gateway.SiloAddress.Generation).ToGatewayUri()], gateways);
    }

    [Fact]
    public async Task Delete_removes_one_cluster_and_a_silo_can_start_it_again()
    {
        postgres.Require();
        var database = await NewDatabaseAsync();
        var doomed = await NewTableAsync(database, "doomed");
        var kept = await NewTableAsync(database, "kept");
        Assert.True(await doomed.InsertRowAsync(Entry(1, SiloStatus.Active), (await doomed.ReadAllAsync(Ct)).Version.Next(), Ct));
        Assert.True(await kept.InsertRowAsync(Entry(1, SiloStatus.Active), (await kept.ReadAllAsync(Ct)).Version.Next(), Ct));

        await doomed.DeleteMembershipTableEntriesAsync("doomed", Ct);

        Assert.Equal(0L, await CountAsync(database, "SELECT count(*) FROM shards_membership WHERE deployment_id = 'doomed'"));
        Assert.Equal(0L, await CountAsync(database, "SELECT count(*) FROM shards_membership_version WHERE deployment_id = 'doomed'"));
        var survivor = await kept.ReadAllAsync(Ct);
        Assert.Single(survivor.Members);
        Assert.Equal(1, survivor.Version.Version);

        var restarted = await NewTableAsync(database, "doomed");
        var fresh = await restarted.ReadAllAsync(Ct);
        Assert.Empty(fresh.Members);
        Assert.Equal(0, fresh.Version.Version);
    }

    [Fact]
    public async Task Cleanup_removes_silos_that_stopped_before_the_date_and_keeps_active_ones()
    {
        postgres.Require();
        var table = await NewTableAsync(await NewDatabaseAsync(), "cleanup");
        var deadLongAgo = Entry(1, SiloStatus.Dead);
        var activeLongAgo = Entry(2, SiloStatus.Active);
        var deadRecently = Entry(3, SiloStatus.Dead);
        deadRecently.IAmAliveTime = Start.AddHours(2);
        foreach (var silo in new[] { deadLongAgo, activeLongAgo, deadRecently })
        {
            Assert.True(await table.InsertRowAsync(silo, (await table.ReadAllAsync(Ct)).Version.Next(), Ct));
        }

        await table.CleanupDefunctSiloEntriesAsync(new DateTimeOffset(Start.AddHours(1)), Ct);

        var left = (await table.ReadAllAsync(Ct)).Members.Select(m => m.Item1.SiloAddress).ToHashSet();
        Assert.Equal(new HashSet<SiloAddress> { activeLongAgo.SiloAddress, deadRecently.SiloAddress }, left);
    }

    private async Task<string> NewDatabaseAsync(bool migrate = true)
    {
        var name = await postgres.CreateDatabaseAsync("membership");
        var connection = new NpgsqlConnectionStringBuilder(postgres.ConnectionStringWithoutPassword(name)) { Password = postgres.Password }.ConnectionString;
        if (migrate)
        {
            await PostgresClusteringSchema.ApplyAsync(connection, TestContext.Current.CancellationToken);
        }

        return connection;
    }

    private static IServiceProvider Services() => new ServiceCollection().AddLogging().BuildServiceProvider();

    private static async Task<IMembershipTable> NewTableAsync(string connection, string clusterId, bool init = true)
    {
        var services = Services();
        var table = new AdoNetClusteringTable(
            services,
            Options.Create(new ClusterOptions { ClusterId = clusterId, ServiceId = "tests" }),
            Options.Create(new AdoNetClusteringSiloOptions { Invariant = PostgresClusteringSchema.Invariant, ConnectionString = connection }),
            services.GetRequiredService<ILogger<AdoNetClusteringTable>>());
        await table.InitializeMembershipTableAsync(tryInitTableVersion: init, Ct);
        return table;
    }

    private static MembershipEntry Entry(int index, SiloStatus status, int? proxyPort = null) => new()
    {
        SiloAddress = SiloAddress.New(new IPEndPoint(IPAddress.Parse($"10.0.0.{index % 250 + 1}"), 11000 + index), 1000 + index),
        SiloName = $"silo-{index}",
        HostName = $"host-{index}",
        Status = status,
        ProxyPort = proxyPort ?? 30000 + index,
        StartTime = Start,
        IAmAliveTime = Start.AddSeconds(index),
    };

    private static MembershipEntry Copy(MembershipEntry entry) => new()
    {
        SiloAddress = entry.SiloAddress,
        SiloName = entry.SiloName,
        HostName = entry.HostName,
        Status = entry.Status,
        ProxyPort = entry.ProxyPort,
        StartTime = entry.StartTime,
        IAmAliveTime = entry.IAmAliveTime,
        SuspectTimes = entry.SuspectTimes is null ? null : [.. entry.SuspectTimes],
    };

    private static void AssertSameEntry(MembershipEntry expected, MembershipEntry actual)
    {
        Assert.Equal(expected.SiloAddress, actual.SiloAddress);
        Assert.Equal(expected.SiloName, actual.SiloName);
        Assert.Equal(expected.HostName, actual.HostName);
        Assert.Equal(expected.Status, actual.Status);
        Assert.Equal(expected.ProxyPort, actual.ProxyPort);
        Assert.Equal(expected.StartTime, actual.StartTime.ToUniversalTime());
        Assert.Equal(expected.IAmAliveTime, actual.IAmAliveTime.ToUniversalTime());
        Assert.Empty(actual.SuspectTimes ?? []);
    }

    private static async Task<long> CountAsync(string connection, string sql)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var command = new NpgsqlCommand(sql, db);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
