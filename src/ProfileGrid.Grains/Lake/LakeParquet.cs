using Parquet;
using Parquet.Serialization;

namespace ProfileGrid.Grains.Lake;

/// <summary>Parquet encoding of lake rows (Parquet.Net; snappy; one row group per file up to a million rows).</summary>
public static class LakeParquet
{
    private static readonly ParquetOptions Options = new() { CompressionMethod = CompressionMethod.Snappy, RowGroupSize = 1_000_000 };

    public static async Task<byte[]> WriteAsync<T>(IReadOnlyCollection<T> rows, CancellationToken cancellationToken = default)
        where T : class, new()
    {
        using var buffer = new MemoryStream();
        await ParquetSerializer.SerializeAsync(rows, buffer, Options, cancellationToken: cancellationToken);
        return buffer.ToArray();
    }

    public static async Task<IList<T>> ReadAsync<T>(byte[] file, CancellationToken cancellationToken = default)
        where T : class, new()
    {
        using var stream = new MemoryStream(file, writable: false);
        return (await ParquetSerializer.DeserializeAsync<T>(stream, Options, cancellationToken: cancellationToken)).Data;
    }
}
