using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Azure.Storage;
using Azure.Storage.Blobs;

[assembly: AssemblyFixture(typeof(OrleansShards.Readers.Tests.Objects.ObjectServers))]

namespace OrleansShards.Readers.Tests.Objects;

/// <summary>
/// s3rver and Azurite (blob), started once per test assembly from npm's executables and killed at the end. Found through
/// <c>S3RVER_BIN</c> / <c>AZURITE_BLOB_BIN</c>, then <c>.ci/tools/node_modules/.bin</c> of the repository, then PATH.
/// A server that is missing fails the tests that need it when <c>CI</c> is set, and skips them (loudly) otherwise; one
/// that is installed but does not start fails them. Servers start when a test first asks for them.
/// </summary>
/// <remarks>Shared with Grains.Tests as a linked file.</remarks>
public sealed class ObjectServers : IAsyncLifetime
{
    /// <summary>The account key every Azurite accepts for <c>devstoreaccount1</c> (public, documented).</summary>
    public const string AzuriteAccount = "devstoreaccount1";

    /// <summary>The well-known Azurite account key.</summary>
    public const string AzuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>The environment variable that holds the S3 secret in tests (connections name it as <c>env:...</c>).</summary>
    public const string S3SecretVariable = "SHARDS_TEST_S3_SECRET";

