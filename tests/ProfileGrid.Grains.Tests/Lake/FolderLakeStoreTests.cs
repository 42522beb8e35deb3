using ProfileGrid.Grains.Lake;

namespace ProfileGrid.Grains.Tests.Lake;

/// <summary>The lake in a folder, as several partitions use it at once.</summary>
public sealed class FolderLakeStoreTests : IDisposable
{
    private readonly string _folder = LakeTestData.TempFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_listing_while_files_are_deleted_skips_the_deleted_ones_instead_of_failing()
    {
        // One partition's erasure lists the tenant's folders while another partition's compaction deletes the parts it
        // merged: a file the listing found may be gone before its size is read.
        var store = new FolderLakeStore(_folder);
        const int Files = 400;
        for (var round = 0; round < 20; round++)
        {
            var names = Enumerable.Range(0, Files).Select(i => $"events/tenant=t/date=2020-01-0{1 + i % 9}/part-{round}-{i}.parquet").ToArray();
            await Task.WhenAll(names.Select(n => store.WriteAsync(n, new byte[] { 1, 2, 3 })));
            using var start = new ManualResetEventSlim();
            var deleting = Task.Run(async () =>
            {
                start.Wait();
                foreach (var name in names)
                {
                    await store.DeleteAsync(name);
                }
            });

            start.Set();
            var listed = new List<LakeFile>();
            await foreach (var file in store.ListAsync("events/tenant=t/"))
            {
                listed.Add(file);
            }

            await deleting;
            Assert.All(listed, f => Assert.Equal(3, f.Size));
            Assert.Subset(names.ToHashSet(), listed.Select(f => f.Name).ToHashSet());
        }
    }
}
