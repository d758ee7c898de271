namespace OrleansShards.Core.Sources;

/// <summary>
/// A kind of source (<c>csv</c>, <c>postgres</c>, <c>s3</c>, ...): the fields of <see cref="SourceSpec"/> it reads,
/// how they are checked and filled in, and whether a spec of it is live. One class per kind (or family of kinds),
/// listed once in <see cref="SourceKinds"/>; the kind's reader and its registration live beside its reader.
/// </summary>
/// <remarks>
/// A job's source stays one flat <see cref="SourceSpec"/> on the wire, in grain state, in calls between grains and in
/// checkpoints: its shape is what stored jobs are read back with, so a kind reads its typed options out of it
/// (<see cref="SourceKind{TOptions}.Read"/>) rather than the spec becoming a type per kind.
/// </remarks>
public abstract class SourceKind
{
    /// <summary>The kind's name, lower case, as <c>source.kind</c> gives it.</summary>
    public abstract string Name { get; }

    /// <summary>Whether the kind takes <c>source.watch</c> (keep listing, so later objects become new shards).</summary>
    public virtual bool Watches => false;

    /// <summary>Whether a job on <paramref name="source"/> is live: its shards are cut as records arrive.</summary>
    public virtual bool IsLive(SourceSpec source) => false;

    /// <summary>The first problem of <paramref name="source"/> as (field, reason), or <see langword="null"/> when it is valid.</summary>
    public abstract (string Field, string Reason)? Validate(SourceSpec source);

    /// <summary><paramref name="source"/> with this kind's defaults filled in, so two specs that mean the same compare equal.</summary>
    public virtual SourceSpec Normalize(SourceSpec source) => source;

    /// <summary>The reason a required connection is missing, the same for every kind that takes one.</summary>
    protected static (string Field, string Reason)? RequireConnection(SourceSpec source) =>
        string.IsNullOrWhiteSpace(source.Connection) ? ("source.connection", "is required: the name of a connection defined in the server's configuration") : null;
}

/// <summary>A kind of source whose fields read as the typed options <typeparamref name="TOptions"/>.</summary>
/// <typeparam name="TOptions">The kind's options.</typeparam>
public abstract class SourceKind<TOptions> : SourceKind
{
    /// <summary>The kind's options in <paramref name="source"/>, defaults filled in; <paramref name="source"/> must be valid.</summary>
    public abstract TOptions Read(SourceSpec source);
}
