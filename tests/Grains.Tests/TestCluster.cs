using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.TestingHost;
using OrleansShards.Grains;
using OrleansShards.Silo;

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

    public static async Task<ShardsCluster> StartAsync(TestData data, short silos = 2)
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
            silo.AddShardsStorage(o => o.DataSource = data.StateFile);
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        var options = Options.Create(new ShardsOptions { DataDir = data.DataDir });
        return new ShardsCluster(cluster, new TaskRecordReader(new SourceReaders(options), options));
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}
