using System.Diagnostics;
using Npgsql;
using OrleansShards.Tests.Sql;

namespace OrleansShards.Cluster.Tests;

/// <summary>The silo executable's <c>migrate</c> command, run as a real process against a real PostgreSQL.</summary>
public sealed class MigrateCommandTests(PostgresServer postgres)
{
    [Fact]
    public async Task Migrate_creates_the_clustering_schema_on_an_empty_database_then_finds_it_in_place()
    {
        postgres.Require();
        var database = await postgres.CreateDatabaseAsync("migrate");
        string[] arguments =
        [
            "migrate",
            "--Shards:Clustering=postgres",
            $"--Shards:ClusteringConnectionString={postgres.ConnectionStringWithoutPassword(database)}",
            "--Shards:ClusteringPassword=env:SHARDS_TEST_PG_PASSWORD",
        ];
        var environment = new Dictionary<string, string> { ["SHARDS_TEST_PG_PASSWORD"] = postgres.Password };

        var first = await RunAsync(arguments, environment);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("migrate: clustering: PostgreSQL 127.0.0.1:", first.Output, StringComparison.Ordinal);
        Assert.Contains("created tables orleansquery, shards_membership_version, shards_membership", first.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(postgres.Password, first.Output + first.Error, StringComparison.Ordinal);
        Assert.Equal(9L, await ScalarAsync(database, "SELECT count(*) FROM OrleansQuery"));

        var again = await RunAsync(arguments, environment);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("tables present; 9 queries in OrleansQuery up to date", again.Output, StringComparison.Ordinal);
        Assert.Equal(9L, await ScalarAsync(database, "SELECT count(*) FROM OrleansQuery"));
    }

    [Fact]
    public async Task Migrate_with_nothing_to_migrate_says_so_and_succeeds()
    {
        var result = await RunAsync(["migrate", "--Shards:Clustering=localhost"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("nothing to do", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_fails_with_one_line_naming_the_setting_when_the_connection_string_holds_the_password()
    {
        var result = await RunAsync(["migrate", "--Shards:Clustering=postgres", "--Shards:ClusteringConnectionString=Host=127.0.0.1;Username=u;Password=hunter2;Database=d"]);
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("migrate: clustering failed: Shards:ClusteringConnectionString must not hold the password", line, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", result.Output + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_fails_with_one_line_when_the_password_reference_points_at_nothing()
    {
        var result = await RunAsync(["migrate", "--Shards:Clustering=postgres", "--Shards:ClusteringConnectionString=Host=127.0.0.1;Username=u;Database=d", "--Shards:ClusteringPassword=env:SHARDS_TEST_NO_SUCH_VARIABLE"]);
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("SHARDS_TEST_NO_SUCH_VARIABLE", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_fails_with_one_line_when_the_server_refuses_the_connection()
    {
        postgres.Require();
        var result = await RunAsync(
            ["migrate", "--Shards:Clustering=postgres", $"--Shards:ClusteringConnectionString={postgres.ConnectionStringWithoutPassword("postgres")}", "--Shards:ClusteringPassword=env:SHARDS_TEST_PG_PASSWORD"],
            new Dictionary<string, string> { ["SHARDS_TEST_PG_PASSWORD"] = "not-the-password" });
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("migrate: clustering failed: ", line, StringComparison.Ordinal);
        Assert.Contains("password authentication failed", line, StringComparison.Ordinal);
    }

    private async Task<long> ScalarAsync(string database, string sql)
    {
        await using var connection = await postgres.OpenAsync(database);
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<Outcome> RunAsync(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add(SiloProcess.SiloDll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException("migrate did not exit within 2 minutes");
        }

        return new Outcome(process.ExitCode, await output, await error);
    }

    private sealed record Outcome(int ExitCode, string Output, string Error)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
    }
}
