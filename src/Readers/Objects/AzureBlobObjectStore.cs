using System.Globalization;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace OrleansShards.Readers.Objects;

/// <summary>
/// An Azure Blob Storage account (or Azurite) through Azure.Storage.Blobs: list blobs, get properties, and
/// streaming downloads with <c>If-Match</c> and a range.
/// </summary>
public sealed class AzureBlobObjectStore : IObjectStore
{
    private readonly BlobServiceClient _client;
    private readonly string _name;

    /// <summary>Creates the store of connection <paramref name="name"/>; resolves its secret reference now.</summary>
    /// <param name="name">The connection's name, for messages.</param>
    /// <param name="connection">
    /// The operator's connection: either <see cref="SourceConnection.ServiceUrl"/> (the blob endpoint),
    /// <see cref="SourceConnection.AccessKey"/> (the account name) and <see cref="SourceConnection.Secret"/> (a reference to the
    /// account key), or <see cref="SourceConnection.ConnectionString"/> as a reference to a storage connection string.
    /// </param>
    /// <exception cref="InvalidOperationException">The connection lacks credentials or a reference points at nothing; names the reference, never a value.</exception>
    public AzureBlobObjectStore(string name, SourceConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _name = name;
        var place = $"connection '{name}'";
        var options = new BlobClientOptions();
        if (!string.IsNullOrWhiteSpace(connection.ConnectionString))
        {
            // A connection string holds the account key: it is only ever a reference.
            _client = new BlobServiceClient(SecretReference.Resolve(connection.ConnectionString, place), options);
        }
        else if (!string.IsNullOrWhiteSpace(connection.ServiceUrl) && !string.IsNullOrWhiteSpace(connection.AccessKey) && !string.IsNullOrWhiteSpace(connection.Secret))
        {
            var account = SecretReference.ResolveOrLiteral(connection.AccessKey, place);
            _client = new BlobServiceClient(new Uri(connection.ServiceUrl), new StorageSharedKeyCredential(account, SecretReference.Resolve(connection.Secret, place)), options);
        }
        else
        {
            throw new InvalidOperationException($"{place}: an azureblob connection needs ServiceUrl, AccessKey (the account name) and Secret (a reference to the account key), or ConnectionString (a reference)");
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string container, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var blobs = _client.GetBlobContainerClient(container).GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken);
        await using var items = blobs.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            BlobItem item;
            try
            {
                if (!await items.MoveNextAsync().ConfigureAwait(false))
                {
                    yield break;
                }

                item = items.Current;
            }
            catch (Exception e) when (e is RequestFailedException or HttpRequestException or IOException)
            {
                throw Failure($"container '{container}' cannot be listed", e);
            }

            yield return new ObjectInfo(item.Name, item.Properties.ContentLength ?? 0, ObjectInfo.NormalizeETag(item.Properties.ETag?.ToString()));
        }
    }

    /// <inheritdoc />
    public async Task<ObjectInfo?> HeadAsync(string container, string key, CancellationToken cancellationToken = default)
    {
        try
        {
            var properties = await _client.GetBlobContainerClient(container).GetBlobClient(key).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return new ObjectInfo(key, properties.Value.ContentLength, ObjectInfo.NormalizeETag(properties.Value.ETag.ToString()));
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (Exception e) when (e is RequestFailedException or HttpRequestException or IOException)
        {
            throw Failure($"blob azureblob://{container}/{key} cannot be looked up", e);
        }
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string container, ObjectInfo expected, long offset = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset > 0 && offset >= expected.Size)
        {
            return Stream.Null;
        }

        var options = new BlobDownloadOptions { Conditions = new BlobRequestConditions { IfMatch = new ETag(expected.QuotedETag) } };
        if (offset > 0)
        {
            options.Range = new HttpRange(offset);
        }

        try
        {
            var download = await _client.GetBlobContainerClient(container).GetBlobClient(expected.Key).DownloadStreamingAsync(options, cancellationToken).ConfigureAwait(false);
            return download.Value.Content;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new ObjectVersionException($"blob azureblob://{container}/{expected.Key} no longer exists", null);
        }
        catch (RequestFailedException e) when (e.Status == 412)
        {
            throw new ObjectVersionException($"blob azureblob://{container}/{expected.Key} is no longer the version with ETag {expected.ETag}", null);
        }
        catch (Exception e) when (e is RequestFailedException or HttpRequestException or IOException)
        {
            throw Failure($"blob azureblob://{container}/{expected.Key} cannot be read", e);
        }
    }

    private ObjectStoreException Failure(string what, Exception e)
    {
        // The message of a RequestFailedException lists request headers; only its status and code are shown.
        var detail = e is RequestFailedException failed
            ? string.Create(CultureInfo.InvariantCulture, $"{failed.Status} {failed.ErrorCode}")
            : e.Message;
        return new ObjectStoreException($"{what} (connection '{_name}'): {detail}", e);
    }
}
