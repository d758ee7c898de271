using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

// One PostgreSQL server for the clustering tests (membership table, migrate, silo processes).
[assembly: AssemblyFixture(typeof(OrleansShards.Cluster.Tests.ClusteringPostgresServer))]

namespace OrleansShards.Cluster.Tests;

/// <summary>
/// A real PostgreSQL server for the tests: <c>initdb</c> and <c>pg_ctl</c> from Debian's <c>postgresql</c> package
/// (<c>/usr/lib/postgresql/*/bin</c>) in a temporary directory, listening on 127.0.0.1 and a free port, with
/// scram-sha-256 password authentication over TCP so that connections go through the password path. PostgreSQL
/// refuses to run as root: as root the server runs as the <c>postgres</c> OS user (<c>runuser</c>). Stopped and
/// removed at the end.
/// </summary>
/// <remarks>
/// Without the binaries a test that needs the server fails when the environment variable <c>CI</c> is set, and is
/// skipped loudly otherwise (<see cref="Require"/>).
/// </remarks>
public sealed class ClusteringPostgresServer : IAsyncLifetime
{
    private string? _bin;
    private bool _asRoot;

    /// <summary>The superuser the tests connect as.</summary>
    public string User { get; } = "shards_test";

    /// <summary>The user's password: random, so that a test can search everything the server wrote for it.</summary>
    public string Password { get; } = "pg-secret-" + Guid.NewGuid().ToString("N");

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; private set; }

    /// <summary>The server's directory (data, socket, log).</summary>
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "shards-pg-cl-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>Why the server is not there, or <see langword="null"/> when it runs.</summary>
    public string? Problem { get; private set; }

    /// <summary>Skips the calling test (fails it under CI) when the server could not be started.</summary>
    public void Require()
    {
        if (Problem is null)
        {
            return;
        }

        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Fail($"{Problem} (CI is set, so this is a failure, not a skip)");
        }

        Assert.Skip(Problem);
    }

    /// <summary>A connection string without the password (as an operator writes one), to <paramref name="database"/>.</summary>
    public string ConnectionStringWithoutPassword(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = User, Database = database, Pooling = true }.ConnectionString;

    /// <summary>Opens a connection with the password (for test setup) to <paramref name="database"/>.</summary>
    public async Task<NpgsqlConnection> OpenAsync(string database = "postgres")
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionStringWithoutPassword(database)) { Password = Password }.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Creates a fresh database and returns its name.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = (prefix + "_" + Guid.NewGuid().ToString("N")[..8]).ToLowerInvariant();
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return name;
    }

    /// <summary>Runs SQL in <paramref name="database"/>.</summary>
    public async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = await OpenAsync(database);
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 120 };
        await command.ExecuteNonQueryAsync();
    }

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        _bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        if (_bin is null)
        {
            Problem = "PostgreSQL server not installed: apt-get install postgresql (no initdb under /usr/lib/postgresql/*/bin)";
            return;
        }

        _asRoot = Environment.UserName == "root";
        await StopAbandonedServersAsync();
        try
        {
            Directory.CreateDirectory(Root);
            // Whose server this is: a later run stops it if this test process was killed before stopping it.
            await File.WriteAllTextAsync(Path.Combine(Root, OwnerFile), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var passwordFile = Path.Combine(Root, "pwfile");
            await File.WriteAllTextAsync(passwordFile, Password + "\n");
            if (_asRoot)
            {
                await RunAsync("chown", ["-R", "postgres:postgres", Root], asPostgres: false);
            }

            var data = Path.Combine(Root, "data");
            await RunAsync(Path.Combine(_bin, "initdb"),
                ["-D", data, "-U", User, $"--pwfile={passwordFile}", "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]);
            File.Delete(passwordFile);
            Port = FreePort();
            var settings = $"-p {Port} -k {Root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200";
            await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", data, "-l", Path.Combine(Root, "server.log"), "-w", "-t", "60", "-o", settings, "start"]);
        }
        catch (Exception e)
        {
            Problem = $"PostgreSQL could not be started from {_bin}: {e.Message}";
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_bin is not null && Problem is null)
        {
            try
            {
                await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(Root, "data"), "-m", "immediate", "-w", "stop"]);
            }
            catch (InvalidOperationException)
            {
                // Already stopped.
            }
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private const string OwnerFile = "owner.pid";

    /// <summary>Stops the servers of earlier test processes that were killed before they could stop them.</summary>
    private async Task StopAbandonedServersAsync()
    {
        foreach (var root in Directory.GetDirectories(Path.GetTempPath(), "shards-pg-*"))
        {
            var owner = Path.Combine(root, OwnerFile);
            if (!File.Exists(owner) || !int.TryParse(await File.ReadAllTextAsync(owner), out var pid) || IsAlive(pid))
            {
                continue;
            }

            try
            {
                if (File.Exists(Path.Combine(root, "data", "postmaster.pid")))
                {
                    await RunAsync(Path.Combine(_bin!, "pg_ctl"), ["-D", Path.Combine(root, "data"), "-m", "immediate", "-w", "stop"]);
                }

                Directory.Delete(root, recursive: true);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
            {
                // Another run is cleaning it up, or it is gone already.
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private async Task RunAsync(string program, string[] arguments, bool asPostgres = true)
    {
        var start = new ProcessStartInfo
        {
            FileName = asPostgres && _asRoot ? "runuser" : program,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (asPostgres && _asRoot)
        {
            foreach (var argument in (string[])["-u", "postgres", "--", program])
            {
                start.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} exited with {process.ExitCode}: {(await error).Trim()} {(await output).Trim()}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
