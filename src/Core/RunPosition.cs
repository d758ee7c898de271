namespace OrleansShards.Core;

/// <summary>A step of a run: an epoch and a step in it.</summary>
/// <param name="Epoch">The epoch.</param>
/// <param name="Step">The step within the epoch.</param>
[GenerateSerializer, Immutable]
public readonly record struct RunPosition([property: Id(0)] int Epoch, [property: Id(1)] long Step) : IComparable<RunPosition>
{
    /// <inheritdoc />
    public int CompareTo(RunPosition other) => Epoch != other.Epoch ? Epoch.CompareTo(other.Epoch) : Step.CompareTo(other.Step);

    /// <summary>Whether <paramref name="a"/> comes before <paramref name="b"/>.</summary>
    public static bool operator <(RunPosition a, RunPosition b) => a.CompareTo(b) < 0;

    /// <summary>Whether <paramref name="a"/> comes after <paramref name="b"/>.</summary>
    public static bool operator >(RunPosition a, RunPosition b) => a.CompareTo(b) > 0;

    /// <summary>Whether <paramref name="a"/> does not come after <paramref name="b"/>.</summary>
    public static bool operator <=(RunPosition a, RunPosition b) => a.CompareTo(b) <= 0;

    /// <summary>Whether <paramref name="a"/> does not come before <paramref name="b"/>.</summary>
    public static bool operator >=(RunPosition a, RunPosition b) => a.CompareTo(b) >= 0;

    /// <inheritdoc />
    public override string ToString() => $"epoch {Epoch} step {Step}";
}
