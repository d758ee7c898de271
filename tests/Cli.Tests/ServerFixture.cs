namespace OrleansShards.Tests.Servers;

/// <summary>The real server with <c>numbers.csv</c> (<see cref="NumbersRows"/> rows) in its data directory.</summary>
public sealed class ServerFixture : InProcessServer
{
    public const int NumbersRows = 3_000;

    public ServerFixture()
        : base("cli")
    {
    }

    protected override Task PrepareAsync()
    {
        WriteCsv("numbers.csv", NumbersRows);
        return Task.CompletedTask;
    }
}
