using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Domain;

/// <summary>What a profile tells its feedback shard: its feedback layer's absolute figures and what it is grouped by.</summary>
public static class FeedbackReport
{
    /// <summary>Whether the profile has any feedback to report (a list shown or clicked).</summary>
    public static bool HasFeedback(UserProfile profile) => profile.Feedback.Impressions > 0 || profile.Feedback.Clicks > 0;

    public static FeedbackUpdate Of(string profileKey, UserProfile profile, ProfileOptions options, DateTimeOffset now)
    {
        var feedback = profile.Feedback;
        var revenue = 0m;
        foreach (var (currency, amount) in feedback.AttributedRevenue)
        {
            revenue += options.RateToReporting(currency) is { } rate ? amount * rate : 0m;
        }

        // Clicks on lists whose impression arrived: the fairness audit's CTR divides them by the lists shown.
        var totals = new FeedbackTotals(feedback.Impressions, feedback.ItemsShown, feedback.ClicksOnShownLists ?? feedback.Clicks, feedback.AttributedCartAdds,
            feedback.AttributedPurchases, (double)revenue);
        var demographics = profile.Demographics;
        var groups = new UserGroups(
            demographics.Gender == Gender.Unknown ? null : WireNames.Of(demographics.Gender),
            demographics.BirthYear,
            demographics.Country ?? profile.Context.LastCountry,
            feedback.FirstExposedAt is { } exposed ? SeenBeforeVisitOf(profile.Behavior, exposed, options) : profile.Behavior.Sessions > 1,
            feedback.FirstExposedAt is not null,
            feedback.SegmentAtFirstExposure);

        var experiments = new ExperimentOutcomeReport[feedback.Experiments.Count];
        var i = 0;
        foreach (var (number, outcome) in feedback.Experiments)
        {
            experiments[i++] = new ExperimentOutcomeReport(number, outcome.Variant, outcome.FirstExposedAt, outcome.Impressions, outcome.Clicks,
                outcome.CartAdds, outcome.Purchases, (double)outcome.Revenue, outcome.Mismatched,
                PrePeriodRevenue(profile.Behavior, outcome.FirstExposedAt, options));
        }

        var itemIds = new string[feedback.Exposures.Count];
        var counts = new int[feedback.Exposures.Count];
        i = 0;
        foreach (var (itemId, exposure) in feedback.Exposures)
        {
            (itemIds[i], counts[i]) = (itemId, exposure.Shown);
            i++;
        }

        return new FeedbackUpdate(profileKey, now, totals, groups, experiments, itemIds, counts, RecentLists(feedback));
    }

    /// <summary>
    /// Whether the user had been seen (any event, a CRM order included) before the visit in which they were first shown a
    /// list: a returning visitor at their exposure. Measured then, not now, because clicking and buying open visits, and
    /// a user the list won over would otherwise count as returning because of it.
    /// </summary>
    internal static bool SeenBeforeVisitOf(BehaviorState behavior, DateTimeOffset exposedAt, ProfileOptions options)
    {
        if (behavior.FirstSeen is not { } firstSeen)
        {
            return false;
        }

        var visitStart = exposedAt;
        foreach (var session in behavior.RecentSessions)
        {
            if (session.Start > exposedAt)
            {
                break;
            }

            if (exposedAt <= session.End + options.SessionTimeout)
            {
                visitStart = session.Start;
            }
        }

        return firstSeen < visitStart;
    }

    /// <summary>The user's recent lists with the ids of the items clicked in them (the re-ranker's labels).</summary>
    internal static ListClicksReport[] RecentLists(FeedbackState feedback)
    {
        var lists = new ListClicksReport[feedback.RecentLists.Count];
        for (var l = 0; l < lists.Length; l++)
        {
            var list = feedback.RecentLists[l];
            var clicked = list.Clicks.Count == 0 ? [] : new string[list.Clicks.Count];
            for (var c = 0; c < clicked.Length; c++)
            {
                clicked[c] = list.Clicks[c].ItemId;
            }

            lists[l] = new ListClicksReport(list.RecommendationId, list.ShownAt is not null, clicked);
        }

        return lists;
    }

    /// <summary>Purchase revenue of the <paramref name="days"/> whole UTC days before the day of <paramref name="firstExposedAt"/>.</summary>
    internal static double PrePeriodRevenue(BehaviorState behavior, DateTimeOffset firstExposedAt, ProfileOptions options)
    {
        var days = options.PrePeriodDays;
        var exposureDay = UtcDay.Of(firstExposedAt);
        var revenue = 0m;
        foreach (var bucket in behavior.DailyBuckets)
        {
            if (bucket.Day >= exposureDay - days && bucket.Day < exposureDay)
            {
                revenue += ProfileMetrics.Revenue(behavior, bucket, options);
            }
        }

        return (double)revenue;
    }
}
