using System.Collections.Immutable;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Domain;

/// <summary>Builds the immutable <see cref="ProfileView"/> of a profile's state: the one place derived figures are computed.</summary>
public static class ProfileViews
{
    /// <summary>
    /// The view of <paramref name="profile"/> as of <paramref name="asOf"/>: the state as it is, with the windows
    /// computed for the UTC day of <paramref name="asOf"/> and the other derived figures evaluated at that instant.
    /// Shares nothing mutable with the profile.
    /// </summary>
    public static ProfileView Build(UserProfile profile, ProfileOptions options, DateTimeOffset asOf)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(options);
        var demographics = profile.Demographics;
        var behavior = profile.Behavior;
        var preferences = profile.Preferences;
        var context = profile.Context;
        var missing = ProfileMetrics.MissingFields(profile);

        return new ProfileView
        {
            Tenant = profile.Tenant,
            UserId = profile.UserId,
            AnonymousIds = [.. profile.AnonymousIds],
            CreatedAt = profile.CreatedAt == default ? null : profile.CreatedAt,
            UpdatedAt = profile.UpdatedAt == default ? null : profile.UpdatedAt,
            AsOf = asOf,
            WindowsDay = ProfileView.DayOf(asOf),
            EventsApplied = profile.EventsApplied,
            DormantAfter = options.DormantAfter,
            EngagementHalfLife = options.EngagementHalfLife,
            Completeness = Math.Round((double)(ProfileMetrics.CompletenessFields.Count - missing.Count) / ProfileMetrics.CompletenessFields.Count, 4),
            MissingFields = [.. missing],
            Demographics = new DemographicsView
            {
                BirthYear = demographics.BirthYear,
                Gender = demographics.Gender == Gender.Unknown ? null : demographics.Gender,
                Country = Known(demographics.Country),
                Language = Known(demographics.Language),
                City = Known(demographics.City),
                Traits = Sorted(demographics.Traits),
                UpdatedAt = demographics.UpdatedAt,
            },
            Behavior = BehaviorSummary(profile, options, asOf) with
            {
                EventCounts = CountsByName(behavior.EventCounts),
                AverageSessionMinutes = ProfileMetrics.AverageSessionMinutes(profile) is { } minutes ? Math.Round(minutes, 4) : null,
                // The currencies paid in: a refund kept for an order not (yet) seen, or in a currency never paid, is no revenue
                // line of 0.00. A currency can be paid in without an order of its own: a later part of an order in another
                // currency than the part that counted the order (probe54: its revenue was in monetary but not listed here).
                MonetaryByCurrency = [.. behavior.MonetaryByCurrency
                    .Where(pair => pair.Value.Orders > 0 || pair.Value.Amount > 0m)
                    .OrderBy(pair => pair.Key, StringComparer.Ordinal)
                    .Select(pair => new Money(pair.Value.Net, pair.Key))],
                RecentActions = [.. behavior.RecentActions.Select(a => new RecentActionView(a.EventId, a.Kind, a.OccurredAt, Known(a.ProductId), Known(a.Category), Known(a.Detail)))],
                CartAdds = behavior.CartAdds,
                CartRemoves = behavior.CartRemoves,
                Searches = behavior.Searches,
            },
            Preferences = new PreferencesView
            {
                Values = Sorted(preferences.Values),
                EmailOptIn = preferences.EmailOptIn,
                SmsOptIn = preferences.SmsOptIn,
                PersonalizationOptIn = preferences.PersonalizationOptIn,
                UpdatedAt = preferences.UpdatedAt,
            },
            Context = new ContextView
            {
                LastDevice = context.LastDevice == DeviceType.Unknown ? null : context.LastDevice,
                LastChannel = context.LastChannel == Channel.Unknown ? null : context.LastChannel,
                LastCountry = Known(context.LastCountry),
                LastLocale = Known(context.LastLocale),
                LastUserAgent = Known(context.LastUserAgent),
                ChannelMix = CountsByName(context.ChannelMix),
                DeviceMix = CountsByName(context.DeviceMix),
                HourOfDay = [.. context.HourOfDay],
            },
            Feedback = Feedback(profile.Feedback, options),
        };
    }

    /// <summary>
    /// What feature vectors read of a view (<see cref="ProfileFeatures.Extract(ProfileView, IReadOnlyList{string}?)"/>),
    /// computed by the same code as <see cref="Build"/>: the behaviour summary with its windows and affinities. Recent
    /// actions, the other layers, completeness and feedback are left empty, so it is never a read's answer. A profile
    /// pushes its features after each write, and decoding its 50 recent actions for nothing was most of that push.
    /// </summary>
    public static ProfileView BuildFeatureBasis(UserProfile profile, ProfileOptions options, DateTimeOffset asOf)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(options);
        return new ProfileView
        {
            Tenant = profile.Tenant,
            UserId = profile.UserId,
            AsOf = asOf,
            WindowsDay = ProfileView.DayOf(asOf),
            EventsApplied = profile.EventsApplied,
            DormantAfter = options.DormantAfter,
            EngagementHalfLife = options.EngagementHalfLife,
            Behavior = BehaviorSummary(profile, options, asOf),
        };
    }

    private static BehaviorView BehaviorSummary(UserProfile profile, ProfileOptions options, DateTimeOffset asOf)
    {
        var behavior = profile.Behavior;
        return new BehaviorView
        {
            FirstSeen = behavior.FirstSeen,
            LastSeen = behavior.LastSeen,
            Sessions = behavior.Sessions,
            Orders = behavior.Orders,
            Monetary = ProfileMetrics.Monetary(profile, options),
            AverageOrderValue = ProfileMetrics.AverageOrderValue(profile, options),
            FirstPurchaseAt = behavior.FirstPurchaseAt,
            LastPurchaseAt = behavior.LastPurchaseAt,
            Windows = [.. ProfileMetrics.Windows(profile, options, asOf)],
            EngagementScore = behavior.EngagementScore,
            EngagementAsOf = behavior.EngagementAsOf,
            // Valued at the scores' own basis: the view scales them to its instant, which keeps order and ties.
            CategoryAffinities = [.. behavior.CategoryScores
                .Where(pair => pair.Value > ProfileMetrics.MinShownAffinity)
                .Select(pair => new CategoryAffinity(pair.Key, pair.Value))
                .OrderByDescending(affinity => affinity.Score)
                .ThenBy(affinity => affinity.Category, StringComparer.Ordinal)],
            CategoryScoresAsOf = behavior.CategoryScoresAsOf,
        };
    }

    private const int MostIgnoredShown = 10;
    private const int RecentListsShown = 5;

    private static FeedbackView Feedback(FeedbackState feedback, ProfileOptions options)
    {
        if (feedback.Impressions == 0 && feedback.Clicks == 0 && feedback.RecentLists.Count == 0)
        {
            return EmptyFeedback;
        }

        return new FeedbackView
        {
            Impressions = feedback.Impressions,
            ItemsShown = feedback.ItemsShown,
            Clicks = feedback.Clicks,
            ClickThroughRate = feedback.Impressions == 0 ? null : Math.Round((double)(feedback.ClicksOnShownLists ?? feedback.Clicks) / feedback.Impressions, 4),
            AttributedCartAdds = feedback.AttributedCartAdds,
            AttributedPurchases = feedback.AttributedPurchases,
            AttributedRevenue = [.. feedback.AttributedRevenue.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => new Money(pair.Value, pair.Key))],
            MostIgnored = [.. feedback.Exposures
                .Where(pair => pair.Value.ShownSinceClick > 0)
                .OrderByDescending(pair => pair.Value.ShownSinceClick)
                .ThenByDescending(pair => pair.Value.LastShownAt)
                .ThenBy(pair => pair.Key, StringComparer.Ordinal)
                .Take(MostIgnoredShown)
                .Select(pair => new IgnoredItem(pair.Key, pair.Value.ShownSinceClick, pair.Value.LastShownAt))],
            RecentLists = [.. feedback.RecentLists
                .OrderByDescending(list => list.ShownAt ?? (list.Clicks.Count == 0 ? DateTimeOffset.MinValue : list.Clicks.Min(c => c.At)))
                .Take(RecentListsShown)
                .Select(list => new ShownListView(
                    list.RecommendationId,
                    list.Slot,
                    list.ShownAt,
                    list.ItemsShown,
                    [.. list.Clicks.Select(c => new ClickView(c.ItemId, c.Position, c.At))],
                    list.Conversions))],
            Experiments = [.. feedback.Experiments
                .OrderBy(pair => pair.Key)
                .Select(pair => new ExperimentOutcomeView(
                    pair.Key, pair.Value.Variant, pair.Value.FirstExposedAt, pair.Value.Impressions, pair.Value.Clicks,
                    pair.Value.CartAdds, pair.Value.Purchases, new Money(pair.Value.Revenue, options.ReportingCurrency)))],
        };
    }

    private static readonly FeedbackView EmptyFeedback = new();

    private static string? Known(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static ImmutableArray<KeyValuePair<string, string>> Sorted(Dictionary<string, string> values) =>
        [.. values.OrderBy(pair => pair.Key, StringComparer.Ordinal)];

    /// <summary>Counts keyed by snake_case name with every enum value present, so the columns are stable.</summary>
    private static ImmutableArray<KeyValuePair<string, long>> CountsByName<TEnum>(Dictionary<TEnum, long> counts) where TEnum : struct, Enum
    {
        var byName = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var value in Enum.GetValues<TEnum>())
        {
            byName[WireNames.Of(value)] = 0;
        }

        foreach (var (value, count) in counts)
        {
            var name = WireNames.Of(value);
            byName[name] = byName.GetValueOrDefault(name) + count;
        }

        return [.. byName];
    }
}
