using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.IO.Hashing;
using System.Text;

namespace OrleansShards.Readers.Objects;

/// <summary>
/// One partition of an object source: the connection (by name, never its credentials), the bucket or container, the
/// partition number and the objects it holds, in key order, each with the ETag and size it had when the job was made.
/// </summary>
/// <remarks>
/// Its text form (<see cref="ToString"/>) is the partition's locator, kept in the job's state:
/// <c>{kind}://{connection}/{container}/{partition}?objects={list}</c>, the list length-prefixed, deflated and
/// base64url-encoded. So a reader on any machine finds exactly the same objects again, and a re-uploaded object (another
/// ETag) is detected instead of read.
/// </remarks>
public sealed class ObjectLocator
{
    private const string ObjectsParameter = "?objects=";

    /// <summary>The largest object list a locator may unpack to (a guard against a damaged or forged locator).</summary>
    private const int MaxListBytes = 64 << 20;

    /// <summary>Creates a locator.</summary>
    public ObjectLocator(string kind, string connection, string container, int partition, IReadOnlyList<ObjectInfo> objects)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentException.ThrowIfNullOrEmpty(connection);
        ArgumentException.ThrowIfNullOrEmpty(container);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentNullException.ThrowIfNull(objects);
        Kind = kind;
        Connection = connection;
        Container = container;
        Partition = partition;
        Objects = objects;
    }

    /// <summary>The source kind: <c>s3</c> or <c>azureblob</c>.</summary>
    public string Kind { get; }

    /// <summary>The name of the operator's connection.</summary>
    public string Connection { get; }

    /// <summary>The bucket (s3) or container (azureblob).</summary>
    public string Container { get; }

    /// <summary>The partition number.</summary>
    public int Partition { get; }

    /// <summary>The objects of the partition in ordinal key order.</summary>
    public IReadOnlyList<ObjectInfo> Objects { get; }

    /// <summary>The total size of the objects in bytes.</summary>
    public long TotalSize => Objects.Sum(o => o.Size);

    /// <summary>XxHash3 of the object list (keys, ETags, sizes): what a job pins of the partition.</summary>
    public ulong ListHash => XxHash3.HashToUInt64(Serialize());

    /// <summary>An object as messages name it: <c>{kind}://{container}/{key}</c>.</summary>
    public string ObjectName(ObjectInfo item) => $"{Kind}://{Container}/{item?.Key}";

    /// <summary>A short form for people: the partition and its first and last keys.</summary>
    public string Display() => Objects.Count switch
    {
        0 => string.Create(CultureInfo.InvariantCulture, $"{Kind}://{Connection}/{Container} partition {Partition} (no objects)"),
        1 => string.Create(CultureInfo.InvariantCulture, $"{Kind}://{Connection}/{Container}/{Objects[0].Key} (partition {Partition})"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{Kind}://{Connection}/{Container} partition {Partition} ({Objects.Count} objects, {Objects[0].Key} .. {Objects[^1].Key})"),
    };

    /// <inheritdoc />
    public override string ToString()
    {
        var list = Serialize();
        using var packed = new MemoryStream();
        using (var deflate = new DeflateStream(packed, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(list);
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"{Kind}://{Uri.EscapeDataString(Connection)}/{Uri.EscapeDataString(Container)}/{Partition}{ObjectsParameter}{Base64Url(packed.ToArray())}");
    }

    /// <summary>Parses a locator made by <see cref="ToString"/>.</summary>
    public static bool TryParse(string? text, out ObjectLocator locator)
    {
        locator = null!;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        var query = text.IndexOf(ObjectsParameter, StringComparison.Ordinal);
        if (scheme <= 0 || query < scheme)
        {
            return false;
        }

        var parts = text[(scheme + 3)..query].Split('/');
        if (parts.Length != 3 || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var partition))
        {
            return false;
        }

        try
        {
            var packed = FromBase64Url(text[(query + ObjectsParameter.Length)..]);
            using var deflate = new DeflateStream(new MemoryStream(packed), CompressionMode.Decompress);
            using var list = new MemoryStream();
            var buffer = new byte[1 << 16];
            int n;
            while ((n = deflate.Read(buffer)) > 0)
            {
                list.Write(buffer, 0, n);
                if (list.Length > MaxListBytes)
                {
                    return false;
                }
            }

            var objects = Deserialize(list.GetBuffer().AsSpan(0, (int)list.Length));
            if (objects is null)
            {
                return false;
            }

            locator = new ObjectLocator(text[..scheme], Uri.UnescapeDataString(parts[0]), Uri.UnescapeDataString(parts[1]), partition, objects);
            return locator.Connection.Length > 0 && locator.Container.Length > 0;
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Parses a locator or throws.</summary>
    /// <exception cref="ArgumentException">Not a locator of an object source.</exception>
    public static ObjectLocator Parse(string text) =>
        TryParse(text, out var locator) ? locator : throw new ArgumentException($"'{Shorten(text)}' is not the locator of an object source partition", nameof(text));

    private static string Shorten(string? text) => text is null ? "" : text.Length > 120 ? text[..120] + "..." : text;

    private byte[] Serialize()
    {
        using var ms = new MemoryStream();
        Span<byte> word = stackalloc byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(word, Objects.Count);
        ms.Write(word[..4]);
        foreach (var item in Objects)
        {
            WriteString(ms, item.Key);
            WriteString(ms, item.ETag);
            BinaryPrimitives.WriteInt64LittleEndian(word, item.Size);
            ms.Write(word);
        }

        return ms.ToArray();
    }

    private static void WriteString(MemoryStream ms, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
        ms.Write(length);
        ms.Write(bytes);
    }

    private static ObjectInfo[]? Deserialize(ReadOnlySpan<byte> list)
    {
        if (list.Length < 4)
        {
            return null;
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(list);
        list = list[4..];
        if (count < 0 || count > list.Length / 16)
        {
            return null;
        }

        var objects = new ObjectInfo[count];
        for (var i = 0; i < count; i++)
        {
            if (!TryReadString(ref list, out var key) || !TryReadString(ref list, out var etag) || list.Length < 8)
            {
                return null;
            }

            objects[i] = new ObjectInfo(key, BinaryPrimitives.ReadInt64LittleEndian(list), etag);
            list = list[8..];
        }

        return list.IsEmpty ? objects : null;
    }

    private static bool TryReadString(ref ReadOnlySpan<byte> list, out string value)
    {
        value = "";
        if (list.Length < 4)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(list);
        if (length < 0 || length > list.Length - 4)
        {
            return false;
        }

        value = Encoding.UTF8.GetString(list.Slice(4, length));
        list = list[(4 + length)..];
        return true;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }
}
