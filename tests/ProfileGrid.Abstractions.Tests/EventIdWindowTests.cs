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
    public void A_spilling_window_moves_trimmed_ids_to_spilled_and_bounds_their_times_by_the_newest_remembered()
    {
        var window = new EventIdWindow();
        var at = new DateTimeOffset(2011, 3, 1, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(window.TryAdd($"e-{i}", at.AddDays(i % 3 == 0 ? -i : i)));
        }

        Assert.Equal(10, window.Added);

        // The plain trim forgets; the spilling one keeps what it trims, still recognised.
        window.TrimTo(8);
        Assert.Empty(window.Spilled);
        Assert.Equal(0, window.SpilledThroughTicks);
        Assert.False(window.Contains("e-1"));
        window.TrimTo(5, spill: true);
        Assert.Equal(new[] { "e-2", "e-3", "e-4" }.Select(EventIdWindow.Hash), window.Spilled);
        Assert.True(window.Contains("e-3"));
        Assert.False(window.TryAdd("e-4"));

        // The spilled ids' own times are not kept: the newest time remembered (e-8, day 8) bounds them.
        Assert.Equal(at.AddDays(8).UtcTicks, window.SpilledThroughTicks);
        Assert.True(window.MayBeArchived(at.AddDays(8)));
        Assert.False(window.MayBeArchived(at.AddDays(8).AddTicks(1)));
        Assert.False(new EventIdWindow().MayBeArchived(at));

        // Which spilled ids were added before a mark of Added: e-2 is the third id this object took.
        Assert.Equal(0, window.SpilledAddedBefore(2));
        Assert.Equal(2, window.SpilledAddedBefore(4));
        Assert.Equal(3, window.SpilledAddedBefore(10));

        // Handed to the archive: forgotten here.
        window.Archived(2);
        Assert.Equal([EventIdWindow.Hash("e-4")], window.Spilled);
        Assert.False(window.Contains("e-2"));
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
