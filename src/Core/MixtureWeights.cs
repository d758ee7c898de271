namespace OrleansShards.Core;

/// <summary>
/// Mixture weights as the order uses them: the positive numbers a client gives, taken to six decimal places and
/// reduced to the smallest whole numbers with the same ratios (0.7 and 0.3 become 7 and 3), so the order is exact
/// integer arithmetic and periodic in their sum.
/// </summary>
public static class MixtureWeights
{
    /// <summary>The precision weights are taken to: 10⁻⁶.</summary>
    public const long Scale = 1_000_000;

    /// <summary>The largest weight accepted (so sums and products stay far from overflow).</summary>
    public const double Max = 1_000_000;

    /// <summary>The first problem of a weight as a reason, or <see langword="null"/>.</summary>
    public static string? Problem(double weight) =>
        double.IsFinite(weight) && weight > 0 && weight <= Max && Math.Round(weight * Scale) >= 1
            ? null
            : $"must be a positive number up to {Max} (taken to 6 decimal places)";

    /// <summary>The whole-number weights with the ratios of <paramref name="weights"/>.</summary>
    public static long[] ToIntegers(IReadOnlyList<double> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var scaled = weights.Select(w => Problem(w) is null ? (long)Math.Round(w * Scale) : throw new ArgumentOutOfRangeException(nameof(weights), w, Problem(w))).ToArray();
        var gcd = scaled.Aggregate(0L, Gcd);
        return [.. scaled.Select(w => w / gcd)];
    }

    /// <summary>The greatest common divisor.</summary>
    public static long Gcd(long a, long b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return Math.Abs(a);
    }
}
