using ProfileGrid.Abstractions.Stats;
using ProfileGrid.Grains.Stats;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// The stats grain's state as pure logic, driven through simulated time: the rings stay at their fixed sizes and roll
/// old points off, staleness ages without events, and the last-event map stays bounded over years of history.
/// </summary>
public class StatsSeriesTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly StatsOptions Options = new();

    [Fact]
    public void Forty_days_of_minutes_keep_1440_minute_points_and_720_hour_points_and_roll_old_ones_off()
    {
        var state = new TenantStatsState();
        var minutes = 40 * 24 * 60;
        for (var m = 0; m < minutes; m++)
        {
            state.Apply(new StatsDelta { CollectedAt = Start.AddMinutes(m), Accepted = 1, Applied = 2, Recommendations = 1, RecommendLatency = Histogram(5.0) }, Start.AddMinutes(m).AddSeconds(30));
        }

        var now = Start.AddMinutes(minutes - 1).AddSeconds(30);
        Assert.Equal(StatsRing.Minutes, state.Minutes.Points.Count(p => p is not null));
        Assert.Equal(StatsRing.Hours, state.Hours.Points.Count(p => p is not null));

        var minuteSeries = state.Series(hourly: false, now);
        Assert.Equal("minute", minuteSeries.Resolution);
        Assert.Equal(1440, minuteSeries.Points.Length);
        Assert.Equal(Start.AddMinutes(minutes - 1440), minuteSeries.Points[0].T);
        Assert.Equal(Start.AddMinutes(minutes - 1), minuteSeries.Points[^1].T);
        Assert.All(minuteSeries.Points, p => Assert.Equal(2, p.Events));
        Assert.True(minuteSeries.Points.Zip(minuteSeries.Points.Skip(1)).All(pair => pair.Second.T - pair.First.T == TimeSpan.FromMinutes(1)), "oldest first, one per minute");

        var hourSeries = state.Series(hourly: true, now);
        Assert.Equal(720, hourSeries.Points.Length);
        Assert.Equal(Start.AddDays(10), hourSeries.Points[0].T);
        Assert.All(hourSeries.Points, p => Assert.Equal(120, p.Events));
        Assert.All(hourSeries.Points, p => Assert.InRange(p.RecommendLatencyP95Ms!.Value, 4.0, 6.0));

        // Totals are not series: nothing rolls off them.
        Assert.Equal(minutes, state.Accepted);
        Assert.Equal(2L * minutes, state.Applied);
    }

    [Fact]
    public void Merges_and_erasures_of_profiles_whose_creation_a_crash_lost_show_as_0_never_negative()
    {
        // probe60: after kill -9s the tenant list showed profiles -12, stats addedToday -12 and an hour's newProfiles -12.
        var state = new TenantStatsState();
        var now = Start.AddHours(5);
        state.Apply(new StatsDelta { Accepted = 40, NewProfiles = -12 }, now);

        Assert.Equal(0, state.View("t", now, Options, 0, false).Profiles.Count);
        Assert.Equal(0, state.View("t", now, Options, 0, false).Profiles.AddedToday);
        Assert.All(state.Series(hourly: true, now).Points, p => Assert.True(p.NewProfiles >= 0, $"{p.T}: {p.NewProfiles}"));
        Assert.All(state.Series(hourly: false, now).Points, p => Assert.True(p.NewProfiles >= 0, $"{p.T}: {p.NewProfiles}"));

        // A delta of an older silo carries a net figure, kept net where it is positive: 5 new and 2 merged in one minute are 3.
        state.Apply(new StatsDelta { NewProfiles = 5 }, now.AddMinutes(1));
        state.Apply(new StatsDelta { NewProfiles = -2 }, now.AddMinutes(1));
        Assert.Equal(3, state.Series(hourly: false, now.AddMinutes(1)).Points[^1].NewProfiles);
    }

    [Fact]
    public void An_erasure_or_a_merge_lowers_the_profile_count_not_the_profiles_added_in_its_minute()
    {
        // probe72 F2: a user added and another erased in the same minute showed 0 added in that minute; three erasures in
        // a minute were lost to the clamp at 0; the minute and hour series then disagreed on the hour's total.
        var at = Start.AddHours(5);
        var buffer = new TenantStatsBuffer("t");
        var tally = EventTally.Begin();
        var applied = new ProfileGrid.Domain.ApplyResult(1, 0);
        var stored = new ProfileStatsMark(true, 3, 0, at.AddDays(-2), at.AddDays(-2));
        var state = new TenantStatsState();
        for (var i = 0; i < 4; i++)
        {
            buffer.ProfileApplied(default, stored, applied, tally);
        }

        state.Apply(buffer.Take(at)!, at);

        var minute = at.AddMinutes(1);
        buffer.ProfileApplied(default, new ProfileStatsMark(true, 1, 0, minute, minute), applied, tally);
        buffer.ProfileChanged(stored, default);
        var delta = buffer.Take(minute)!;
        Assert.Equal((1, 1), (delta.NewProfiles, delta.ProfilesLeft));
        state.Apply(delta, minute);

        buffer.ProfileChanged(stored, default);
        buffer.ProfileChanged(stored, default);
        state.Apply(buffer.Take(minute.AddMinutes(1))!, minute.AddMinutes(1));

        var now = minute.AddMinutes(1);
        var minutes = state.Series(hourly: false, now).Points;
        Assert.Equal([4L, 1L, 0L], minutes.Select(p => p.NewProfiles));
        Assert.Equal(5, Assert.Single(state.Series(hourly: true, now).Points).NewProfiles);
        var profiles = state.View("t", now, Options, 0, false).Profiles;
        Assert.Equal(2, profiles.Count);
        Assert.Equal(5, profiles.AddedToday);

        // An unmerge brings a profile back: counted again, not added (review72: it showed as a new profile).
        var later = now.AddMinutes(1);
        buffer.ProfileReturned(stored);
        state.Apply(buffer.Take(later)!, later);
        Assert.Equal(3, state.View("t", later, Options, 0, false).Profiles.Count);
        Assert.Equal(5, state.View("t", later, Options, 0, false).Profiles.AddedToday);
        Assert.Equal(0, state.Series(hourly: false, later).Points[^1].NewProfiles);
    }

    [Fact]
    public void A_minute_without_a_recommendation_or_an_applied_event_has_no_latency_rather_than_0_ms()
    {
        // probe63 F3: an idle minute drew the p95 lines down to 0 ms.
        var state = new TenantStatsState();
        state.Apply(new StatsDelta { Recommendations = 1, RecommendLatency = Histogram(5.0), Lag = Histogram(40.0) }, Start);
        state.Apply(new StatsDelta { Accepted = 3 }, Start.AddMinutes(1));

        var points = state.Series(hourly: false, Start.AddMinutes(1)).Points;
        Assert.Equal(2, points.Length);
        Assert.InRange(points[0].RecommendLatencyP95Ms!.Value, 4.0, 6.0);
        Assert.InRange(points[0].LagP95Ms!.Value, 30.0, 50.0);
        Assert.Null(points[1].RecommendLatencyP95Ms);
        Assert.Null(points[1].LagP95Ms);
    }

    [Fact]
    public void A_gap_longer_than_a_ring_leaves_only_the_new_points()
    {
        var state = new TenantStatsState();
        for (var m = 0; m < 600; m++)
        {
            state.Apply(new StatsDelta { Accepted = 1 }, Start.AddMinutes(m));
        }

        var later = Start.AddDays(45);
        state.Apply(new StatsDelta { Accepted = 5 }, later);
        var minutes = state.Series(hourly: false, later).Points;
        var hours = state.Series(hourly: true, later).Points;
        Assert.Equal(5, Assert.Single(minutes).Accepted);
        Assert.Equal(5, Assert.Single(hours).Accepted);
    }

    [Fact]
    public void Staleness_ages_without_events_and_years_old_histories_land_in_over_a_year()
    {
        var state = new TenantStatsState();
        var now = Start;
        state.Apply(Profile(lastSeen: now.AddMinutes(-10)), now);
        state.Apply(Profile(lastSeen: now.AddYears(-6)), now);
        state.Apply(Profile(lastSeen: new DateTimeOffset(1970, 1, 2, 0, 0, 0, TimeSpan.Zero)), now);

        var fresh = state.View("t", now, Options, 0, false).Profiles;
        Assert.Equal(3, fresh.Count);
        Assert.Equal(1, Count(fresh.Staleness, "< 1 h"));
        Assert.Equal(2, Count(fresh.Staleness, "> 1 y"));
        Assert.Equal(2.0 / 3, fresh.DormantShare, 6);

        // Forty days on, with no event at all: the recent profile is now 30-90 days stale and dormant.
        var later = now.AddDays(40);
        var aged = state.View("t", later, Options, 0, false).Profiles;
        Assert.Equal(1, Count(aged.Staleness, "30-90 d"));
        Assert.Equal(2, Count(aged.Staleness, "> 1 y"));
        Assert.Equal(1.0, aged.DormantShare, 6);
    }

    [Fact]
    public void A_profile_moving_its_last_event_across_compaction_is_counted_once()
    {
        var state = new TenantStatsState();
        var first = Start.AddHours(-3);
        state.Apply(Profile(lastSeen: first), Start);

        // Three days later the hour of its last event has been folded into its day; the profile's next event moves it.
        var now = Start.AddDays(3);
        var next = now.AddMinutes(-5);
        state.Apply(new StatsDelta { LastEventHours = new() { [StatsBuckets.HourOf(first)] = -1, [StatsBuckets.HourOf(next)] = 1 } }, now);
        var view = state.View("t", now, Options, 0, false).Profiles;
        Assert.Equal(1, view.Staleness.Sum(s => s.Count));
        Assert.Equal(1, Count(view.Staleness, "< 1 h"));
        Assert.DoesNotContain(state.LastEvent.Values, n => n < 0);
    }

    [Fact]
    public void The_last_event_map_stays_bounded_over_years_of_distinct_hours()
    {
        var state = new TenantStatsState();
        var now = Start;
        for (var h = 0; h < 5 * 365 * 24; h += 7)
        {
            state.Apply(new StatsDelta { NewProfiles = 1, LastEventHours = new() { [StatsBuckets.HourOf(now.AddHours(-h))] = 1 } }, now);
        }

        Assert.InRange(state.LastEvent.Count, 1, TenantStatsState.AncientAfterDays + TenantStatsState.HourlyFor + 3);
        Assert.Equal(state.Profiles, state.View("t", now, Options, 0, false).Profiles.Staleness.Sum(s => s.Count));
    }

    [Fact]
    public void Latency_percentiles_come_from_fixed_buckets_within_a_fifth_of_the_truth()
    {
        var samples = Enumerable.Range(1, 1000).Select(i => i * 0.37).ToArray();
        var histogram = new long[StatsBuckets.LatencyBuckets];
        foreach (var s in samples)
        {
            histogram[StatsBuckets.Latency(s)]++;
        }

        var sorted = samples.Order().ToArray();
        foreach (var q in new[] { 0.5, 0.95, 0.99 })
        {
            var truth = sorted[(int)Math.Ceiling(q * sorted.Length) - 1];
            Assert.InRange(StatsBuckets.Quantile(histogram, q), truth / 1.25, truth * 1.25);
        }

        Assert.Equal(0, StatsBuckets.Quantile(new long[StatsBuckets.LatencyBuckets], 0.5));
        Assert.Equal(StatsBuckets.LatencyBuckets - 1, StatsBuckets.Latency(1e9));
    }

    [Fact]
    public void Buffers_report_moves_between_buckets_as_signed_deltas()
    {
        var buffer = new TenantStatsBuffer("t");
        var tally = EventTally.Begin();
        var at = Start;
        var before = default(ProfileStatsMark);
        var after = new ProfileStatsMark(true, 3, 0, at, at);
        buffer.ProfileApplied(before, after, new ProfileGrid.Domain.ApplyResult(1, 0), tally);
        buffer.ProfileApplied(after, after with { Completeness = 5, EventCount = 1, LastSeen = at.AddHours(2) }, new ProfileGrid.Domain.ApplyResult(2, 1), tally);
        var delta = buffer.Take(at)!;
        Assert.Equal(1, delta.NewProfiles);
        Assert.Equal(3, delta.Applied);
        Assert.Equal(1, delta.Duplicates);
        Assert.Equal([0, 0, 0, 0, 0, 1, 0, 0, 0, 0], delta.Completeness!);
        Assert.Equal(1, delta.EventsPerProfile![1]);
        Assert.Equal(0, delta.EventsPerProfile[0]);
        Assert.Equal(1, Assert.Single(delta.LastEventHours!).Value);
        Assert.Null(buffer.Take(at));
    }

    [Fact]
    public void New_today_counts_profiles_whose_first_event_happened_today_not_histories_imported_today()
    {
        var now = Start.AddDays(30).AddHours(15);
        var buffer = new TenantStatsBuffer("t");
        var tally = EventTally.Begin();
        var applied = new ProfileGrid.Domain.ApplyResult(1, 0);

        // Imported today: a customer from 2011 and one from yesterday evening. Neither is new today.
        buffer.ProfileApplied(default, new ProfileStatsMark(true, 1, 0, Start.AddYears(-15), Start.AddYears(-15)), applied, tally);
        buffer.ProfileApplied(default, new ProfileStatsMark(true, 1, 0, now.AddHours(-16), now.AddHours(-16)), applied, tally);

        // First seen this morning; then one of them sends an older event (an offline app's backlog) and is not new any more.
        var morning = new ProfileStatsMark(true, 1, 0, now.AddHours(-3), now.AddHours(-3));
        buffer.ProfileApplied(default, morning, applied, tally);
        buffer.ProfileApplied(default, morning, applied, tally);
        buffer.ProfileApplied(morning, morning with { EventCount = 1, FirstSeen = now.AddDays(-40) }, applied, tally);

        var state = new TenantStatsState();
        state.Apply(buffer.Take(now)!, now);
        var profiles = state.View("t", now, Options, 0, false).Profiles;
        Assert.Equal(4, profiles.Count);
        Assert.Equal(1, profiles.NewToday);
        Assert.Equal(4, profiles.AddedToday);
        Assert.All(state.FirstEvent.Keys, hour => Assert.True(hour >= StatsBuckets.HourOf(now) - TenantStatsState.FirstEventHoursKept, "a history's first events are not kept"));

        // The next day: nobody new, nothing added, and the map of first events has emptied.
        var tomorrow = now.AddDays(2);
        var later = state.View("t", tomorrow, Options, 0, false).Profiles;
        Assert.Equal(0, later.NewToday);
        Assert.Equal(0, later.AddedToday);
        Assert.Empty(state.FirstEvent);
    }

    private static StatsDelta Profile(DateTimeOffset lastSeen) => new()
    {
        NewProfiles = 1,
        Completeness = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        LastEventHours = new() { [StatsBuckets.HourOf(lastSeen)] = 1 },
    };

    private static long Count(LabelCount[] buckets, string label) => buckets.Single(b => b.Label == label).Count;

    private static long[] Histogram(double ms)
    {
        var h = new long[StatsBuckets.LatencyBuckets];
        h[StatsBuckets.Latency(ms)]++;
        return h;
    }
}
