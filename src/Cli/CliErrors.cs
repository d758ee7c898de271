using System.Net.Sockets;
using OrleansShards.Client;

namespace OrleansShards.Cli;

/// <summary>An error the user can act on, printed as one line: no stack trace.</summary>
internal sealed class CliException(string message) : Exception(message);

/// <summary>Turns what went wrong into the one line the command prints on stderr.</summary>
internal static class CliErrors
{
    /// <summary>One line that names the place and the reason; null when the exception is not one we explain.</summary>
    public static string Describe(Exception e, Uri server) => e switch
    {
        CliException cli => cli.Message,
        StopConsumingException stop => stop.Message,
        ShardsApiException api => api.Field is { Length: > 0 } field && !api.Detail.Contains(field, StringComparison.Ordinal)
            ? $"{api.Detail} (field '{field}', HTTP {api.Status})"
            : $"{api.Detail} (HTTP {api.Status})",
        HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded or HttpRequestError.InvalidResponse } =>
            $"{server} accepted the connection but did not answer HTTP: is it an Orleans silo or gateway port (11111, 30000 by default)? "
            + "The HTTP API listens on the server's --urls address (http://127.0.0.1:5080 in the README's examples)",
        HttpRequestException http => $"cannot reach {server} : {Reason(http)}",
        TaskCanceledException or TimeoutException => $"no answer from {server} in time",
        UnauthorizedAccessException or IOException => e.Message,
        _ => $"{e.GetType().Name}: {e.Message}",
    };

    private static string Reason(HttpRequestException http)
    {
        for (var inner = http.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
            {
                return socket.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "connection refused",
                    SocketError.HostNotFound or SocketError.NoData => "host not found",
                    SocketError.TimedOut => "connection timed out",
                    SocketError.ConnectionReset => "connection reset",
                    _ => socket.Message.ToLowerInvariant(),
                };
            }
        }

        return (http.InnerException?.Message ?? http.Message).TrimEnd('.');
    }

    /// <summary>Flattens a message onto one line.</summary>
    public static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
