using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Abstractions.Tests;

public class EventIdWindowTests
{
    [Fact]
    public void Ids_are_remembered_by_hash_in_arrival_order_and_forgotten_oldest_first()
    {
        var window = new EventIdWindow();

        Assert.True(window.TryAdd("a"));
        Assert.True(window.TryAdd("b"));
        Assert.False(window.TryAdd("a"));
        Assert.True(window.TryAdd("c"));
        window.TrimTo(2);

        Assert.Equal([EventIdWindow.Hash("b"), EventIdWindow.Hash("c")], window.Hashes);
        Assert.False(window.Contains("a"));
        Assert.True(window.Contains("b"));
    }

    [Fact]
    public void The_hash_is_stable_across_releases_because_it_is_stored()
    {
        // First 8 bytes (little-endian) of SHA-256 of the UTF-16LE of "e-1"; a change here makes stored windows forget.
        Assert.Equal(0xda8c3114db461687UL, EventIdWindow.Hash("e-1"));
        Assert.NotEqual(EventIdWindow.Hash("\ud800"), EventIdWindow.Hash("\udc00"));
    }

    [Fact]
    public void A_window_of_string_ids_from_an_older_row_is_hashed_on_first_use_keeping_its_order()
    {
        var window = new EventIdWindow { LegacyIds = ["old-1", "old-2"] };

        Assert.True(window.Contains("old-1"));
        Assert.True(window.TryAdd("new"));

        Assert.Empty(window.LegacyIds);
        Assert.Equal([EventIdWindow.Hash("old-1"), EventIdWindow.Hash("old-2"), EventIdWindow.Hash("new")], window.Hashes);
    }
}
