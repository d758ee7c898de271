using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.RegularExpressions;

namespace OrleansShards.Readers.Objects;

/// <summary>
/// Assigns the objects of a source to partitions (the object distribution strategy): by a hash of the key, or by a
/// partition number that a regular expression finds in the key. Deterministic: the same objects give the same partitions.
/// </summary>
public static class ObjectDistribution
{
    /// <summary>The most partitions an object source may have.</summary>
    public const int MaxPartitions = 100_000;

    /// <summary>How long the partition pattern may take on one key before it is refused.</summary>
    public static readonly TimeSpan PatternTimeout = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The objects of each partition, in partition order, each partition's objects in ordinal key order.
    /// </summary>
    /// <param name="objects">The objects, in any order.</param>
    /// <param name="distribution"><c>hash</c> (or <see langword="null"/>) or <c>pattern</c>.</param>
    /// <param name="partitions">
    /// <c>hash</c>: the number of partitions, an object going to <c>XxHash3(UTF-8 key) mod partitions</c>; when
    /// <see langword="null"/>, every object is a partition of its own, in key order. <c>pattern</c>: the number of
    /// partitions (numbers found must be below it); when <see langword="null"/>, the largest number found plus one.
    /// </param>
    /// <param name="pattern"><c>pattern</c>: a regular expression whose first group matches the partition number (decimal digits) in the key.</param>
    /// <exception cref="SourceSpecException">
    /// A bad pattern, or objects whose key the pattern does not match (they are refused rather than dropped or
    /// lumped together: narrow the prefix or widen the pattern), or a partition number out of range.
    /// </exception>
    public static IReadOnlyList<IReadOnlyList<ObjectInfo>> Assign(IEnumerable<ObjectInfo> objects, string? distribution, int? partitions, string? pattern)
    {
        ArgumentNullException.ThrowIfNull(objects);
        var sorted = objects.OrderBy(o => o.Key, StringComparer.Ordinal).ToList();
        if (partitions is < 1 or > MaxPartitions)
        {
            throw new SourceSpecException("source.partitions", string.Create(CultureInfo.InvariantCulture, $"must be between 1 and {MaxPartitions}"));
        }

        switch (distribution?.ToLowerInvariant())
        {
            case null or "hash":
                if (partitions is not { } count)
                {
                    if (sorted.Count > MaxPartitions)
                    {
                        throw new SourceSpecException("source.partitions", string.Create(CultureInfo.InvariantCulture,
                            $"{sorted.Count} objects are more than {MaxPartitions} partitions of one object each; set source.partitions to hash them into fewer"));
                    }

                    return [.. sorted.Select(o => (IReadOnlyList<ObjectInfo>)[o])];
                }

                var buckets = Enumerable.Range(0, count).Select(_ => new List<ObjectInfo>()).ToArray();
                foreach (var item in sorted)
                {
                    buckets[(int)(HashOf(item.Key) % (ulong)count)].Add(item);
                }

                return buckets;
            case "pattern":
                return ByPattern(sorted, partitions, pattern);
            default:
                throw new SourceSpecException("source.distribution", $"'{distribution}' is neither 'hash' nor 'pattern'");
        }
    }

    /// <summary>The hash that the <c>hash</c> distribution takes of a key: XxHash3 of its UTF-8 bytes.</summary>
    public static ulong HashOf(string key) => XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(key));

    private static List<List<ObjectInfo>> ByPattern(List<ObjectInfo> sorted, int? partitions, string? pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern))
        {
            throw new SourceSpecException("source.partitionPattern", "is required with the 'pattern' distribution");
        }

        Regex regex;
        try
        {
            regex = new Regex(pattern, RegexOptions.CultureInvariant, PatternTimeout);
        }
        catch (ArgumentException e)
        {
            throw new SourceSpecException("source.partitionPattern", $"'{pattern}' is not a regular expression: {e.Message}");
        }

        if (regex.GetGroupNumbers().Length < 2)
        {
            throw new SourceSpecException("source.partitionPattern", $"'{pattern}' has no group: its first group must match the partition number");
        }

        var numbered = new List<(int Partition, ObjectInfo Item)>(sorted.Count);
        var unmatched = new List<string>();
        var limit = partitions ?? MaxPartitions;
        foreach (var item in sorted)
        {
            Match match;
            try
            {
                match = regex.Match(item.Key);
            }
            catch (RegexMatchTimeoutException)
            {
                throw new SourceSpecException("source.partitionPattern", $"'{pattern}' took too long on key '{item.Key}'");
            }

            if (!match.Success || !match.Groups[1].Success)
            {
                unmatched.Add(item.Key);
                continue;
            }

            var text = match.Groups[1].Value;
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number >= limit)
            {
                throw new SourceSpecException("source.partitionPattern", partitions is null
                    ? string.Create(CultureInfo.InvariantCulture, $"in key '{item.Key}' the pattern's first group is '{text}', not a partition number below {MaxPartitions}")
                    : string.Create(CultureInfo.InvariantCulture, $"in key '{item.Key}' the pattern's first group is '{text}', not a partition number below source.partitions ({partitions})"));
            }

            numbered.Add((number, item));
        }

        if (unmatched.Count > 0)
        {
            throw new SourceSpecException("source.partitionPattern", string.Create(CultureInfo.InvariantCulture,
                $"{unmatched.Count} of {sorted.Count} objects have keys that '{pattern}' does not match (such as {string.Join(", ", unmatched.Take(3).Select(k => $"'{k}'"))}); every object must name its partition: narrow source.prefix or widen the pattern"));
        }

        var count = partitions ?? (numbered.Count == 0 ? 0 : numbered.Max(n => n.Partition) + 1);
        var result = Enumerable.Range(0, count).Select(_ => new List<ObjectInfo>()).ToList();
        foreach (var (partition, item) in numbered)
        {
            result[partition].Add(item);
        }

        return result;
    }
}
