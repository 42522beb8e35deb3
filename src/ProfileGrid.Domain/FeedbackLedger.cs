using System.Text;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Domain;

/// <summary>
/// Keeps the feedback layer: impressions and clicks of recommendation lists, and the add to carts and purchases credited
/// to them. Credit goes to the last click on the same item at or before the conversion and within
/// <see cref="ProfileOptions.AttributionWindow"/> (last touch). Events may arrive in any order: a click before its
/// impression learns its position when the impression comes; a conversion with no click to credit waits (bounded) for a
/// click that arrives late. The same list shown twice, or an item clicked twice in one list, counts once. Impressions
/// and clicks count from the time their list was served (<see cref="ServedTime"/>) at the earliest.
/// </summary>
internal static class FeedbackLedger
{
    /// <param name="viewers">The user ids the event speaks for (the profile's, the event's user and anonymous ids): a list
    /// tagged for someone else counts in no experiment here.</param>
    /// <param name="experimented">False while the user is opted out of personalization: what they are shown and do then
    /// counts for no experiment variant (privacy.md).</param>
    public static void Impression(FeedbackState state, FeedbackInfo shown, DateTimeOffset occurredAt, ProfileOptions options, IReadOnlyList<string> viewers, bool experimented = true)
    {
        var time = ServedTime.NotBeforeServed(shown.RecommendationId, occurredAt);
        NoteExposure(state, shown.RecommendationId, time);
        var list = Find(state, shown.RecommendationId);
        if (list is { ShownAt: not null })
        {
            return; // the list was shown before (a re-render, a retry under another event id): once is what the user saw
        }

        if (list is null)
        {
            list = NewList(state, shown.RecommendationId, null, viewers);
            state.RecentLists.Add(list);
        }

        list.Slot ??= SharedText.Of(shown.Slot);
        if (experimented && Outcome(state, list, time, options) is { } outcome)
        {
            outcome.Impressions++;
            if (outcome.ClicksOnShownListsOnly)
            {
                outcome.Clicks += list.Clicks.Count; // clicks that came before it count now, as in the profile's own CTR
            }
        }

        list.ShownAt = time;
        // A state from before the count stands in with all its clicks, this list's among them.
        state.ClicksOnShownLists = state.ClicksOnShownLists is { } shownClicks ? shownClicks + list.Clicks.Count : state.Clicks;
        list.ItemsShown = shown.ItemIds.Count;
        list.Items = shown.ItemIds.Count <= options.ListItemsKept ? [.. shown.ItemIds] : shown.ItemIds.Take(options.ListItemsKept).ToList();
        state.Impressions++;
        state.ItemsShown += shown.ItemIds.Count;
        foreach (var click in list.Clicks)
        {
            if (click.Position == 0)
            {
                click.Position = PositionIn(list, click.ItemId);
            }
        }

        foreach (var itemId in shown.ItemIds)
        {
            var exposure = ExposureOf(state, itemId, options);
            exposure.Shown++;
            // Shown after its last click (or never clicked): one more time the user passed it by.
            if (exposure.LastClickAt is not { } clicked || time > clicked)
            {
                exposure.ShownSinceClick++;
            }

            if (time > exposure.LastShownAt)
            {
                exposure.LastShownAt = time;
            }
        }

        Bound(state, options);
    }

