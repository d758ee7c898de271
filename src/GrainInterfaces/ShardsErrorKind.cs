namespace OrleansShards.GrainInterfaces;

/// <summary>What kind of failure a <see cref="ShardsException"/> is; maps onto an HTTP status.</summary>
public enum ShardsErrorKind
{
    /// <summary>The request or spec is invalid (400).</summary>
    Invalid,

    /// <summary>The job or task does not exist (404).</summary>
    NotFound,

    /// <summary>The request conflicts with the current state (409).</summary>
    Conflict,
}
