using System.Data.Common;

namespace OrleansShards.Providers.LogStore;

/// <summary>
/// The writer thread's connection and its commands, kept by statement text so that each one is parsed (and, where
/// the driver does so, prepared) once and only rebound afterwards.
/// </summary>
public sealed class WriterSession : IDisposable
{
    private readonly Dictionary<string, SessionCommand> _commands = new(StringComparer.Ordinal);

    internal WriterSession(DbConnection connection) => Connection = connection;

    /// <summary>The open connection, used by the writer thread only.</summary>
    public DbConnection Connection { get; }

    /// <summary>The command for <paramref name="sql"/>, with parameters named in the order values are bound.</summary>
    public SessionCommand Command(string sql, params string[] parameterNames)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = new SessionCommand(Connection, sql, parameterNames);
            _commands.Add(sql, command);
        }

        return command;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
        Connection.Dispose();
    }
}