    public static void Click(FeedbackState state, FeedbackInfo clicked, DateTimeOffset occurredAt, ProfileOptions options, IReadOnlyList<string> viewers, bool experimented = true)
    {
        // A click dated before its list was served is taken at the serving time: so is the exposure it makes, and a
        // purchase dated before that is not credited to it.
        var time = ServedTime.NotBeforeServed(clicked.RecommendationId, occurredAt);
        NoteExposure(state, clicked.RecommendationId, time);
        var itemId = clicked.ItemId!;
        var list = Find(state, clicked.RecommendationId);
        if (list is null)
        {
            list = NewList(state, clicked.RecommendationId, SharedText.Of(clicked.Slot), viewers);
            state.RecentLists.Add(list);
        }
        else if (list.Clicks.Exists(c => c.ItemId == itemId) || !CouldHaveShown(list, itemId))
        {
            return;
        }

        var click = new ListClick { ItemId = itemId, Position = clicked.Position ?? PositionIn(list, itemId), At = time };
        list.Clicks.Add(click);
        state.ClicksOnShownLists = (state.ClicksOnShownLists ?? state.Clicks) + (list.ShownAt is null ? 0 : 1);
        state.Clicks++;
        // The click proves the user was exposed (the outcome begins here), but an experiment's clicks are those of lists
        // whose impression arrived, as the profile's CTR counts them: a list shown is the CTR's denominator, so a click on
        // one never reported shown would take CTR past 100% (probe67: 11 clicks on 10 lists shown, where impressions are
        // lost, as ad blockers and apps lose them). It counts when its impression comes.
        if (experimented && Outcome(state, list, time, options) is { } outcome && (list.ShownAt is not null || !outcome.ClicksOnShownListsOnly))
        {
            outcome.Clicks++;
        }

        var exposure = ExposureOf(state, itemId, options);
        if (exposure.LastClickAt is not { } last || time >= last)
        {
            exposure.LastClickAt = time;
            exposure.ShownSinceClick = 0;
        }

        // Conversions that came before this click (in arrival, not in time) and that it would have been credited with.
        for (var i = 0; i < state.Unattributed.Count; i++)
        {
            var waiting = state.Unattributed[i];
            if (waiting.ItemId == itemId && waiting.At >= time && waiting.At - time <= options.AttributionWindow)
            {
                Credit(state, list, waiting.Purchase, waiting.Amount, waiting.Currency, options, experimented && !waiting.OptedOut);
                state.Unattributed.RemoveAt(i--);
            }
        }

        Bound(state, options);
    }

    /// <summary>
    /// Keeps the earliest exposure by event time and the segment its list was served under, so they do not depend on the
    /// order feedback arrives in (at equal times the higher segment id wins, so a known segment beats none).
    /// </summary>
    private static void NoteExposure(FeedbackState state, string recommendationId, DateTimeOffset time)
    {
        var segment = ServedSegment.Read(recommendationId);
        if (state.FirstExposedAt is not { } first || time < first)
        {
            state.FirstExposedAt = time;
            state.SegmentAtFirstExposure = segment;
        }
        else if (time == first && segment is { } s && (state.SegmentAtFirstExposure is not { } held || s > held))
        {
            state.SegmentAtFirstExposure = segment;
        }
    }

    /// <summary>An add to cart (<paramref name="purchase"/> false) or a purchase line of <paramref name="itemId"/>.</summary>
    public static void Conversion(FeedbackState state, string itemId, bool purchase, decimal amount, string? currency, DateTimeOffset time, ProfileOptions options, bool experimented = true)
    {
        if (LastClickBefore(state, itemId, time, options.AttributionWindow) is { } list)
        {
            Credit(state, list, purchase, amount, currency, options, experimented);
            return;
        }

        // Its own copy of the id: the item history holds the event's instance, and the history leaves the compressed
        // state when an idle profile packs, so a shared instance would be stored differently after unpacking.
        state.Unattributed.Add(new PendingConversion { ItemId = new string(itemId), Purchase = purchase, At = time, Amount = amount, Currency = SharedText.Of(currency), OptedOut = !experimented });
        if (state.Unattributed.Count > options.UnattributedCapacity)
        {
            var oldest = 0;
            for (var i = 1; i < state.Unattributed.Count; i++)
            {
                if (state.Unattributed[i].At < state.Unattributed[oldest].At)
                {
                    oldest = i;
                }
            }

            state.Unattributed.RemoveAt(oldest);
        }

        Bound(state, options);
    }

    /// <summary>The list of the latest click on <paramref name="itemId"/> at or before <paramref name="time"/> within the window.</summary>
    private static ShownList? LastClickBefore(FeedbackState state, string itemId, DateTimeOffset time, TimeSpan window)
    {
        ShownList? best = null;
        var bestAt = DateTimeOffset.MinValue;
        foreach (var list in state.RecentLists)
        {
            foreach (var click in list.Clicks)
            {
                if (click.ItemId == itemId && click.At <= time && time - click.At <= window && click.At >= bestAt)
                {
                    (best, bestAt) = (list, click.At);
                }
            }
        }

        return best;
    }

