using System.Net;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace OrleansShards.Providers.Blobs;

/// <summary>
/// Orleans grain storage in an Azure blob container: one block blob per grain state, named
/// <c>{service id}/{state name}/{grain id}</c>. The grain's ETag is the blob's ETag: a write sends <c>If-Match</c> with
/// the ETag it read, or <c>If-None-Match: *</c> when it read nothing, so a stale write is refused by the service
/// (412/409) and surfaces as <see cref="InconsistentStateException"/>. The container is created when missing.
/// </summary>
public sealed partial class BlobGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>Metadata key of a blob kept by a clear when <see cref="BlobGrainStorageOptions.DeleteStateOnClear"/> is off.</summary>
    private const string ClearedMetadata = "cleared";

    private readonly string _name;
    private readonly BlobGrainStorageOptions _options;
    private readonly IGrainStorageSerializer _serializer;
    private readonly IActivatorProvider _activatorProvider;
    private readonly ILogger<BlobGrainStorage> _logger;
    private readonly string _serviceId;
    private BlobContainerClient? _container;

    /// <summary>Creates the storage; the container is checked (and created) at <see cref="BlobGrainStorageOptions.InitStage"/>.</summary>
    public BlobGrainStorage(
        string name,
        BlobGrainStorageOptions options,
        IGrainStorageSerializer grainStorageSerializer,
        IOptions<ClusterOptions> clusterOptions,
        IActivatorProvider activatorProvider,
        ILogger<BlobGrainStorage> logger)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        _name = name;
        _options = options;
        _serializer = options.GrainStorageSerializer ?? grainStorageSerializer;
        _activatorProvider = activatorProvider;
        _logger = logger;
        _serviceId = clusterOptions.Value.ServiceId ?? string.Empty;
    }

    /// <summary>The container, as messages name it.</summary>
    private string Where => $"the blob container '{_options.ContainerName}' (grain storage '{_name}')";

    /// <inheritdoc/>
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(OptionFormattingUtilities.Name<BlobGrainStorage>(_name), _options.InitStage, InitializeAsync);

    /// <summary>Connects and creates the container when it is missing; fails naming the container and the reason.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        var container = Container();
        try
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            LogOpened(_name, _options.ContainerName, container.Uri.GetLeftPart(UriPartial.Path));
        }
        catch (Exception exception) when (exception is RequestFailedException or AggregateException or HttpRequestException)
        {
            throw new GrainStorageException($"Cannot use {Where} at {container.Uri.GetLeftPart(UriPartial.Path)}: {exception.Message}", exception);
        }
    }

    /// <inheritdoc/>
    public async Task ReadStateAsync<T>(string grainType, GrainId grainId, IGrainState<T> grainState)
    {
        var blob = Blob(grainType, grainId);
        BlobDownloadResult content;
        try
        {
            content = (await blob.DownloadContentAsync().ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException exception) when (exception.Status == (int)HttpStatusCode.NotFound)
        {
            grainState.ETag = null;
            grainState.State = CreateInstance<T>();
            grainState.RecordExists = false;
            return;
        }
        catch (Exception exception) when (exception is RequestFailedException or HttpRequestException or AggregateException)
        {
            throw Failure("read", grainType, grainId, blob, exception);
        }

        grainState.ETag = content.Details.ETag.ToString();
        if (content.Details.Metadata.ContainsKey(ClearedMetadata))
        {
            grainState.State = CreateInstance<T>();
            grainState.RecordExists = false;
            return;
        }

        try
        {
            grainState.State = _serializer.Deserialize<T>(content.Content) ?? CreateInstance<T>();
        }
        catch (Exception exception)
        {
            throw new GrainStorageException(
                $"Failed to deserialize the state of grain type {grainType}, grain id {grainId} from blob '{blob.Name}' in {Where} as {typeof(T)}: {exception.Message}",
                exception);
        }

        grainState.RecordExists = true;
    }

    /// <inheritdoc/>
    public async Task WriteStateAsync<T>(string grainType, GrainId grainId, IGrainState<T> grainState)
    {
        var blob = Blob(grainType, grainId);
        var data = _serializer.Serialize(grainState.State);
        grainState.ETag = await Upload(blob, data, metadata: null, grainState.ETag, "WriteState", grainType, grainId).ConfigureAwait(false);
        grainState.RecordExists = true;
    }

    /// <inheritdoc/>
    public async Task ClearStateAsync<T>(string grainType, GrainId grainId, IGrainState<T> grainState)
    {
        var blob = Blob(grainType, grainId);
        if (_options.DeleteStateOnClear)
        {
            try
            {
                if (grainState.ETag is null)
                {
                    // Clearing a state never written succeeds, clearing over a blob one has not read does not. (A check,
                    // not If-None-Match on the delete, which Azurite ignores: a clear of nothing is over at the check.)
                    if ((await blob.ExistsAsync().ConfigureAwait(false)).Value)
                    {
                        throw Conflict("ClearState", grainType, grainId, null, null);
                    }
                }
                else
                {
                    await blob.DeleteAsync(DeleteSnapshotsOption.IncludeSnapshots, new BlobRequestConditions { IfMatch = new ETag(grainState.ETag) }).ConfigureAwait(false);
                }
            }
            catch (RequestFailedException exception) when (IsConflict(exception) || exception.Status == (int)HttpStatusCode.NotFound)
            {
                throw Conflict("ClearState", grainType, grainId, grainState.ETag, exception);
            }
            catch (Exception exception) when (exception is RequestFailedException or HttpRequestException or AggregateException)
            {
                throw Failure("clear", grainType, grainId, blob, exception);
            }

            grainState.ETag = null;
        }
        else
        {
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [ClearedMetadata] = "true" };
            grainState.ETag = await Upload(blob, BinaryData.Empty, metadata, grainState.ETag, "ClearState", grainType, grainId).ConfigureAwait(false);
        }

        grainState.State = CreateInstance<T>();
        grainState.RecordExists = false;
    }

    private async Task<string> Upload(BlobClient blob, BinaryData data, IDictionary<string, string>? metadata, string? etag, string operation, string grainType, GrainId grainId)
    {
        var options = new BlobUploadOptions
        {
            Conditions = etag is null ? new BlobRequestConditions { IfNoneMatch = ETag.All } : new BlobRequestConditions { IfMatch = new ETag(etag) },
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
            Metadata = metadata,
        };
        try
        {
            var response = await blob.UploadAsync(data, options).ConfigureAwait(false);
            return response.Value.ETag.ToString();
        }
        catch (RequestFailedException exception) when (IsConflict(exception) || (etag is not null && exception.Status == (int)HttpStatusCode.NotFound))
        {
            // With If-Match, a blob that is gone (deleted since it was read) is a conflict too.
            throw Conflict(operation, grainType, grainId, etag, exception);
        }
        catch (Exception exception) when (exception is RequestFailedException or HttpRequestException or AggregateException)
        {
            throw Failure(operation == "WriteState" ? "write" : "clear", grainType, grainId, blob, exception);
        }
    }

    // 412: If-Match did not match (or If-None-Match: * on delete found a blob); 409: If-None-Match: * found a blob on upload.
    private static bool IsConflict(RequestFailedException exception) =>
        exception.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.Conflict;

    private InconsistentStateException Conflict(string operation, string grainType, GrainId grainId, string? etag, RequestFailedException? exception) =>
        new($"Version conflict ({operation}): ServiceId={_serviceId} ProviderName={_name} GrainType={grainType} GrainId={grainId} " +
            $"ETag={etag ?? "null"} in {Where}: {(exception is null ? "a blob exists" : exception.ErrorCode ?? exception.Status.ToString(System.Globalization.CultureInfo.InvariantCulture))}.",
            storedEtag: "unknown",
            currentEtag: etag ?? "null",
            exception);

    private GrainStorageException Failure(string verb, string grainType, GrainId grainId, BlobClient blob, Exception exception)
    {
        LogFailed(exception, _name, verb, grainType, grainId.ToString(), blob.Name);
        return new GrainStorageException(
            $"Failed to {verb} the state of grain type {grainType}, grain id {grainId} as blob '{blob.Name}' in {Where}: {exception.Message}",
            exception);
    }

    private BlobClient Blob(string grainType, GrainId grainId) =>
        Container().GetBlobClient(BlobName(_serviceId, grainType, grainId.ToString()));

    /// <summary>The blob of a grain state. Each part is escaped, so no part can add a path segment or clash with another.</summary>
    internal static string BlobName(string serviceId, string grainType, string grainId)
    {
        var name = new StringBuilder();
        name.Append(Uri.EscapeDataString(serviceId)).Append('/').Append(Uri.EscapeDataString(grainType)).Append('/').Append(Uri.EscapeDataString(grainId));
        return name.ToString();
    }

    private BlobContainerClient Container()
    {
        if (Volatile.Read(ref _container) is { } container)
        {
            return container;
        }

        var clientOptions = new BlobClientOptions();
        BlobServiceClient service;
        if (!string.IsNullOrWhiteSpace(_options.ConnectionString))
        {
            service = new BlobServiceClient(_options.ConnectionString, clientOptions);
        }
        else if (_options.ServiceUri is { } uri)
        {
            service = _options.TokenCredential is { } credential ? new BlobServiceClient(uri, credential, clientOptions) : new BlobServiceClient(uri, clientOptions);
        }
        else
        {
            throw new GrainStorageException($"{Where} has neither {nameof(BlobGrainStorageOptions.ConnectionString)} nor {nameof(BlobGrainStorageOptions.ServiceUri)}.");
        }

        container = service.GetBlobContainerClient(_options.ContainerName);
        return Interlocked.CompareExchange(ref _container, container, null) ?? container;
    }

    private T CreateInstance<T>() => _activatorProvider.GetActivator<T>().Create();

    [LoggerMessage(Level = LogLevel.Information, Message = "Blob grain storage {Name} uses container {Container} at {Uri}")]
    private partial void LogOpened(string name, string container, string uri);

    [LoggerMessage(Level = LogLevel.Error, Message = "Blob grain storage {Name}: {Verb} of {GrainType} {GrainId} (blob {Blob}) failed")]
    private partial void LogFailed(Exception exception, string name, string verb, string grainType, string grainId, string blob);
}
