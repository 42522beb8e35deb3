using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Grains.Lake;

namespace ProfileGrid.Grains.Tests.Lake;

/// <summary>The days a profile's events span, as a user's read of the lake prunes by them: they must hold every day its rows were archived under.</summary>
public class LakeDayRangeTests
{
    [Fact]
    public void A_profiles_range_holds_the_lake_day_of_each_of_its_events_whatever_their_offsets()
    {
        var random = new Random(5);
        for (var trial = 0; trial < 2000; trial++)
        {
            // Instants near midnight UTC, sent with offsets from -12:00 to +14:00 (a local date differs from the UTC one).
            var events = Enumerable.Range(0, 1 + random.Next(5)).Select(i =>
            {
                var utc = new DateTime(1970 + random.Next(60), 1 + random.Next(12), 1 + random.Next(28), 0, 0, 0, DateTimeKind.Utc)
                    .AddTicks(random.Next(2) == 0 ? random.NextInt64(TimeSpan.TicksPerHour) : TimeSpan.TicksPerDay - 1 - random.NextInt64(TimeSpan.TicksPerHour));
                var offset = TimeSpan.FromMinutes(15 * random.Next(-48, 57));
                return new UserEvent
                {
                    EventId = $"e{i}", Kind = EventKind.PageView, Tenant = "t", UserId = "u",
                    OccurredAt = new DateTimeOffset(utc.Ticks + offset.Ticks, offset),
                };
            }).ToList();

            // As the profile keeps them (first and last event) and as the archiver files the rows (the row's day).
            var range = LakeDayRange.Between(events.Min(e => e.OccurredAt), events.Max(e => e.OccurredAt));
            foreach (var e in events)
            {
                var day = LakeEventRow.From(e, 0, 0, 0, DateTimeOffset.UtcNow).Day();
                Assert.True(range.Contains(day), $"{e.OccurredAt:O} is filed under {day}, outside {range}");
                Assert.NotNull(LakePaths.ParseDay(LakePaths.Part("t", day, 0, 0, 1)));
                Assert.Equal(day, LakePaths.ParseDay(LakePaths.Part("t", day, 0, 0, 1)));
            }
        }
    }

    [Fact]
    public void A_profile_without_events_reads_no_day_and_one_that_knows_one_side_reads_the_other_side_open()
    {
        Assert.True(ProfileDayBounds.RangeOf(null).IsEmpty);
        Assert.True(ProfileDayBounds.RangeOf(new ProfileView { EventsApplied = 0, Behavior = new BehaviorView() }).IsEmpty);

        // Events applied but no first/last kept (a row stored before they were): every day.
        Assert.True(ProfileDayBounds.RangeOf(new ProfileView { EventsApplied = 3, Behavior = new BehaviorView() }).IsAll);

        var last = new DateTimeOffset(1998, 7, 12, 23, 30, 0, TimeSpan.FromHours(-5)); // 1998-07-13 in UTC
        var onlyLast = ProfileDayBounds.RangeOf(new ProfileView { EventsApplied = 1, Behavior = new BehaviorView { LastSeen = last } });
        Assert.True(onlyLast.Contains(new DateOnly(1970, 1, 1)));
        Assert.True(onlyLast.Contains(new DateOnly(1998, 7, 13)));
        Assert.False(onlyLast.Contains(new DateOnly(1998, 7, 14)));

        Assert.Null(LakePaths.ParseDay("events/tenant=t/part-p0000-0000000000000000-0000000000000001.parquet"));

        // A month folder holds its month's days: a range overlapping any of them reads it; its name has no single day.
        Assert.Equal((new DateOnly(2004, 2, 1), new DateOnly(2004, 2, 29)), LakePaths.ParseDays("events/tenant=t/date=2004-02/part-p0000-0000000000000000-0000000000000001.parquet"));
        Assert.Null(LakePaths.ParseDay("events/tenant=t/date=2004-02/"));
        Assert.Equal("date=2004-02", LakePaths.FolderSegment(new DateOnly(2004, 2, 29), new DateOnly(2004, 4, 4)));
        Assert.Equal("date=2004-02-29", LakePaths.FolderSegment(new DateOnly(2004, 2, 29), new DateOnly(2004, 4, 3)));
        Assert.True(new LakeDayRange(new DateOnly(2004, 2, 29), null).Overlaps(new DateOnly(2004, 2, 1), new DateOnly(2004, 2, 29)));
        Assert.False(new LakeDayRange(new DateOnly(2004, 3, 1), null).Overlaps(new DateOnly(2004, 2, 1), new DateOnly(2004, 2, 29)));
        Assert.False(new LakeDayRange(null, new DateOnly(2004, 1, 31)).Overlaps(new DateOnly(2004, 2, 1), new DateOnly(2004, 2, 29)));
        Assert.Equal(new DateOnly(2004, 2, 29), LakePaths.ParseDay("events/tenant=a~2Fdate=~3D/date=2004-02-29/"));

        // A year folder: events 400 days or more older than their tenant's newest in the step.
        Assert.Equal((new DateOnly(2004, 1, 1), new DateOnly(2004, 12, 31)), LakePaths.ParseDays("events/tenant=t/date=2004/part-p0000-0000000000000000-0000000000000001.parquet"));
        Assert.Equal("date=2004", LakePaths.FolderSegment(new DateOnly(2004, 2, 29), new DateOnly(2004, 2, 29).AddDays(400)));
        Assert.Equal("date=2004-02", LakePaths.FolderSegment(new DateOnly(2004, 2, 29), new DateOnly(2004, 2, 29).AddDays(399)));
        Assert.Null(LakePaths.ParseDays("events/tenant=t/date=204/"));
    }
}
