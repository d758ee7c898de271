using System.Buffers.Binary;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace OrleansShards.Core;

/// <summary>
/// Lease ids: <c>L{n}.{tag}</c>, where <c>n</c> is the book's lease sequence (so a checkpoint can still check that
/// no later lease reuses an id) and <c>tag</c> is 128 bits of HMAC-SHA256 of <c>n</c> under the book's secret lease
/// key (base64url, 22 characters). The key is drawn at random per job incarnation by the grain that owns the book,
/// so a lease id cannot be guessed from another, nor carried over from a deleted job of the same id.
/// </summary>
/// <remarks>A book without a key (state stored before keys existed) hands out the old <c>L{n}</c> ids.</remarks>
public static class LeaseIds
{
    /// <summary>The id of the lease numbered <paramref name="sequence"/> in a book keyed by <paramref name="key"/>.</summary>
    public static string Of(string? key, long sequence)
    {
        var plain = "L" + sequence.ToString(CultureInfo.InvariantCulture);
        if (string.IsNullOrEmpty(key))
        {
            return plain;
        }

        Span<byte> number = stackalloc byte[sizeof(long)];
        BinaryPrimitives.WriteInt64LittleEndian(number, sequence);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), number, mac);
        return plain + "." + Base64Url.EncodeToString(mac[..16]);
    }

    /// <summary>The sequence number of a lease id (<c>L{n}</c> or <c>L{n}.{tag}</c>), or <see langword="null"/> if it is not one.</summary>
    public static long? SequenceOf(string? leaseId)
    {
        if (leaseId is not { Length: > 1 } || leaseId[0] != 'L')
        {
            return null;
        }

        var dot = leaseId.IndexOf('.', StringComparison.Ordinal);
        var digits = dot < 0 ? leaseId.AsSpan(1) : leaseId.AsSpan(1, dot - 1);
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
    }
}
