namespace OrleansShards.Silo.Auth;

/// <summary>The roles a bearer token can carry (README "Authentication" has the matrix of what each may do).</summary>
public static class ShardsRoles
{
    /// <summary>Everything, including job creation, pause/resume/cancel, delete, checkpoints.</summary>
    public const string Admin = "admin";

    /// <summary>Works on jobs: reads their status, leases, reports, heartbeats, releases, reads task records and topics.</summary>
    public const string Worker = "worker";

    /// <summary>Feeds topics: creates them, appends to them, reads them.</summary>
    public const string Producer = "producer";

    /// <summary>Looks: every GET but the checkpoint export (which exposes the whole task book).</summary>
    public const string Reader = "reader";

    /// <summary>Every role, in the order the documentation lists them.</summary>
    public static IReadOnlyList<string> All { get; } = [Admin, Worker, Producer, Reader];
}
