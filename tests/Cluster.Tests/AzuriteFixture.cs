using OrleansShards.Testing.Servers;

[assembly: AssemblyFixture(typeof(OrleansShards.Cluster.Tests.AzuriteFixture))]

namespace OrleansShards.Cluster.Tests;

/// <summary>
/// Azurite's blob and table services (npm, <c>.ci/tools</c>) on 127.0.0.1 and free ports, started on first use
/// and killed at the end: Orleans' Azure Table clustering and blob grain storage for the silo process tests.
/// Not installed: a test that needs it fails when <c>CI</c> is set and is skipped, loudly, otherwise.
/// </summary>
public sealed class AzuriteFixture : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ServerProcess? _blob;
    private ServerProcess? _table;
    private string? _problem;
    private bool _tried;

    /// <summary>The connection string of the blob service.</summary>
    public string BlobConnection => LocalServers.AzuriteConnectionString(_blob!.Port);

    /// <summary>The connection string of the table service.</summary>
    public string TableConnection => LocalServers.AzuriteTableConnectionString(_table!.Port);

    /// <summary>Starts both services on first use; skips the calling test (fails it under CI) when Azurite is not installed.</summary>
    public async Task RequireAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (!_tried)
            {
                _tried = true;
                try
                {
                    _blob = await LocalServers.StartAzuriteAsync();
                    _table = await LocalServers.StartAzuriteTableAsync();
                }
                catch (ServerMissingException e)
                {
                    _problem = "SKIPPED, server missing: " + e.Message;
                }
                catch (Exception e)
                {
                    Assert.Fail($"Azurite did not start: {e.Message}");
                }
            }
        }
        finally
        {
            _gate.Release();
        }

        if (_problem is null)
        {
            return;
        }

        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Fail($"{_problem} (CI is set, so this is a failure, not a skip)");
        }

        Assert.Skip(_problem);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var server in new[] { _blob, _table })
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }

        _gate.Dispose();
    }
}
