using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Schema;
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

    /// <summary>
    /// The rows of a file one row group at a time, skipping a row group whose statistics of the string column
    /// <paramref name="column"/> (min and max, compared ordinally as Parquet.Net writes them) exclude every value of
    /// <paramref name="values"/>; a row group without those statistics is read. Holds one row group's rows at a time.
    /// </summary>
    public static async IAsyncEnumerable<T> ReadRowGroupsAsync<T>(
        byte[] file, string column, IReadOnlyCollection<string>? values, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where T : class, new()
    {
        int groups;
        var skip = new HashSet<int>();
        using (var stream = new MemoryStream(file, writable: false))
        {
            await using var reader = await ParquetReader.CreateAsync(stream, Options, cancellationToken: cancellationToken);
            groups = reader.RowGroupCount;
            var field = values is null ? null : reader.Schema.GetDataFields().FirstOrDefault(f => f.Name == column);
            for (var i = 0; field is not null && i < groups; i++)
            {
                using var group = reader.OpenRowGroupReader(i);
                if (group.GetStatistics(field) is { MinValue: string min, MaxValue: string max }
                    && values!.All(v => string.CompareOrdinal(v, min) < 0 || string.CompareOrdinal(v, max) > 0))
                {
                    skip.Add(i);
                }
            }
        }

        for (var i = 0; i < groups; i++)
        {
            if (skip.Contains(i))
            {
                continue;
            }

            using var stream = new MemoryStream(file, writable: false);
            foreach (var row in (await ParquetSerializer.DeserializeAsync<T>(stream, Options, i, cancellationToken)).Data)
            {
                yield return row;
            }
        }
    }
}