    /// <summary>The environment variable that holds the Azure account key in tests.</summary>
    public const string AzureKeyVariable = "SHARDS_TEST_AZURE_KEY";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "shards-objects-" + Guid.NewGuid().ToString("N")[..8]);
    private Process? _s3rver;
    private Process? _azurite;
    private string? _s3Missing;
    private string? _azureMissing;
    private readonly StringBuilder _s3Log = new();
    private readonly StringBuilder _azureLog = new();

    public string? S3Url { get; private set; }

    public string? AzureUrl { get; private set; }

    public AmazonS3Client S3 { get; private set; } = null!;

    public BlobServiceClient Azure { get; private set; } = null!;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _s3Tried;
    private bool _azureTried;
    private string? _s3Failed;
    private string? _azureFailed;

    public ValueTask InitializeAsync()
    {
        Environment.SetEnvironmentVariable(S3SecretVariable, "S3RVER");
        Environment.SetEnvironmentVariable(AzureKeyVariable, AzuriteKey);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Starts the server of <paramref name="kind"/> (<c>s3</c> or <c>azureblob</c>) unless it runs; skips the test (or,
    /// under CI, fails it) when the server is not installed, fails it when the server does not start.
    /// </summary>
    public async Task RequireAsync(string kind)
    {
        await _gate.WaitAsync();
        try
        {
            Directory.CreateDirectory(_root);
            if (kind == "s3" && !_s3Tried)
            {
                _s3Tried = true;
                try
                {
                    await StartS3Async();
                }
                catch (Exception e)
                {
                    _s3Failed = $"s3rver did not start: {e.Message}";
                }
            }
            else if (kind != "s3" && !_azureTried)
            {
                _azureTried = true;
                try
                {
                    await StartAzureAsync();
                }
                catch (Exception e)
                {
                    _azureFailed = $"azurite-blob did not start: {e.Message}";
                }
            }
        }
        finally
        {
            _gate.Release();
        }

        if ((kind == "s3" ? _s3Failed : _azureFailed) is { } failed)
        {
            Assert.Fail(failed);
        }

        Require(kind);
    }

    private async Task StartS3Async()
    {
        var bin = Find("S3RVER_BIN", "s3rver");
        if (bin is null)
        {
            _s3Missing = "s3rver not installed: npm install --prefix .ci/tools s3rver@3.7.1 (or set S3RVER_BIN)";
            return;
        }

        var port = FreePort();
        var dir = Path.Combine(_root, "s3");
        Directory.CreateDirectory(dir);
        _s3rver = Start(bin, ["--directory", dir, "--address", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], _s3Log);
        S3Url = $"http://127.0.0.1:{port}";
        await WaitForPortAsync(_s3rver, port, "s3rver", _s3Log);
        S3 = new AmazonS3Client(new BasicAWSCredentials("S3RVER", "S3RVER"), new AmazonS3Config
        {
            ServiceURL = S3Url,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });
    }

    private async Task StartAzureAsync()
    {
        var bin = Find("AZURITE_BLOB_BIN", "azurite-blob");
        if (bin is null)
        {
            _azureMissing = "azurite not installed: npm install --prefix .ci/tools azurite@3.37.0 (or set AZURITE_BLOB_BIN)";
            return;
        }

        var port = FreePort();
        var dir = Path.Combine(_root, "azurite");
        Directory.CreateDirectory(dir);
        _azurite = Start(bin, ["--silent", "--location", dir, "--blobHost", "127.0.0.1", "--blobPort", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--disableTelemetry", "--skipApiVersionCheck"], _azureLog);
        AzureUrl = $"http://127.0.0.1:{port}/{AzuriteAccount}";
        await WaitForPortAsync(_azurite, port, "azurite-blob", _azureLog);
        Azure = new BlobServiceClient(new Uri(AzureUrl), new StorageSharedKeyCredential(AzuriteAccount, AzuriteKey));
    }

    /// <summary>Skips (or, under CI, fails) a test whose server is not installed.</summary>
    private void Require(string kind)
    {
        var missing = kind == "s3" ? _s3Missing : _azureMissing;
        if (missing is null)
        {
            return;
        }

        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Fail(missing + " (CI is set: object-store tests must run)");
        }

        Assert.Skip(missing);
    }

    /// <summary>An operator's connection to the test server of <paramref name="kind"/>, its secret an <c>env:</c> reference.</summary>
    public SourceConnection Connection(string kind) => kind == "s3"
        ? new SourceConnection { Kind = "s3", ServiceUrl = S3Url, AccessKey = "S3RVER", Secret = "env:" + S3SecretVariable, Region = "us-east-1", ForcePathStyle = true }
        : new SourceConnection { Kind = "azureblob", ServiceUrl = AzureUrl, AccessKey = AzuriteAccount, Secret = "env:" + AzureKeyVariable };

    /// <summary>The connections <c>store-s3</c> and <c>store-azureblob</c>.</summary>
    public SourceConnectionsOptions Connections() => new()
    {
        Connections = new(StringComparer.Ordinal)
        {
            ["store-s3"] = Connection("s3"),
            ["store-azureblob"] = Connection("azureblob"),
        },
    };

    /// <summary>Makes a new bucket or container with a unique name.</summary>
    public async Task<string> CreateContainerAsync(string kind)
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..20];
        if (kind == "s3")
        {
            await S3.PutBucketAsync(new PutBucketRequest { BucketName = name });
        }
        else
        {
            await Azure.GetBlobContainerClient(name).CreateAsync();
        }

        return name;
    }

    /// <summary>Uploads (or re-uploads) an object.</summary>
    public async Task PutAsync(string kind, string container, string key, byte[] bytes)
    {
        if (kind == "s3")
        {
            // Without UseChunkEncoding = false, s3rver stores the aws-chunked framing inside the object.
            await S3.PutObjectAsync(new PutObjectRequest { BucketName = container, Key = key, InputStream = new MemoryStream(bytes), UseChunkEncoding = false });
        }
        else
        {
            await Azure.GetBlobContainerClient(container).GetBlobClient(key).UploadAsync(new BinaryData(bytes), overwrite: true);
        }
    }

    public Task PutAsync(string kind, string container, string key, string text) => PutAsync(kind, container, key, Encoding.UTF8.GetBytes(text));

    public ValueTask DisposeAsync()
    {
        S3?.Dispose();
        foreach (var process in new[] { _s3rver, _azurite })
        {
            if (process is null)
            {
                continue;
            }

            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(5_000);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            process.Dispose();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The executable: the environment variable, then the repository's .ci/tools, then PATH.</summary>
    private static string? Find(string variable, string name)
    {
        var configured = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured) ? configured : throw new FileNotFoundException($"{variable}={configured} does not exist");
        }

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

        return (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(p => Path.Combine(p, name))
            .FirstOrDefault(File.Exists);
    }

    private static Process Start(string bin, string[] args, StringBuilder log)
    {
        var info = new ProcessStartInfo(bin) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"{bin} did not start");
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Append(StringBuilder log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            if (log.Length < 16_000)
            {
                log.AppendLine(line);
            }
        }
    }

    private static async Task WaitForPortAsync(Process process, int port, string name, StringBuilder log)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited with {process.ExitCode}: {Snapshot(log)}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new TimeoutException($"{name} did not listen on port {port} within 30 s: {Snapshot(log)}");
    }

    private static string Snapshot(StringBuilder log)
    {
        lock (log)
        {
            return log.ToString();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
