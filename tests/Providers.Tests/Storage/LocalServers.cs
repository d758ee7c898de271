using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OrleansShards.Testing.Servers;

/// <summary>
/// Starts the real servers the grain storage providers talk to, on 127.0.0.1 and free ports, each in a temporary
/// directory: PostgreSQL (Debian's <c>initdb</c>/<c>pg_ctl</c>, run as the <c>postgres</c> user when we are root),
/// <c>redis-server</c>, and Azurite's blob and table services (npm, <c>.ci/tools</c>). Free of any test framework, so the
/// storage benchmark links this file too. A missing server is reported as <see cref="ServerMissingException"/>.
/// </summary>
public static class LocalServers
{
    /// <summary>The account every Azurite accepts (public, documented).</summary>
    public const string AzuriteAccount = "devstoreaccount1";

    /// <summary>Azurite's well-known account key (public, documented).</summary>
    public const string AzuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>
    /// Starts PostgreSQL with scram password authentication for <paramref name="user"/>. <paramref name="durable"/>
    /// keeps fsync and synchronous commit on (benchmarks); tests turn them off.
    /// </summary>
    public static async Task<PostgresInstance> StartPostgresAsync(string user, string password, bool durable)
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        if (bin is null)
        {
            throw new ServerMissingException("PostgreSQL server not installed: apt-get install postgresql (no initdb under /usr/lib/postgresql/*/bin)");
        }

