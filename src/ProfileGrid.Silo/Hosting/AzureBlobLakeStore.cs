using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using ProfileGrid.Grains.Lake;

namespace ProfileGrid.Silo.Hosting;

/// <summary>The data lake in a blob container (Azurite locally, Azure Blob Storage or ADLS in production). A blob upload is atomic: readers see the old file or the new one.</summary>
public sealed class AzureBlobLakeStore(BlobContainerClient container) : ILakeStore
{
    private volatile bool _containerExists;

    public string Location => $"container {container.Name}";

    public BlobContainerClient Container => container;

    public async IAsyncEnumerable<LakeFile> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        await foreach (var item in container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken))
        {
            yield return new LakeFile(item.Name, item.Properties.ContentLength ?? 0);
        }
    }

    public async IAsyncEnumerable<string> ListFoldersAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        await foreach (var item in container.GetBlobsByHierarchyAsync(new GetBlobsByHierarchyOptions { Prefix = prefix, Delimiter = "/" }, cancellationToken))
        {
            if (item.IsPrefix)
            {
                yield return item.Prefix;
            }
        }
    }

    public async Task<byte[]?> ReadAsync(string name, CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        try
        {
            return (await container.GetBlobClient(name).DownloadContentAsync(cancellationToken)).Value.Content.ToArray();
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    public async Task WriteAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        await container.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(content), overwrite: true, cancellationToken);
    }

    public async Task DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        await container.GetBlobClient(name).DeleteIfExistsAsync(cancellationToken: cancellationToken);
    }

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (!_containerExists)
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            _containerExists = true;
        }
    }
}
