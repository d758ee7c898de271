using OrleansShards.Testing.Servers;

namespace OrleansShards.Tests.Servers;

/// <summary>
/// A real <c>redis-server</c> on 127.0.0.1 and a free port, without persistence, started by
/// <see cref="LocalServers.StartRedisAsync"/> and killed at the end. Without the binary a test that needs it fails
/// when <c>CI</c> is set and is skipped loudly otherwise (<see cref="Require"/>).
/// </summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private ServerProcess? _server;

    /// <summary>The StackExchange.Redis configuration string.</summary>
    public string Connection => $"127.0.0.1:{_server?.Port}";

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

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        try
        {
            _server = await LocalServers.StartRedisAsync();
        }
        catch (Exception e)
        {
            // Reported by Require: a failure under CI, a loud skip elsewhere.
            Problem = e is ServerMissingException ? e.Message : $"redis-server did not start: {e.Message}";
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