        var asRoot = Environment.UserName == "root";
        var root = Path.Combine(Path.GetTempPath(), "shards-storage-pg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var passwordFile = Path.Combine(root, "pwfile");
        await File.WriteAllTextAsync(passwordFile, password + "\n");
        if (asRoot)
        {
            await RunAsync("chown", ["-R", "postgres:postgres", root], asPostgres: false, asRoot);
        }

        var data = Path.Combine(root, "data");
        await RunAsync(Path.Combine(bin, "initdb"),
            ["-D", data, "-U", user, $"--pwfile={passwordFile}", "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], asPostgres: true, asRoot);
        File.Delete(passwordFile);
        var port = FreePort();
        var settings = $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200" +
            (durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        await RunAsync(Path.Combine(bin, "pg_ctl"), ["-D", data, "-l", Path.Combine(root, "server.log"), "-w", "-t", "60", "-o", settings, "start"], asPostgres: true, asRoot);
        return new PostgresInstance(bin, root, port, user, password, asRoot);
    }

    /// <summary>Starts <c>redis-server</c> with no persistence (<c>--save ""</c>) on a free port.</summary>
    public static async Task<ServerProcess> StartRedisAsync(string? appendFsync = null)
    {
        var bin = Find("REDIS_SERVER_BIN", "redis-server", npm: false)
            ?? throw new ServerMissingException("redis-server not installed: apt-get install redis-server (or set REDIS_SERVER_BIN)");
        var port = FreePort();
        string[] args = ["--bind", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--save", ""];
        string? dir = null;
        if (appendFsync is not null)
        {
            // Durability for benchmarks: an append-only file fsynced as asked (always = before each reply).
            dir = Path.Combine(Path.GetTempPath(), "shards-storage-redis-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(dir);
            args = [.. args, "--dir", dir, "--appendonly", "yes", "--appendfsync", appendFsync];
        }

        var server = ServerProcess.Start("redis-server", bin, args, port, dir);
        await server.WaitForPortAsync();
        return server;
    }

    /// <summary>Starts Azurite's blob service (with <c>--skipApiVersionCheck</c>: the SDK speaks a newer version).</summary>
    public static async Task<ServerProcess> StartAzuriteAsync()
    {
        var bin = Find("AZURITE_BLOB_BIN", "azurite-blob", npm: true)
            ?? throw new ServerMissingException("azurite not installed: npm install --prefix .ci/tools azurite@3.37.0 (or set AZURITE_BLOB_BIN)");
        var port = FreePort();
        var dir = Path.Combine(Path.GetTempPath(), "shards-storage-azurite-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var server = ServerProcess.Start("azurite-blob", bin,
            ["--silent", "--location", dir, "--blobHost", "127.0.0.1", "--blobPort", port.ToString(CultureInfo.InvariantCulture), "--disableTelemetry", "--skipApiVersionCheck"],
            port, dir);
        await server.WaitForPortAsync();
        return server;
    }

    /// <summary>Starts Azurite's table service (with <c>--skipApiVersionCheck</c>, as the blob service).</summary>
    public static async Task<ServerProcess> StartAzuriteTableAsync()
    {
        var bin = Find("AZURITE_TABLE_BIN", "azurite-table", npm: true)
            ?? throw new ServerMissingException("azurite not installed: npm install --prefix .ci/tools azurite@3.37.0 (or set AZURITE_TABLE_BIN)");
        var port = FreePort();
        var dir = Path.Combine(Path.GetTempPath(), "shards-storage-azurite-table-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var server = ServerProcess.Start("azurite-table", bin,
            ["--silent", "--location", dir, "--tableHost", "127.0.0.1", "--tablePort", port.ToString(CultureInfo.InvariantCulture), "--disableTelemetry", "--skipApiVersionCheck"],
            port, dir);
        await server.WaitForPortAsync();
        return server;
    }

    /// <summary>The connection string of the Azurite blob service at <paramref name="port"/>.</summary>
    public static string AzuriteConnectionString(int port) =>
        $"DefaultEndpointsProtocol=http;AccountName={AzuriteAccount};AccountKey={AzuriteKey};BlobEndpoint=http://127.0.0.1:{port}/{AzuriteAccount};";

    /// <summary>The connection string of the Azurite table service at <paramref name="port"/>.</summary>
    public static string AzuriteTableConnectionString(int port) =>
        $"DefaultEndpointsProtocol=http;AccountName={AzuriteAccount};AccountKey={AzuriteKey};TableEndpoint=http://127.0.0.1:{port}/{AzuriteAccount};";

    /// <summary>A free TCP port on the loopback interface.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The executable: the environment variable, then the repository's .ci/tools (npm), then PATH.</summary>
    private static string? Find(string variable, string name, bool npm)
    {
        var configured = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured) ? configured : throw new FileNotFoundException($"{variable}={configured} does not exist");
        }

        if (npm)
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "OrleansShards.sln")))
                {
                    var local = Path.Combine(dir.FullName, ".ci", "tools", "node_modules", ".bin", name);
                    if (File.Exists(local))
                    {
                        return local;
                    }

                    break;
                }
            }
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin")
            .Select(p => Path.Combine(p, name))
            .FirstOrDefault(File.Exists);
    }

    internal static async Task RunAsync(string program, string[] arguments, bool asPostgres, bool asRoot)
    {
        var start = new ProcessStartInfo
        {
            FileName = asPostgres && asRoot ? "runuser" : program,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (asPostgres && asRoot)
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
}

/// <summary>A server that is not installed here.</summary>
public sealed class ServerMissingException(string message) : Exception(message);

/// <summary>A PostgreSQL cluster started by <see cref="LocalServers.StartPostgresAsync"/>; stopped and removed on dispose.</summary>
public sealed class PostgresInstance(string bin, string root, int port, string user, string password, bool asRoot) : IAsyncDisposable
{
    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; } = port;

    /// <summary>The superuser.</summary>
    public string User { get; } = user;

    /// <summary>Its password.</summary>
    public string Password { get; } = password;

    /// <summary>An Npgsql connection string to <paramref name="database"/>, without the password unless asked.</summary>
    public string ConnectionString(string database, bool withPassword = false) =>
        $"Host=127.0.0.1;Port={Port};Username={User};Database={database}" + (withPassword ? $";Password={Password}" : "");

    /// <summary>Stops the server and removes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await LocalServers.RunAsync(Path.Combine(bin, "pg_ctl"), ["-D", Path.Combine(root, "data"), "-m", "immediate", "-w", "stop"], asPostgres: true, asRoot);
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A server process of ours on a port; killed (with its children) and its directory removed on dispose.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly string? _directory;

    private ServerProcess(string name, Process process, int port, string? directory)
    {
        Name = name;
        _process = process;
        Port = port;
        _directory = directory;
    }

    /// <summary>The server, as messages name it.</summary>
    public string Name { get; }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Starts <paramref name="bin"/>; its output is kept for error messages.</summary>
    public static ServerProcess Start(string name, string bin, string[] args, int port, string? directory = null)
    {
        var info = new ProcessStartInfo(bin) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"{bin} did not start");
        var server = new ServerProcess(name, process, port, directory);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Waits (up to 30 s) until the port accepts connections; fails with the server's output when it exits.</summary>
    public async Task WaitForPortAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}: {Output}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new TimeoutException($"{Name} did not listen on port {Port} within 30 s: {Output}");
    }

    /// <summary>What the server printed (the first 16,000 characters).</summary>
    public string Output
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Kills the server and waits for it to exit.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            // Already gone, or it will be soon.
        }

        _process.Dispose();
        if (_directory is not null)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            if (_log.Length < 16_000)
            {
                _log.AppendLine(line);
            }
        }
    }
}
