using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using OrleansShards.Grains;
using OrleansShards.Providers.Relational;
using OrleansShards.Providers.Sqlite;
using OrleansShards.Silo.Hosting;

namespace OrleansShards.Service.Bench;

/// <summary>
/// One silo in this process (localhost clustering) with the OrleansShards grains and SQLite grain storage, composed
/// as the server composes it (<see cref="ShardsServer.AddShardsStorage"/>), and its in-process client.
/// </summary>
public sealed class ServiceHost : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly BenchOptions _options;

    private ServiceHost(IHost host, BenchOptions options, string dataDir, string stateFile, string csvFile, StateBytesCounter stateBytes)
    {
        _host = host;
        StateBytes = stateBytes;
        _options = options;
        DataDir = dataDir;
        StateFile = stateFile;
        CsvFile = csvFile;
        Grains = host.Services.GetRequiredService<IGrainFactory>();
        Storage = host.Services.GetRequiredKeyedService<IGrainStorage>(ShardsOptions.StorageName);
    }

    public IGrainFactory Grains { get; }

    /// <summary>The grain storage of the silo (the provider named <c>shards</c>).</summary>
    public IGrainStorage Storage { get; }

    /// <summary>The writer's counters of the relational providers (SQLite, PostgreSQL); zero for the others.</summary>
    public RelationalGrainStorageStatistics Statistics => Storage is RelationalGrainStorage relational ? relational.Statistics : default;

    /// <summary>Serialized state bytes written through the provider, in total and per job (see <see cref="StateBytesCounter"/>).</summary>
    public StateBytesCounter StateBytes { get; }

    public string DataDir { get; }

    public string StateFile { get; }

    /// <summary>The CSV file, relative to the data directory, as a job names it.</summary>
    public string CsvFile { get; }

    /// <summary>
    /// Starts the silo; on SQLite as <see cref="ShardsServer.AddShardsStorage(ISiloBuilder, Action{SqliteGrainStorageOptions})"/>
    /// composes it, or on the provider <paramref name="storage"/> chooses (as <c>Shards:Storage</c> would).
    /// </summary>
    /// <param name="options">The bench options (<c>--dir</c>, <c>--rows</c>, <c>--normal</c>).</param>
    /// <param name="storage">The provider, or <see langword="null"/> for SQLite as the other sections use it.</param>
    /// <param name="stateName">The directory under <c>--dir</c> of this host's state (hosts running side by side need their own).</param>
    public static async Task<ServiceHost> StartAsync(BenchOptions options, StorageSettings? storage = null, string stateName = "state")
    {
        var dataDir = Path.Combine(options.Dir, "data");
        Directory.CreateDirectory(dataDir);
        var csvName = $"bench-{options.Rows}.csv";
        var csvPath = Path.Combine(dataDir, csvName);
        if (!File.Exists(csvPath))
        {
            var sw = Stopwatch.StartNew();
            WriteCsv(csvPath, options.Rows);
            Console.WriteLine($"generated {csvPath} ({options.Rows:N0} rows, {new FileInfo(csvPath).Length / 1e6:F1} MB) in {sw.Elapsed.TotalSeconds:F1} s");
        }

        // A fresh state file per run of the program, so earlier runs do not change its size or the B-tree depth.
        var stateDir = Path.Combine(options.Dir, stateName);
        if (Directory.Exists(stateDir))
        {
            Directory.Delete(stateDir, recursive: true);
        }

        var stateFile = Path.Combine(stateDir, "shards.db");
        var stateBytes = new StateBytesCounter();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(FreePort(), FreePort());
            silo.Services.AddShardsGrains(o => o.DataDir = dataDir);
            if (storage is null)
            {
                silo.AddShardsStorage(o =>
                {
                    o.DataSource = stateFile;
                    o.Synchronous = options.Normal ? SqliteSynchronousMode.Normal : SqliteSynchronousMode.Full;
                });
            }
            else
            {
                storage.SqliteFile = stateFile;
                storage.Directory = Path.Combine(stateDir, "grains");
                silo.AddShardsStorage(storage);
            }

            // Count the bytes of every state written: wrap whatever serializer the composition chose (after Orleans'
            // default post-configuration filled it in, or in its place if ours runs first).
            silo.Services.AddOptions<SqliteGrainStorageOptions>(ShardsOptions.StorageName)
                .PostConfigure<IGrainStorageSerializer>((o, fallback) => o.GrainStorageSerializer = stateBytes.Wrap(o.GrainStorageSerializer ?? fallback));
        });
        var host = builder.Build();
        await host.StartAsync();
        Console.WriteLine(storage is null || storage.Provider == StorageSettings.Sqlite
            ? $"silo started; state file {stateFile} (WAL, synchronous={(options.Normal ? "NORMAL" : "FULL")}), data {dataDir}"
            : $"silo started; grain storage {storage.Provider}, data {dataDir}");
        Console.WriteLine();
        return new ServiceHost(host, options, dataDir, stateFile, csvName, stateBytes);
    }

    /// <summary>The length of a job's state row in the SQLite file, as the provider stored it.</summary>
    public long JobStateBytes(string jobId)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = StateFile, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        // grain_type holds the state name ("job", from [PersistentState("job", ...)]); grain_id is "job/{key}".
        command.CommandText = "SELECT length(data) FROM orleans_grain_state WHERE grain_type = 'job' AND grain_id LIKE '%/' || $id";
        command.Parameters.AddWithValue("$id", jobId);
        using var reader = command.ExecuteReader();
        var sizes = new List<long>();
        while (reader.Read())
        {
            sizes.Add(reader.GetInt64(0));
        }

        return sizes.Count == 1 ? sizes[0] : throw new InvalidOperationException($"expected one state row for job '{jobId}', found {sizes.Count}");
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        if (!_options.Keep)
        {
            try
            {
                Directory.Delete(Path.GetDirectoryName(StateFile)!, recursive: true);
            }
            catch (IOException)
            {
                // Left for the next run, which deletes it first.
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void WriteCsv(string path, long rows)
    {
        var temp = path + ".tmp";
        using (var writer = new StreamWriter(temp, false, new UTF8Encoding(false), 1 << 20))
        {
            writer.Write("id,text,value\n");
            for (long id = 0; id < rows; id++)
            {
                writer.Write(string.Create(CultureInfo.InvariantCulture, $"{id},row {id},{id * 3}\n"));
            }
        }

        File.Move(temp, path, overwrite: true);
    }
}
