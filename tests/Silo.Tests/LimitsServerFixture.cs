using System.Net.Http.Headers;
using OrleansShards.Tests.Servers;

namespace OrleansShards.Silo.Tests;

/// <summary>
/// The real server with authentication on (admin, worker and reader tokens) and small status and append limits, so the
/// limit tests reach every bound quickly: three status followers, twenty leases and five dead letters per job in a
/// snapshot, 2 MiB appends. <c>small.csv</c> holds 2,500 rows.
/// </summary>
public sealed class LimitsServerFixture : InProcessServer
{
    public const string AdminToken = "limits-admin-4c1f9e2a7b";
    public const string WorkerToken = "limits-worker-8d3a6b1c5e";
    public const string ReaderToken = "limits-reader-2e7f4a9d1b";
    public const int MaxStatusFollowers = 3;
    public const int StatusLeasesPerJob = 20;
    public const int StatusDeadLettersPerJob = 5;
    public const int MaxAppendBodyBytes = 2 << 20;

    public LimitsServerFixture()
        : base("limits")
    {
    }

    protected override IEnumerable<string> Settings =>
    [
        $"--Shards:Auth:Tokens:0:Token={AdminToken}",
        "--Shards:Auth:Tokens:0:Role=admin",
        $"--Shards:Auth:Tokens:1:Token={WorkerToken}",
        "--Shards:Auth:Tokens:1:Role=worker",
        $"--Shards:Auth:Tokens:2:Token={ReaderToken}",
        "--Shards:Auth:Tokens:2:Role=reader",
        $"--Shards:Limits:MaxStatusFollowers={MaxStatusFollowers}",
        $"--Shards:Limits:StatusLeasesPerJob={StatusLeasesPerJob}",
        $"--Shards:Limits:StatusDeadLettersPerJob={StatusDeadLettersPerJob}",
        $"--Shards:Limits:MaxAppendBodyBytes={MaxAppendBodyBytes}",
    ];

    protected override Task PrepareAsync()
    {
        WriteCsv("small.csv", 2_500);
        return Task.CompletedTask;
    }

    /// <summary>A client that sends <paramref name="token"/> as a bearer token.</summary>
    public HttpClient As(string token)
    {
        var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }
}

/// <summary>The limit tests share one server.</summary>
[CollectionDefinition(Name)]
public sealed class LimitsCollection : ICollectionFixture<LimitsServerFixture>
{
    public const string Name = "limits";
}
