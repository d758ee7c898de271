using System.IO.Hashing;
using System.Text;

namespace OrleansShards.Core;

/// <summary>
/// Stable 64-bit mixing and hashing: the same inputs give the same value on every machine and run,
/// unlike <see cref="HashCode"/>, so seeds and permutations derived from it are reproducible.
/// </summary>
public static class DeterministicHash
{
    /// <summary>Mixes two values with the SplitMix64 finaliser.</summary>
    public static ulong Mix(ulong a, ulong b)
    {
        var z = a + 0x9E3779B97F4A7C15UL + (b * 0xBF58476D1CE4E5B9UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Mixes three values.</summary>
    public static ulong Mix(ulong a, ulong b, ulong c) => Mix(Mix(a, b), c);

    /// <summary>A stable hash of a string (XxHash3 of its UTF-8 bytes).</summary>
    public static ulong Of(string text) => XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(text));
}
