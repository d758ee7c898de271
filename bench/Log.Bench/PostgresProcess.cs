using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OrleansShards.Log.Bench;

/// <summary>
/// A PostgreSQL server of the benchmark's own (initdb + pg_ctl from /usr/lib/postgresql/*/bin, as the test fixture
/// does), with PostgreSQL's durable defaults (fsync and synchronous_commit on), unlike the tests' fast settings.
/// </summary>
internal sealed class PostgresProcess : IAsyncDisposable
{
    private readonly string _bin;
    private readonly bool _asRoot = Environment.UserName == "root";

    private PostgresProcess(string bin) => _bin = bin;

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "shards-pg-bench-" + Guid.NewGuid().ToString("N")[..8]);

    public int Port { get; private set; }

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=bench;Database=postgres;Pooling=true;Maximum Pool Size=200";

    /// <summary>Starts a server, or returns null with the reason when PostgreSQL is not installed.</summary>
    public static async Task<(PostgresProcess? Server, string? Problem)> StartAsync()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderDescending().FirstOrDefault()
            : null;
        if (bin is null)
        {
            return (null, "PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin)");
        }

        var server = new PostgresProcess(bin);
        Directory.CreateDirectory(server.Root);
        if (server._asRoot)
        {
            await server.RunAsync("chown", ["-R", "postgres:postgres", server.Root], asPostgres: false);
        }

        var data = Path.Combine(server.Root, "data");
        await server.RunAsync(Path.Combine(bin, "initdb"), ["-D", data, "-U", "bench", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]);
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            server.Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        await server.RunAsync(Path.Combine(bin, "pg_ctl"),
            ["-D", data, "-l", Path.Combine(server.Root, "server.log"), "-w", "-t", "60", "-o", $"-p {server.Port} -k {server.Root} -c listen_addresses=127.0.0.1 -c max_connections=300", "start"]);
        return (server, null);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(Root, "data"), "-m", "fast", "-w", "stop"]);
        }
        catch (InvalidOperationException)
        {
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task RunAsync(string program, string[] arguments, bool asPostgres = true)
    {
        var start = new ProcessStartInfo { FileName = asPostgres && _asRoot ? "runuser" : program, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        if (asPostgres && _asRoot)
        {
            foreach (var a in (string[])["-u", "postgres", "--", program])
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} exited with {process.ExitCode}: {(await error).Trim()} {(await output).Trim()}");
        }
    }
}
