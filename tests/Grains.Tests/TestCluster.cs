using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Storage;
using Orleans.TestingHost;
using OrleansShards.Grains.Tests.Faults;
using OrleansShards.Providers.Sqlite;
using OrleansShards.Readers;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Grains.Tests;

/// <summary>A temporary directory with sample CSV files and a SQLite state file, removed at the end.</summary>
public sealed class TestData : IDisposable
{
    public TestData()
    {
        Root = Path.Combine(Path.GetTempPath(), "shards-grains-" + Guid.NewGuid().ToString("N")[..8]);
        DataDir = Path.Combine(Root, "data");
        Directory.CreateDirectory(DataDir);
        StateFile = Path.Combine(Root, "state", "shards.db");
    }

    public string Root { get; }

    public string DataDir { get; }

    public string StateFile { get; }

    /// <summary>Writes CSV files holding ids <c>[0, rows)</c>, with quoted fields that hold commas, quotes and line breaks.</summary>
    public void WriteCsv(string pattern, long rows, int files)
    {
        var perFile = rows / files;
        for (var f = 0; f < files; f++)
        {
            var first = f * perFile;
            var last = f == files - 1 ? rows : first + perFile;
            using var writer = new StreamWriter(Path.Combine(DataDir, string.Format(System.Globalization.CultureInfo.InvariantCulture, pattern, f)), false, new UTF8Encoding(false));
            writer.Write("id,text,value\n");
            for (var id = first; id < last; id++)
            {
                writer.Write(id % 13 == 0 ? $"{id},\"a, \"\"quoted\"\"\nline\",{id * 3}\n" : $"{id},plain {id},{id * 3}\n");
            }
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A silo still closing its file must not fail the test that already passed.
        }
    }
}

/// <summary>A real Orleans test cluster (TestingHost) with the OrleansShards grains on a SQLite file.</summary>
public sealed class ShardsCluster : IAsyncDisposable
{
    private ShardsCluster(InProcessTestCluster cluster, TaskRecordReader reader)
    {
        Cluster = cluster;
        Reader = reader;
    }

    public InProcessTestCluster Cluster { get; }

    public IClusterClient Client => Cluster.Client;

    /// <summary>A reader outside the cluster, as a thick worker has one.</summary>
    public TaskRecordReader Reader { get; }

    /// <param name="adapters">
    /// Source adapters beyond files (SQL tables, object stores): called once per silo and once for <see cref="Reader"/>,
    /// as separate processes would each have their own.
    /// </param>
    /// <param name="configureSilo">More configuration of each silo (a logger provider, options).</param>
    public static async Task<ShardsCluster> StartAsync(
        TestData data, short silos = 2, FaultInjector? faults = null, Func<ISourceAdapter[]>? adapters = null, Action<ISiloBuilder>? configureSilo = null)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        // State rows are keyed by service id: a restarted cluster must use the same one to find them.
        builder.Options.ServiceId = "orleans-shards-tests";
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddShardsGrains(o =>
            {
                o.DataDir = data.DataDir;
                o.ExpiryScanPeriod = TimeSpan.FromMilliseconds(100);
            });
            if (faults is null)
            {
                silo.AddShardsStorage(o => o.DataSource = data.StateFile);
            }
            else
            {
                // Our SQLite store under another name, wrapped under the name the grains use.
                silo.Services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
                silo.AddSqliteGrainStorage("sqlite-inner", o => o.DataSource = data.StateFile);
                silo.Services.AddKeyedSingleton<IGrainStorage>(ShardsOptions.StorageName, (services, _) =>
                    new FaultInjectingGrainStorage(services.GetRequiredKeyedService<IGrainStorage>("sqlite-inner"), faults));
            }

            // A call to a silo that died fails in seconds, not after the 30 s default.
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5));
            foreach (var adapter in adapters?.Invoke() ?? [])
            {
                silo.Services.AddSingleton(adapter);
            }

            configureSilo?.Invoke(silo);
        });
        builder.ConfigureClient(client => client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5)));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        var options = Options.Create(new ShardsOptions { DataDir = data.DataDir });
        return new ShardsCluster(cluster, new TaskRecordReader(new SourceReaders(options, adapters?.Invoke()), options));
    }

    /// <summary>Kills every silo at once, as a crash of the whole deployment would.</summary>
    public async Task KillAllAsync()
    {
        foreach (var silo in Cluster.Silos.ToList())
        {
            await Cluster.KillSiloAsync(silo);
        }
    }

    /// <summary>The silo on which <paramref name="grain"/> is active now.</summary>
    public InProcessSiloHandle SiloOf(IAddressable grain)
    {
        Assert.True(Cluster.TryGetGrainContext(grain.GetGrainId(), out var context), $"{grain.GetGrainId()} is not active on any silo");
        return Cluster.Silos.Single(s => s.SiloAddress.Equals(context.Address.SiloAddress));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Cluster.StopAllSilosAsync();
        }
        catch (Exception)
        {
            // Silos whose storage was crashed on purpose may fail to stop cleanly.
        }

        await Cluster.DisposeAsync();
    }
}
