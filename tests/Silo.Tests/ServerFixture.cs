using OrleansShards.Tests.Servers;

namespace OrleansShards.Silo.Tests;

/// <summary>The real server with two CSV files in its data directory: <c>numbers.csv</c> (30,000 rows) and <c>small.csv</c> (2,500).</summary>
public sealed class ServerFixture : InProcessServer
{
    public ServerFixture()
        : base("http")
    {
    }

    protected override Task PrepareAsync()
    {
        WriteCsv("numbers.csv", 30_000);
        WriteCsv("small.csv", 2_500);
        return Task.CompletedTask;
    }
}
