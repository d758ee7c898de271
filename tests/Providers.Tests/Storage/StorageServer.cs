using OrleansShards.Testing.Servers;

namespace OrleansShards.Providers.Tests.Storage;

/// <summary>
/// A server the conformance tests need, started when a test first asks for it and stopped at the end of the run.
/// Not installed: the test fails when the environment variable <c>CI</c> is set and is skipped, loudly, otherwise.
/// Installed but not starting: the test fails.
/// </summary>
public abstract class StorageServer<T> : IAsyncLifetime where T : class, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _tried;
    private T? _server;
    private string? _missing;
    private string? _failed;

    /// <summary>Starts the server.</summary>
    protected abstract Task<T> StartAsync();

    /// <summary>The running server; starts it on first use.</summary>
    public async Task<T> RequireAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (!_tried)
            {
                _tried = true;
                try
                {
                    _server = await StartAsync();
                }
                catch (ServerMissingException e)
                {
                    _missing = e.Message;
                }
                catch (Exception e)
                {
                    _failed = $"{GetType().Name}: the server did not start: {e.Message}";
                }
            }
        }
        finally
        {
            _gate.Release();
        }

        if (_failed is not null)
        {
            Assert.Fail(_failed);
        }

        if (_missing is not null)
        {
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
            {
                Assert.Fail($"{_missing} (CI is set, so this is a failure, not a skip)");
            }

            Assert.Skip($"SKIPPED, server missing: {_missing}");
        }

        return _server!;
    }

    /// <inheritdoc/>
    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
