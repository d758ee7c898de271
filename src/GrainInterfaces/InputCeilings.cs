using System.Globalization;
using OrleansShards.Core;

namespace OrleansShards.GrainInterfaces;

/// <summary>
/// The hard ceilings a job grain enforces on what a caller sends, whatever the HTTP edge is configured to allow
/// (its own limits, <c>Shards:Limits</c>, may only be smaller): a caller of the grains through an Orleans client
/// cannot grow a job's state without bound either.
/// </summary>
public static class InputCeilings
{
    /// <summary>The most characters of a worker id, lease id, task id or request id.</summary>
    public const int MaxIdLength = 1024;

    /// <summary>The most entries of a list of lease ids or reports.</summary>
    public const int MaxListLength = 10_000;

    /// <summary>Refuses (<see cref="ShardsErrorKind.Invalid"/>, naming <paramref name="field"/>) an id longer than <paramref name="maxLength"/>.</summary>
    public static void CheckId(string? value, string field, int maxLength = MaxIdLength)
    {
        if (value is not null && value.Length > maxLength)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, field, string.Create(CultureInfo.InvariantCulture, $"{field} is {value.Length} characters long; at most {maxLength} are allowed"));
        }
    }

    /// <summary>Refuses a null list, a list longer than <paramref name="maxCount"/>, or a null, blank or too long id in it.</summary>
    public static void CheckIds(IReadOnlyList<string?>? values, string field, int maxCount = MaxListLength, int maxLength = MaxIdLength)
    {
        if (values is null)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, field, $"{field} is required");
        }

        if (values.Count > maxCount)
        {
            throw new ShardsException(ShardsErrorKind.Invalid, field, string.Create(CultureInfo.InvariantCulture, $"{field} holds {values.Count} entries; at most {maxCount} are allowed"));
        }

        for (var i = 0; i < values.Count; i++)
        {
            var place = string.Create(CultureInfo.InvariantCulture, $"{field}[{i}]");
            if (string.IsNullOrWhiteSpace(values[i]))
            {
                throw new ShardsException(ShardsErrorKind.Invalid, place, $"{place} is null or blank: a lease id is required");
            }

            CheckId(values[i], place, maxLength);
        }
    }
}