    private static void Credit(FeedbackState state, ShownList list, bool purchase, decimal amount, string? currency, ProfileOptions options, bool experimented)
    {
        list.Conversions++;
        var outcome = experimented && list.Experiment is { } experiment && state.Experiments.TryGetValue(experiment, out var found) && found.Variant == list.Variant ? found : null;
        if (!purchase)
        {
            state.AttributedCartAdds++;
            if (outcome is not null)
            {
                outcome.CartAdds++;
            }

            return;
        }

        state.AttributedPurchases++;
        if (currency is not null)
        {
            state.AttributedRevenue[currency] = state.AttributedRevenue.GetValueOrDefault(currency) + amount;
        }

        if (outcome is not null)
        {
            outcome.Purchases++;
            if (currency is not null && options.RateToReporting(currency) is { } rate)
            {
                outcome.Revenue += amount * rate;
            }
        }
    }

    /// <summary>
    /// A list, with the experiment and variant its id is tagged with (-x{number}v{index}u{user check}), if any, and if it
    /// was served to one of <paramref name="viewers"/>: a list served to another user counts in no experiment here (and
    /// as mismatched in the experiment, when this user is in it).
    /// </summary>
    private static ShownList NewList(FeedbackState state, string recommendationId, string? slot, IReadOnlyList<string> viewers)
    {
        var list = new ShownList { RecommendationId = recommendationId, Slot = slot };
        if (ExperimentTag.TryParse(recommendationId, out var experiment, out var variant, out var userCheck))
        {
            if (userCheck is { } check && !viewers.Any(viewer => ExperimentTag.UserCheck(viewer) == check))
            {
                if (state.Experiments.TryGetValue(experiment, out var outcome))
                {
                    outcome.Mismatched++;
                }

                return list;
            }

            (list.Experiment, list.Variant) = (experiment, variant);
        }

        return list;
    }

    /// <summary>The user's outcome in the list's experiment, recorded at the first exposure; null for a list outside experiments.</summary>
    private static ExperimentOutcome? Outcome(FeedbackState state, ShownList list, DateTimeOffset time, ProfileOptions options)
    {
        if (list.Experiment is not { } experiment || list.Variant is not { } variant)
        {
            return null;
        }

        if (state.Experiments.TryGetValue(experiment, out var outcome))
        {
            if (outcome.Variant != variant)
            {
                outcome.Mismatched++;
                return null;
            }

            if (time < outcome.FirstExposedAt)
            {
                outcome.FirstExposedAt = time;
            }

            return outcome;
        }

        if (state.Experiments.Count >= options.ExperimentsKept)
        {
            var oldest = state.Experiments.MinBy(pair => pair.Value.FirstExposedAt).Key;
            state.Experiments.Remove(oldest);
        }

        outcome = new ExperimentOutcome { Variant = variant, FirstExposedAt = time, ClicksOnShownListsOnly = true };
        state.Experiments[experiment] = outcome;
        return outcome;
    }

    /// <summary>
    /// False when the list's impression is known with every item it showed, and <paramref name="itemId"/> is not one of
    /// them: a click on an item the list did not show is no click of that list (a stale page, a wrong id). A click
    /// that arrives before its impression is taken as it comes.
    /// </summary>
    private static bool CouldHaveShown(ShownList list, string itemId) =>
        list.ShownAt is null || list.Items.Count < list.ItemsShown || list.Items.Contains(itemId, StringComparer.Ordinal);

    private static ShownList? Find(FeedbackState state, string recommendationId)
    {
        // Newest last, and feedback is mostly about the latest lists.
        for (var i = state.RecentLists.Count - 1; i >= 0; i--)
        {
            if (state.RecentLists[i].RecommendationId == recommendationId)
            {
                return state.RecentLists[i];
            }
        }

        return null;
    }

