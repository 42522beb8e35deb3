using FsCheck.Xunit;

namespace ProfileGrid.Domain.Tests;

/// <summary>Events reach a profile in any order (retries, offline apps, several gateways); the profile must not care.</summary>
public class OutOfOrderPropertyTests
{
    private static readonly ProfileOptions Options = new() { SessionHistoryCapacity = 10_000 };

    private static UserProfile Build(IEnumerable<UserEvent[]> batches, DateTimeOffset now)
    {
        var profile = new UserProfile();
        foreach (var batch in batches)
        {
            ProfileUpdater.Apply(profile, batch, Options, now);
        }

        return profile;
    }

    /// <summary>Everything that must not depend on arrival order, as comparable text.</summary>
    private static string OrderIndependentView(UserProfile profile, DateTimeOffset now, bool withEventIds = true)
    {
        var document = ProfileJson.ToDocument(profile, Options, now);
        var behavior = document.Behavior;
        return System.Text.Json.JsonSerializer.Serialize(new
        {
            document.EventsApplied,
            behavior.EventCounts,
            behavior.FirstSeen,
            behavior.LastSeen,
            behavior.Sessions,
            behavior.Orders,
            behavior.Monetary,
            behavior.AverageOrderValue,
            behavior.MonetaryByCurrency,
            behavior.FirstPurchaseAt,
            behavior.LastPurchaseAt,
            behavior.Windows,
            RecentActions = behavior.RecentActions.Select(a => withEventIds ? a.EventId : $"{a.Type} {a.OccurredAt}"),
            behavior.CartAdds,
            behavior.CartRemoves,
            behavior.Searches,
            document.Context,
            document.Demographics,
            document.Preferences,
        }, ProfileJson.SerializerOptions);
    }

    [Property(MaxTest = 150)]
    public void A_shuffled_stream_in_random_batches_builds_the_same_profile_as_the_sorted_stream(int seed, int shuffleSeed)
    {
        var now = TestEvents.Now;
        var events = RandomStreams.Generate(seed, 300, now);

        var sorted = Build([events.ToArray()], now);
        var shuffled = Build(RandomStreams.Batches(RandomStreams.Shuffle(events, shuffleSeed), shuffleSeed), now);

        Assert.Equal(OrderIndependentView(sorted, now), OrderIndependentView(shuffled, now));
        Assert.Equal(sorted.Behavior.EngagementScore, shuffled.Behavior.EngagementScore, 1e-9);
        AssertSameAffinities(sorted, shuffled, now);
    }

    /// <summary>The same categories shown, with the same scores up to rounding (sums added in another order).</summary>
    private static void AssertSameAffinities(UserProfile expected, UserProfile actual, DateTimeOffset now)
    {
        var want = ProfileMetrics.CategoryAffinities(expected, Options, now).ToDictionary(a => a.Category, a => a.Score);
        var got = ProfileMetrics.CategoryAffinities(actual, Options, now).ToDictionary(a => a.Category, a => a.Score);
        Assert.Equal(want.Keys.Order(StringComparer.Ordinal), got.Keys.Order(StringComparer.Ordinal));
        foreach (var (category, score) in want)
        {
            Assert.Equal(score, got[category], 1e-9 * Math.Max(1, score));
        }
    }

    [Property(MaxTest = 100)]
    public void Without_session_start_events_session_lengths_do_not_depend_on_arrival_order(int seed, int shuffleSeed)
    {
        var now = TestEvents.Now;
        var events = RandomStreams.Generate(seed, 200, now, withSessionStarts: false);

        var sorted = Build([events.ToArray()], now);
        var shuffled = Build(RandomStreams.Batches(RandomStreams.Shuffle(events, shuffleSeed), shuffleSeed), now);

        Assert.Equal(sorted.Behavior.Sessions, shuffled.Behavior.Sessions);
        Assert.Equal(sorted.Behavior.TotalSessionDuration, shuffled.Behavior.TotalSessionDuration);
    }

    [Property(MaxTest = 100)]
    public void Session_count_matches_a_batch_sessionization_of_the_sorted_stream(int seed, int shuffleSeed)
    {
        var now = TestEvents.Now;
        var events = RandomStreams.Generate(seed, 200, now);
        var expected = 0;
        DateTimeOffset? previous = null;
        foreach (var e in events.Where(e => e.Source != Channel.Crm))
        {
            if (previous is null || e.Kind == EventKind.SessionStart || e.OccurredAt - previous > Options.SessionTimeout)
            {
                expected++;
            }

            previous = e.OccurredAt;
        }

        var shuffled = Build(RandomStreams.Batches(RandomStreams.Shuffle(events, shuffleSeed), shuffleSeed), now);

        Assert.Equal(expected, shuffled.Behavior.Sessions);
    }

    [Property(MaxTest = 100)]
    public void Replaying_any_part_of_an_applied_stream_changes_nothing(int seed, int replaySeed)
    {
        var now = TestEvents.Now;
        var events = RandomStreams.Generate(seed, 150, now);
        var profile = Build([events.ToArray()], now);
        var before = StateJson.Of(profile);

        var replay = RandomStreams.Shuffle(events, replaySeed).Take(new Random(replaySeed).Next(1, events.Count)).ToArray();
        var result = ProfileUpdater.Apply(profile, replay, Options, now.AddHours(1));

        Assert.Equal(0, result.Applied);
        Assert.Equal(replay.Length, result.Duplicates);
        Assert.Equal(before, StateJson.Of(profile));
    }

    [Property(MaxTest = 100)]
    public void An_order_reported_again_under_another_event_id_counts_once_whatever_the_arrival_order(int seed, int shuffleSeed)
    {
        var now = TestEvents.Now;
        var events = RandomStreams.Generate(seed, 200, now);
        var random = new Random(shuffleSeed);
        // A second report of about half the orders (a CRM export of what the web already sent), under its own event id.
        var reports = events
            .Where(e => e.Kind == EventKind.Purchase && random.Next(2) == 0)
            .Select(e => e with { EventId = "crm-" + e.EventId })
            .ToList();

        var once = Build([events.ToArray()], now);
        var twice = Build(RandomStreams.Batches(RandomStreams.Shuffle(events.Concat(reports), shuffleSeed), shuffleSeed), now);

        // Which report of an order is applied depends on arrival, so recent actions are compared by kind and time.
        Assert.Equal(OrderIndependentView(once, now, withEventIds: false), OrderIndependentView(twice, now, withEventIds: false));
        Assert.Equal(once.Behavior.Orders, twice.Behavior.Orders);

        // Replaying everything, both reports included, changes nothing.
        var before = StateJson.Of(twice);
        var replay = ProfileUpdater.Apply(twice, RandomStreams.Shuffle(events.Concat(reports), seed).ToArray(), Options, now.AddHours(1));
        Assert.Equal(0, replay.Applied);
        Assert.Equal(events.Count + reports.Count, replay.Duplicates);
        Assert.Equal(before, StateJson.Of(twice));
    }
}
