using Azure;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using OrleansShards.Readers;

namespace OrleansShards.Silo.Hosting;

/// <summary>
/// Where an Azure storage account is and how the silo authenticates to it, as configuration gives it to Orleans'
/// Azure providers (blob grain storage, table clustering): a connection string, or a service URI with a credential.
/// Checked when the host is built, so a wrong setting stops the silo at startup with a message naming its key.
/// </summary>
/// <remarks>
/// The credential of a service URI is <c>identity</c> (the pod's workload or managed identity, through
/// <see cref="DefaultAzureCredential"/>) or a reference (<c>env:NAME</c>, <c>file:PATH</c>) to a SAS token; with
/// none, the URI itself must carry a SAS token (<c>sig=</c>). A connection string holds the account key: it may be
/// given as such (from a Kubernetes Secret through the environment) or as a reference.
/// </remarks>
internal sealed class AzureStorageEndpoint
{
    /// <summary>The value of a credential key that selects the pod's Azure identity.</summary>
    public const string Identity = "identity";

    private readonly string? _connectionString;
    private readonly Uri? _serviceUri;
    private readonly Func<TokenCredential>? _token;
    private readonly AzureSasCredential? _sas;

    private AzureStorageEndpoint(string? connectionString, Uri? serviceUri, Func<TokenCredential>? token, AzureSasCredential? sas)
    {
        _connectionString = connectionString;
        _serviceUri = serviceUri;
        _token = token;
        _sas = sas;
    }

    /// <summary>What the endpoint is, without any secret, for log lines.</summary>
    public string Describe() =>
        _serviceUri is { } uri ? uri.GetLeftPart(UriPartial.Path) : "a connection string";

    /// <summary>
    /// Reads the endpoint of the <paramref name="table"/> or blob service from the values of three keys, named in
    /// messages as <paramref name="connectionStringKey"/>, <paramref name="serviceUriKey"/> and
    /// <paramref name="credentialKey"/>; <paramref name="what"/> says who needs it.
    /// </summary>
    /// <exception cref="InvalidOperationException">Neither is set, or a value is malformed; the message names the key.</exception>
    public static AzureStorageEndpoint Resolve(
        bool table, string? connectionString, string? serviceUri, string? credential,
        string connectionStringKey, string serviceUriKey, string credentialKey, string what)
    {
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            var resolved = SecretReference.ResolveOrLiteral(connectionString.Trim(), connectionStringKey);
            try
            {
                // Parsing here turns a typo into a start-up error rather than one at the first call.
                _ = table ? new TableServiceClient(resolved) : (object)new BlobServiceClient(resolved);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
            {
                throw new InvalidOperationException($"{connectionStringKey} is not an Azure storage connection string ({e.GetType().Name})");
            }

            return new AzureStorageEndpoint(resolved, null, null, null);
        }

        if (string.IsNullOrWhiteSpace(serviceUri))
        {
            throw new InvalidOperationException($"{what} but neither {connectionStringKey} nor {serviceUriKey} is set");
        }

        if (!Uri.TryCreate(serviceUri.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            throw new InvalidOperationException($"{serviceUriKey} is not an http(s) URI");
        }

        var kind = credential?.Trim();
        if (string.IsNullOrEmpty(kind))
        {
            return uri.Query.Contains("sig=", StringComparison.Ordinal)
                ? new AzureStorageEndpoint(null, uri, null, null)
                : throw new InvalidOperationException(
                    $"{serviceUriKey} carries no SAS token: set {credentialKey} to '{Identity}' (the pod's Azure identity) or to a reference (env:NAME or file:PATH) to a SAS token");
        }

        if (string.Equals(kind, Identity, StringComparison.OrdinalIgnoreCase))
        {
            return new AzureStorageEndpoint(null, uri, static () => new DefaultAzureCredential(), null);
        }

        if (!SecretReference.IsReference(kind))
        {
            throw new InvalidOperationException($"{credentialKey} must be '{Identity}' or a reference (env:NAME or file:PATH) to a SAS token, not the token itself");
        }

        return new AzureStorageEndpoint(null, uri, null, new AzureSasCredential(SecretReference.Resolve(kind, credentialKey).TrimStart('?')));
    }

    /// <summary>A client of the account's blob service.</summary>
    public BlobServiceClient BlobService()
    {
        if (_connectionString is not null)
        {
            return new BlobServiceClient(_connectionString);
        }

        return _token is not null ? new BlobServiceClient(_serviceUri!, _token())
            : _sas is not null ? new BlobServiceClient(_serviceUri!, _sas)
            : new BlobServiceClient(_serviceUri!);
    }

    /// <summary>A client of the account's table service.</summary>
    public TableServiceClient TableService()
    {
        if (_connectionString is not null)
        {
            return new TableServiceClient(_connectionString);
        }

        return _token is not null ? new TableServiceClient(_serviceUri!, _token())
            : _sas is not null ? new TableServiceClient(_serviceUri!, _sas)
            : new TableServiceClient(_serviceUri!);
    }
}
