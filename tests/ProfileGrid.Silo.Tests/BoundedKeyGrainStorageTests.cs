using Orleans.Storage;
using ProfileGrid.Abstractions;
using ProfileGrid.Silo.Hosting;

namespace ProfileGrid.Silo.Tests;

/// <summary>Which keys reach the Azure stores as they are, and which are hashed (see LongIdStorageTests for the real thing).</summary>
public class BoundedKeyGrainStorageTests
{
    private static readonly BoundedKeyGrainStorage Table = BoundedKeyGrainStorage.ForTable(null!, "profilegrid");
    private static readonly BoundedKeyGrainStorage Blob = BoundedKeyGrainStorage.ForBlob(null!);

    private static GrainId Id(string type, string key) => GrainId.Create(type, key);

    /// <summary>The PartitionKey Orleans' Azure Table storage writes for a grain (AzureTableGrainStorage.GetKeyString).</summary>
    private static string PartitionKey(GrainId id) => $"profilegrid_{id}".Replace('/', '_');

    [Fact]
    public void Keys_that_fit_the_table_reach_it_unchanged_so_existing_rows_stay_readable()
    {
        var id = Id("userprofile", new ProfileKey("demo", "u-000123").ToString());
        // The longest key that fits: the PartitionKey is exactly at the limit.
        var longest = Id("userprofile", "demo/" + new string('a', BoundedKeyGrainStorage.TableKeyLimit - "profilegrid_userprofile_demo_".Length));

        Assert.Equal(id, Table.StoredId("profile", id));
        Assert.Equal(longest, Table.StoredId("profile", longest));
        Assert.Equal(BoundedKeyGrainStorage.TableKeyLimit, PartitionKey(longest).Length);
    }

    [Fact]
    public void A_key_one_character_too_long_for_the_table_is_hashed_within_the_limit()
    {
        var id = Id("userprofile", "demo/" + new string('a', BoundedKeyGrainStorage.TableKeyLimit - "profilegrid_userprofile_demo_".Length + 1));

        var stored = Table.StoredId("profile", id);

        Assert.NotEqual(id, stored);
        Assert.Equal(id.Type, stored.Type);
        Assert.Contains(ProfileKey.DigestMarker, stored.Key.ToString(), StringComparison.Ordinal);
        Assert.InRange(PartitionKey(stored).Length, 1, BoundedKeyGrainStorage.TableKeyLimit);
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a/../b")]
    public void Blob_keys_with_dot_segments_are_hashed_so_the_url_cannot_resolve_them_into_another_blob(string tenant)
    {
        var id = Id("segmentation", tenant);

        var stored = Blob.StoredId("segmentation", id);

        Assert.DoesNotContain('/', stored.Key.ToString());
        Assert.NotEqual(Blob.StoredId("segmentation", Id("segmentation", "b")), stored);
    }

    [Fact]
    public void Blob_keys_with_more_path_segments_than_a_blob_name_may_have_are_hashed()
    {
        var slashes = Id("segmentation", new string('/', 256));
        var fine = Id("featureshard", new ProfileKey("demo", "3").ToString());

        Assert.DoesNotContain('/', Blob.StoredId("segmentation", slashes).Key.ToString());
        Assert.Equal(fine, Blob.StoredId("shard", fine));
        Assert.Equal(Id("segmentation", "demo"), Blob.StoredId("segmentation", Id("segmentation", "demo")));
    }
}
