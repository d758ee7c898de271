using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace OrleansShards.Providers.Files;

/// <summary>
/// Orleans grain storage in a directory: one file per grain state, <c>{directory}/{service id}/{state name}/{grain id}.state</c>.
/// A write goes to a temporary file in the same directory, is fsynced, and replaces the old file with one rename, so a
/// reader or a crash sees the old state or the new one, never half of one. The file starts with a header holding its
/// ETag (a random 128-bit value, new on every write); a write or clear whose ETag is not the stored one is refused with
/// <see cref="InconsistentStateException"/>. The check and the rename are atomic within this process (a lock per
/// file): the directory belongs to one silo at a time, or to silos whose grains never overlap.
/// </summary>
public sealed partial class FileGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    private const uint Magic = 0x5347534F; // "OSGS" little-endian
    private const byte FormatVersion = 1;
    private const int HeaderLength = 4 + 1 + 1 + 16; // magic, version, flags, etag
    private const byte ClearedFlag = 1;
    private const int LockStripes = 256;

    private readonly string _name;
    private readonly FileGrainStorageOptions _options;
    private readonly IGrainStorageSerializer _serializer;
    private readonly IActivatorProvider _activatorProvider;
    private readonly ILogger<FileGrainStorage> _logger;
    private readonly string _serviceId;
    private readonly string _root;
    private readonly SemaphoreSlim[] _locks = Enumerable.Range(0, LockStripes).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    /// <summary>Creates the storage; the directory is created at <see cref="FileGrainStorageOptions.InitStage"/> or by the first write.</summary>
    public FileGrainStorage(
        string name,
        FileGrainStorageOptions options,
        IGrainStorageSerializer grainStorageSerializer,
        IOptions<ClusterOptions> clusterOptions,
        IActivatorProvider activatorProvider,
        ILogger<FileGrainStorage> logger)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        _name = name;
        _options = options;
        _serializer = options.GrainStorageSerializer ?? grainStorageSerializer;
        _activatorProvider = activatorProvider;
        _logger = logger;
        _serviceId = clusterOptions.Value.ServiceId ?? string.Empty;
        _root = string.IsNullOrWhiteSpace(options.Directory) ? string.Empty : Path.GetFullPath(options.Directory);
    }

    /// <summary>The full path of the directory.</summary>
    public string RootDirectory => _root;

    /// <inheritdoc/>
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(OptionFormattingUtilities.Name<FileGrainStorage>(_name), _options.InitStage, InitializeAsync);

    /// <summary>Creates the directory when missing and checks that it can be written; fails naming it and the reason.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var service = Path.Combine(_root, Escape(_serviceId));
            Directory.CreateDirectory(service);
            var probe = Path.Combine(service, $".probe-{Guid.NewGuid():N}.tmp");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            LogOpened(_name, _root);
            return Task.CompletedTask;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return Task.FromException(new GrainStorageException($"File grain storage '{_name}' cannot use the directory '{_root}': {exception.Message}", exception));
        }
    }

    /// <inheritdoc/>
    public async Task ReadStateAsync<T>(string grainType, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(grainType, grainId);
        var stored = await ReadFile(path, grainType, grainId).ConfigureAwait(false);
        if (stored is not { } file)
        {
            grainState.ETag = null;
            grainState.State = CreateInstance<T>();
            grainState.RecordExists = false;
            return;
        }

        grainState.ETag = file.Etag;
        if (file.Cleared)
        {
            grainState.State = CreateInstance<T>();
            grainState.RecordExists = false;
            return;
        }

        try
        {
            grainState.State = _serializer.Deserialize<T>(new BinaryData(file.Data)) ?? CreateInstance<T>();
        }
        catch (Exception exception)
        {
            throw new GrainStorageException(
                $"Failed to deserialize the state of grain type {grainType}, grain id {grainId} from the file '{path}' (grain storage '{_name}') as {typeof(T)}: {exception.Message}",
                exception);
        }

        grainState.RecordExists = true;
    }

    /// <inheritdoc/>
    public async Task WriteStateAsync<T>(string grainType, GrainId grainId, IGrainState<T> grainState)
    {
        var data = _serializer.Serialize(grainState.State);
        grainState.ETag = await Replace(grainType, grainId, grainState.ETag, data.ToMemory(), cleared: false, "WriteState").ConfigureAwait(false);
        grainState.RecordExists = true;
    }

    /// <inheritdoc/>
    public async Task ClearStateAsync<T>(string grainType, GrainId grainId, IGrainState<T> grainState)
    {
        if (_options.DeleteStateOnClear)
        {
            var path = PathOf(grainType, grainId);
            var gate = Lock(path);
            await gate.WaitAsync().ConfigureAwait(false);
            try
            {
                var stored = await ReadHeader(path, grainType, grainId).ConfigureAwait(false);
                if (stored?.Etag != grainState.ETag)
                {
                    throw Conflict("ClearState", grainType, grainId, grainState.ETag, stored?.Etag, path);
                }

                if (stored is not null)
                {
                    File.Delete(path);
                    SyncDirectory(Path.GetDirectoryName(path)!);
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                throw Failure("clear", grainType, grainId, path, exception);
            }
            finally
            {
                gate.Release();
            }

            grainState.ETag = null;
        }
        else
        {
            grainState.ETag = await Replace(grainType, grainId, grainState.ETag, ReadOnlyMemory<byte>.Empty, cleared: true, "ClearState").ConfigureAwait(false);
        }

        grainState.State = CreateInstance<T>();
        grainState.RecordExists = false;
    }

    private async Task<string> Replace(string grainType, GrainId grainId, string? expected, ReadOnlyMemory<byte> data, bool cleared, string operation)
    {
        var path = PathOf(grainType, grainId);
        var gate = Lock(path);
        await gate.WaitAsync().ConfigureAwait(false);
        string? temp = null;
        try
        {
            var stored = await ReadHeader(path, grainType, grainId).ConfigureAwait(false);
            if (stored?.Etag != expected)
            {
                throw Conflict(operation, grainType, grainId, expected, stored?.Etag, path);
            }

            var etag = Guid.NewGuid();
            var header = new byte[HeaderLength];
            BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
            header[4] = FormatVersion;
            header[5] = cleared ? ClearedFlag : (byte)0;
            etag.TryWriteBytes(header.AsSpan(6));

            var directory = Path.GetDirectoryName(path)!;
            Directory.CreateDirectory(directory);
            temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1, FileOptions.Asynchronous))
            {
                await stream.WriteAsync(header).ConfigureAwait(false);
                await stream.WriteAsync(data).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
            temp = null;
            SyncDirectory(directory);
            return etag.ToString("N");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw Failure(operation == "WriteState" ? "write" : "clear", grainType, grainId, path, exception);
        }
        finally
        {
            if (temp is not null)
            {
                TryDelete(temp);
            }

            gate.Release();
        }
    }

    /// <summary>The stored file's ETag, read from its header alone (a write need not read a large state it replaces).</summary>
    private async Task<StoredFile?> ReadHeader(string path, string grainType, GrainId grainId)
    {
        var header = new byte[HeaderLength];
        int length;
        try
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1, FileOptions.Asynchronous);
            length = await stream.ReadAtLeastAsync(header, HeaderLength, throwOnEndOfStream: false).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw Failure("read", grainType, grainId, path, exception);
        }

        return Parse(header.AsMemory(0, length), path, grainType, grainId);
    }

    private async Task<StoredFile?> ReadFile(string path, string grainType, GrainId grainId)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(path).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw Failure("read", grainType, grainId, path, exception);
        }

        return Parse(bytes, path, grainType, grainId);
    }

    private StoredFile Parse(ReadOnlyMemory<byte> file, string path, string grainType, GrainId grainId)
    {
        var bytes = file.Span;
        if (bytes.Length < HeaderLength || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic || bytes[4] != FormatVersion)
        {
            throw new GrainStorageException(
                $"The file '{path}' of grain type {grainType}, grain id {grainId} (grain storage '{_name}') is not a grain state file of this version " +
                $"({bytes.Length} bytes; expected a {HeaderLength}-byte header starting with 'OSGS' and version {FormatVersion}).");
        }

        var etag = new Guid(bytes.Slice(6, 16)).ToString("N");
        return new StoredFile(etag, (bytes[5] & ClearedFlag) != 0, file[HeaderLength..]);
    }

    private InconsistentStateException Conflict(string operation, string grainType, GrainId grainId, string? etag, string? stored, string path) =>
        new($"Version conflict ({operation}): ServiceId={_serviceId} ProviderName={_name} GrainType={grainType} GrainId={grainId} " +
            $"ETag={etag ?? "null"} StoredETag={stored ?? "none"} File={path}.",
            stored ?? "none",
            etag ?? "null");

    private GrainStorageException Failure(string verb, string grainType, GrainId grainId, string path, Exception exception)
    {
        LogFailed(exception, _name, verb, grainType, grainId.ToString(), path);
        return new GrainStorageException(
            $"Failed to {verb} the state of grain type {grainType}, grain id {grainId} in the file '{path}' (grain storage '{_name}'): {exception.Message}",
            exception);
    }

    private string PathOf(string grainType, GrainId grainId) =>
        Path.Combine(_root, Escape(_serviceId), Escape(grainType), Escape(grainId.ToString()) + ".state");

    private SemaphoreSlim Lock(string path) => _locks[(uint)StringComparer.Ordinal.GetHashCode(path) % LockStripes];

    /// <summary>
    /// A file name for any string: letters, digits, '-' and '_' stay, every other byte of its UTF-8 becomes <c>%XX</c>,
    /// so distinct strings never share a name; names too long for a file system are cut and suffixed with a hash.
    /// </summary>
    internal static string Escape(string value)
    {
        var name = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'_')
            {
                name.Append((char)b);
            }
            else
            {
                name.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        if (name.Length == 0)
        {
            return "%";
        }

        if (name.Length <= 200)
        {
            return name.ToString();
        }

        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
        return name.ToString(0, 128) + "~" + hash;
    }

    /// <summary>Makes a rename or delete in <paramref name="directory"/> durable (POSIX: fsync of the directory).</summary>
    private static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var descriptor = Posix.Open(directory, 0 /* O_RDONLY */);
        if (descriptor < 0)
        {
            throw new IOException($"Cannot open the directory '{directory}' to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Posix.Fsync(descriptor) != 0)
            {
                throw new IOException($"fsync of the directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Posix.Close(descriptor);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // A temporary file left behind is ignored by reads and overwritten by nothing.
        }
    }

    private T CreateInstance<T>() => _activatorProvider.GetActivator<T>().Create();

    [LoggerMessage(Level = LogLevel.Information, Message = "File grain storage {Name} uses {Directory}")]
    private partial void LogOpened(string name, string directory);

    [LoggerMessage(Level = LogLevel.Error, Message = "File grain storage {Name}: {Verb} of {GrainType} {GrainId} ({Path}) failed")]
    private partial void LogFailed(Exception exception, string name, string verb, string grainType, string grainId, string path);

    private readonly record struct StoredFile(string Etag, bool Cleared, ReadOnlyMemory<byte> Data);

    // DllImport rather than LibraryImport: the source-generated one needs unsafe code in the project.
    private static class Posix
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        public static extern int Open(string path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int Fsync(int descriptor);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int descriptor);
    }
}
