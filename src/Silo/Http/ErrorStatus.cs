using OrleansShards.Core;

namespace OrleansShards.Silo.Http;

/// <summary>The one mapping of an error kind onto its HTTP status, for job and log store errors alike.</summary>
internal static class ErrorStatus
{
    /// <summary>400 for bad input, 404 for an unknown job, task, topic or partition, 409 for a conflict.</summary>
    public static int Of(ShardsErrorKind kind) => kind switch
    {
        ShardsErrorKind.NotFound => StatusCodes.Status404NotFound,
        ShardsErrorKind.Conflict => StatusCodes.Status409Conflict,
        _ => StatusCodes.Status400BadRequest,
    };
}
