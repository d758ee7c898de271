using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace OrleansShards.Readers.Objects;

/// <summary>
/// An S3 bucket (or an S3-compatible server) through AWSSDK.S3: ListObjectsV2, HEAD, and GETs with
/// <c>If-Match</c> and a byte range.
/// </summary>
public sealed class S3ObjectStore : IObjectStore, IDisposable
{
    private readonly AmazonS3Client _client;
    private readonly string _name;

    /// <summary>Creates the store of connection <paramref name="name"/>; resolves its secret reference now.</summary>
    /// <param name="name">The connection's name, for messages.</param>
    /// <param name="connection">The operator's connection: <see cref="SourceConnection.AccessKey"/> (a literal or a reference), <see cref="SourceConnection.Secret"/> (a reference), <see cref="SourceConnection.ServiceUrl"/> (optional), <see cref="SourceConnection.Region"/>, <see cref="SourceConnection.ForcePathStyle"/>.</param>
    /// <exception cref="InvalidOperationException">The connection lacks credentials or its secret reference points at nothing; names the reference, never a value.</exception>
    public S3ObjectStore(string name, SourceConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _name = name;
        var place = $"connection '{name}'";
        if (string.IsNullOrWhiteSpace(connection.AccessKey) || string.IsNullOrWhiteSpace(connection.Secret))
        {
            throw new InvalidOperationException($"{place}: an s3 connection needs AccessKey and Secret (a reference, env:NAME or file:PATH)");
        }

        var accessKey = SecretReference.ResolveOrLiteral(connection.AccessKey, place);
        var secret = SecretReference.Resolve(connection.Secret, place);
        var region = string.IsNullOrWhiteSpace(connection.Region) ? "us-east-1" : connection.Region;
        var config = new AmazonS3Config
        {
            ForcePathStyle = connection.ForcePathStyle,
            // Checksums only where S3 requires them: S3-compatible servers (s3rver) know no others.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (string.IsNullOrWhiteSpace(connection.ServiceUrl))
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
        }
        else
        {
            config.ServiceURL = connection.ServiceUrl;
            config.AuthenticationRegion = region;
        }

        _client = new AmazonS3Client(new BasicAWSCredentials(accessKey, secret), config);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string container, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? token = null;
        do
        {
            ListObjectsV2Response page;
            try
            {
                page = await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = container, Prefix = prefix, ContinuationToken = token }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException)
            {
                throw Failure($"bucket '{container}' cannot be listed", e);
            }

            foreach (var item in page.S3Objects ?? [])
            {
                yield return new ObjectInfo(item.Key, item.Size ?? 0, ObjectInfo.NormalizeETag(item.ETag));
            }

            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
    }

    /// <inheritdoc />
    public async Task<ObjectInfo?> HeadAsync(string container, string key, CancellationToken cancellationToken = default)
    {
        try
        {
            var head = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = container, Key = key }, cancellationToken).ConfigureAwait(false);
            return new ObjectInfo(key, head.ContentLength, ObjectInfo.NormalizeETag(head.ETag));
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException)
        {
            throw Failure($"object s3://{container}/{key} cannot be looked up", e);
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

        var request = new GetObjectRequest { BucketName = container, Key = expected.Key, EtagToMatch = expected.QuotedETag };
        if (offset > 0)
        {
            request.ByteRange = new ByteRange(offset, expected.Size - 1);
        }

        GetObjectResponse response;
        try
        {
            response = await _client.GetObjectAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ObjectVersionException($"object s3://{container}/{expected.Key} no longer exists", null);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            throw new ObjectVersionException($"object s3://{container}/{expected.Key} is no longer the version with ETag {expected.ETag}", null);
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException)
        {
            throw Failure($"object s3://{container}/{expected.Key} cannot be read", e);
        }

        // A server that ignores If-Match still names the version it sent.
        if (!string.IsNullOrEmpty(response.ETag) && ObjectInfo.NormalizeETag(response.ETag) is var current && !string.Equals(current, expected.ETag, StringComparison.Ordinal))
        {
            response.Dispose();
            throw new ObjectVersionException($"object s3://{container}/{expected.Key} is no longer the version with ETag {expected.ETag} (it has {current})", current);
        }

        return new OwnedStream(response.ResponseStream, response);
    }

    private ObjectStoreException Failure(string what, Exception e)
    {
        var detail = e is AmazonServiceException service
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)service.StatusCode} {service.ErrorCode}: {service.Message}")
            : e.Message;
        return new ObjectStoreException($"{what} (connection '{_name}'): {detail}", e);
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();
}

/// <summary>A stream that disposes its owner (an HTTP response) with it.</summary>
internal sealed class OwnedStream(Stream inner, IDisposable owner) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => inner.Read(buffer);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            owner.Dispose();
        }

        base.Dispose(disposing);
    }
}
