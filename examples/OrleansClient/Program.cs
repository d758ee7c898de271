using System.Globalization;
using OrleansShards.Client;
using OrleansShards.GrainInterfaces;
using OrleansShards.OrleansClient;

// An Orleans client application of OrleansShards: joins the cluster through a silo's gateway, creates a job
// through IJobGrain, leases, reads and reports through the grains, and prints what it saw.
//   dotnet run --project examples/OrleansClient -- [--gateway host:port]... [--cluster-id ID] [--service-id ID]
//       [--job ID] [--path FILE.csv] [--sample-dir SILO_DATA_DIR [--rows N]] [--shard-size N] [--epochs N] [--mode thick|thin]
//   or, to follow a topic partition through its Orleans stream from an offset:
//       --mode follow --topic NAME [--partition P] [--from OFFSET] [--count N]
var cluster = new ShardsClusterOptions();
var settings = new ExampleSettings();
string? sampleDir = null;
string? topic = null;
var partition = 0;
var from = 0L;
var count = 100;
var rows = 10_000;
try
{
    for (var i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        switch (args[i])
        {
            case "--gateway": cluster.Gateways.Add(Value()); break;
            case "--cluster-id": cluster.ClusterId = Value(); break;
            case "--service-id": cluster.ServiceId = Value(); break;
            case "--job": settings = settings with { JobId = Value() }; break;
            case "--path": settings = settings with { Path = Value() }; break;
            case "--shard-size": settings = settings with { ShardSize = long.Parse(Value(), CultureInfo.InvariantCulture) }; break;
            case "--epochs": settings = settings with { Epochs = int.Parse(Value(), CultureInfo.InvariantCulture) }; break;
            case "--mode": settings = settings with { Mode = Value() }; break;
            case "--worker": settings = settings with { WorkerId = Value() }; break;
            case "--sample-dir": sampleDir = Value(); break;
            case "--rows": rows = int.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--topic": topic = Value(); break;
            case "--partition": partition = int.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--from": from = long.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--count": count = int.Parse(Value(), CultureInfo.InvariantCulture); break;
            default: throw new ArgumentException($"unknown option '{args[i]}'");
        }
    }
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"orleans-client: {e.Message}");
    return 2;
}

if (sampleDir is not null)
{
    var file = Path.Combine(sampleDir, settings.Path);
    SampleCsv.Write(file, rows);
    Console.WriteLine($"sample: {rows} rows in {file}");
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

try
{
    Console.WriteLine($"joining cluster '{cluster.ClusterId}' through {string.Join(", ", cluster.Gateways.DefaultIfEmpty(ShardsClusterOptions.LocalGateway))}");
    await using var connection = await ShardsOrleansClient.ConnectAsync(cluster, stop.Token, TopicFollower.AddLogStreams);
    if (settings.Mode == "follow")
    {
        var records = await TopicFollower.ReadAsync(
            connection.Client, topic ?? throw new ArgumentException("--mode follow needs --topic"), partition, from, count, TimeSpan.FromMinutes(5), stop.Token);
        foreach (var record in records)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{record.Offset} {record.Json}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"followed {topic}/{partition}: {records.Count} records; resume with --from {(records.Count == 0 ? from : records[^1].Offset + 1)}"));
        return 0;
    }

    var summary = await OrleansClientExample.RunAsync(connection.Client, settings, Console.Out, stop.Token);
    return summary.FinalState == "completed" ? 0 : 1;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    Console.Error.WriteLine("orleans-client: stopped; leases not reported expire and go back to the queue");
    return 130;
}
catch (ArgumentException e)
{
    // A gateway that is not host:port, or a mode that does not exist.
    Console.Error.WriteLine($"orleans-client: {e.Message}");
    return 2;
}
catch (Exception e) when (e is Orleans.Runtime.OrleansException or ShardsException or TimeoutException)
{
    Console.Error.WriteLine($"orleans-client: {e.GetType().Name}: {e.Message}");
    return 1;
}

/// <summary>Writes the example's sample CSV: <c>id,value</c>, ids 0 to rows - 1.</summary>
internal static class SampleCsv
{
    public static void Write(string path, int rows)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var writer = new StreamWriter(path);
        writer.Write("id,value\n");
        for (var id = 0; id < rows; id++)
        {
            writer.Write(string.Create(CultureInfo.InvariantCulture, $"{id},{id * 0.5}\n"));
        }
    }
}
