using System.Data.Common;

namespace OrleansShards.Providers.LogStore;

/// <summary>One statement of the writer with its parameters, rebound at each use.</summary>
public sealed class SessionCommand : IDisposable
{
    private readonly DbCommand _command;

    internal SessionCommand(DbConnection connection, string sql, string[] parameterNames)
    {
        _command = connection.CreateCommand();
        _command.CommandText = sql;
        foreach (var name in parameterNames)
        {
            var parameter = _command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = DBNull.Value;
            _command.Parameters.Add(parameter);
        }
    }

    /// <summary>The underlying command, for dialect-specific parameter types.</summary>
    public DbCommand Inner => _command;

    /// <summary>Binds <paramref name="values"/> in order and executes the statement.</summary>
    public int Execute(params ReadOnlySpan<object> values)
    {
        Bind(values);
        return _command.ExecuteNonQuery();
    }

    /// <summary>Binds <paramref name="values"/> in order and returns the first column of the first row.</summary>
    public object? Scalar(params ReadOnlySpan<object> values)
    {
        Bind(values);
        var value = _command.ExecuteScalar();
        return value is DBNull ? null : value;
    }

    /// <summary>Binds <paramref name="values"/> in order and opens a reader.</summary>
    public DbDataReader Reader(params ReadOnlySpan<object> values)
    {
        Bind(values);
        return _command.ExecuteReader();
    }

    /// <inheritdoc/>
    public void Dispose() => _command.Dispose();

    private void Bind(ReadOnlySpan<object> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            _command.Parameters[i].Value = values[i];
        }
    }
}