    private static int PositionIn(ShownList list, string itemId)
    {
        var index = list.Items.IndexOf(itemId);
        return index < 0 ? 0 : index + 1;
    }

    private static ItemExposure ExposureOf(FeedbackState state, string itemId, ProfileOptions options)
    {
        if (state.Exposures.TryGetValue(itemId, out var exposure))
        {
            return exposure;
        }

        if (state.Exposures.Count >= options.ExposuresCapacity)
        {
            state.Exposures.Remove(LeastRecentlyShown(state));
        }

        exposure = new ItemExposure();
        state.Exposures[itemId] = exposure;
        return exposure;
    }

    private static string LeastRecentlyShown(FeedbackState state)
    {
        string? oldest = null;
        var oldestAt = DateTimeOffset.MaxValue;
        foreach (var (itemId, exposure) in state.Exposures)
        {
            var at = exposure.LastClickAt is { } clicked && clicked > exposure.LastShownAt ? clicked : exposure.LastShownAt;
            if (at < oldestAt)
            {
                (oldest, oldestAt) = (itemId, at);
            }
        }

        return oldest!;
    }

    /// <summary>Keeps the lists within their count, then the whole layer within its byte budget, dropping the oldest first.</summary>
    private static void Bound(FeedbackState state, ProfileOptions options)
    {
        if (state.RecentLists.Count > options.RecentListsCapacity)
        {
            state.RecentLists.Sort(static (a, b) => (a.ShownAt ?? FirstClick(a)).CompareTo(b.ShownAt ?? FirstClick(b)));
            state.RecentLists.RemoveRange(0, state.RecentLists.Count - options.RecentListsCapacity);
        }

        // The oldest lists go first, then the least recently shown exposures, and the latest list only if ids so long
        // that it alone outgrows the budget.
        var bytes = StoredBytes(state);
        while (bytes > options.FeedbackMaxBytes && state.RecentLists.Count > 1)
        {
            bytes -= Bytes(state.RecentLists[0]);
            state.RecentLists.RemoveAt(0);
        }

        while (bytes > options.FeedbackMaxBytes && state.Exposures.Count > 0)
        {
            var itemId = LeastRecentlyShown(state);
            bytes -= Utf8(itemId) + EntryBytes;
            state.Exposures.Remove(itemId);
        }

        while (bytes > options.FeedbackMaxBytes && state.Unattributed.Count > 0)
        {
            bytes -= Utf8(state.Unattributed[0].ItemId) + EntryBytes;
            state.Unattributed.RemoveAt(0);
        }

        if (bytes > options.FeedbackMaxBytes)
        {
            state.RecentLists.Clear();
        }
    }

    private static DateTimeOffset FirstClick(ShownList list) => list.Clicks.Count == 0 ? DateTimeOffset.MinValue : list.Clicks.Min(c => c.At);

    /// <summary>A fixed cost per entry for its times, counts and field headers.</summary>
    private const int EntryBytes = 32;

    /// <summary>What the layer's ids and entries take in storage, about (UTF-8 bytes of every string and a fixed cost per entry).</summary>
    internal static int StoredBytes(FeedbackState state)
    {
        var bytes = 0;
        foreach (var list in state.RecentLists)
        {
            bytes += Bytes(list);
        }

        foreach (var itemId in state.Exposures.Keys)
        {
            bytes += Utf8(itemId) + EntryBytes;
        }

        foreach (var waiting in state.Unattributed)
        {
            bytes += Utf8(waiting.ItemId) + EntryBytes;
        }

        return bytes + state.Experiments.Count * 2 * EntryBytes;
    }

    private static int Bytes(ShownList list)
    {
        var bytes = Utf8(list.RecommendationId) + Utf8(list.Slot) + EntryBytes;
        foreach (var item in list.Items)
        {
            bytes += Utf8(item) + 4;
        }

        foreach (var click in list.Clicks)
        {
            bytes += Utf8(click.ItemId) + EntryBytes;
        }

        return bytes;
    }

    private static int Utf8(string? text) => text is null ? 0 : Encoding.UTF8.GetByteCount(text);
}
