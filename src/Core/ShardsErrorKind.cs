namespace OrleansShards.Core;

/// <summary>
/// What kind of refusal an error is, for the job API (<c>ShardsException</c>) and the log store
/// (<see cref="LogStoreException"/>) alike; the server maps it onto one HTTP status.
/// </summary>
public enum ShardsErrorKind
{
    /// <summary>The request, spec or value is invalid (400): an empty name, a negative offset, a bad field.</summary>
    Invalid,

    /// <summary>The job, task, topic or partition does not exist (404).</summary>
    NotFound,

    /// <summary>The request conflicts with what exists (409): a stale lease, a topic created again with another partition count.</summary>
    Conflict,
}
